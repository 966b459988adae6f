// Many threads at once: the first calls race to resolve the real cuDNN, and backend descriptors are created,
// traced, routed and destroyed concurrently. Run in its own process (ctest cpu_concurrency) so resolution
// really happens inside the threads, and under ThreadSanitizer by scripts/test_sanitizers.sh.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/cpu/cpu_graphs.h"

namespace {

TEST(Concurrency, ResolutionAndBackendTracingFromManyThreads) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    constexpr int kThreads = 8;
    constexpr int kGraphsPerThread = 25;
    std::atomic<int> routed{0};
    std::atomic<bool> versions_agree{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t, &routed, &versions_agree] {
            if (cudnnGetVersion() != static_cast<size_t>(CUDNN_VERSION)) versions_agree = false;
            for (int i = 0; i < kGraphsPerThread; ++i) {
                dwtest::ConvCase cc;
                cc.n = 1 + t % 3;
                cc.c = 4 + i % 5;
                cc.h = cc.w = 9 + t;
                cc.pad_h = cc.pad_w = 1;
                dwtest::BackendConv conv(cc);
                dwshim::DepthwiseParams params;
                const int reason = dwshim_route_backend_graph(conv.make_graph(conv.ops), &params);
                if (reason == static_cast<int>(dwshim::RouteReason::kRouted) && params.c == cc.c &&
                    params.h == cc.h) {
                    ++routed;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_TRUE(versions_agree);
    EXPECT_EQ(routed.load(), kThreads * kGraphsPerThread);
}

}  // namespace
