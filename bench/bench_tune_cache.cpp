// Host cost of the tuning cache (shim/tuned_routes.h) in a routing decision: the process's first decision, which
// reads the file, and later ones, which look the problem up (a problem the file holds, and one it does not, which
// then takes the static rules). The lookups do no device work, so no GPU is needed: DWSHIM_TUNE_IDENTITY names the
// device (on a GPU the identity is read once per device; a lookup then adds one cudaGetDevice). With --off the
// cache is switched off (DWSHIM_TUNE=off): the static rules alone, for comparison.
// Usage: dwshim_bench_tune_cache [--off] [LINES]   (LINES problems in a generated cache file, default 10000)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"

namespace {

constexpr int kBackend = 1;
constexpr int64_t kFirstChannels = 16;

// An fp32 NCHW 3x3 forward, 32 x c x 56 x 56, padding 1: problem i of the file has c = kFirstChannels + i.
int route(int64_t channels) {
    const int64_t x_sizes[4] = {32, channels, 56, 56}, y_sizes[4] = {32, channels, 56, 56};
    const int64_t strides[4] = {channels * 56 * 56, 56 * 56, 56, 1};
    const int64_t geometry[8] = {3, 3, 1, 1, 1, 1, 1, 1};
    dwshim::DepthwiseParams params;
    return dwshim_route_sizes(kBackend, DWSHIM_FLOAT, x_sizes, strides, geometry, y_sizes, strides, &params);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Nanoseconds a decision over `calls` decisions for channels first, first + 1, ... cycling through `span`.
double ns_per_decision(int64_t first, int64_t span, int calls, int* routed) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) {
        *routed += route(first + i % span) == static_cast<int>(dwshim::RouteReason::kRouted);
    }
    return 1e9 * seconds_since(start) / calls;
}

}  // namespace

int main(int argc, char** argv) {
    bool off = false;
    int64_t lines = 10000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--off") == 0) {
            off = true;
        } else {
            lines = std::atoll(argv[i]);
        }
    }
    if (lines < 1) {
        std::fprintf(stderr, "usage: %s [--off] [LINES]\n", argv[0]);
        return 2;
    }
    const std::string path = "/tmp/dwshim_bench_tune_cache_" + std::to_string(getpid()) + ".csv";
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr) return 1;
    // Every second problem measured faster, so the lookups do not all give one answer.
    for (int64_t i = 0; i < lines; ++i) {
        const int64_t c = kFirstChannels + i;
        std::fprintf(file, "bench gpu,backend,fwd,f32,nchw,32,%lld,56,56,%lld,56,56,3,3,1,1,1,1,1,1,0,%s\n",
                     static_cast<long long>(c), static_cast<long long>(c), i % 2 == 0 ? "0.01,0.02" : "0.02,0.01");
    }
    std::fclose(file);
    // Before the library's first call: it reads its settings once.
    setenv("DWSHIM_TUNE_IDENTITY", "bench gpu", 1);
    setenv("DWSHIM_TUNE_CACHE", path.c_str(), 1);
    setenv("DWSHIM_TUNE", off ? "off" : "readonly", 1);
    unsetenv("DWSHIM_ROUTE");
    unsetenv("DWSHIM_TUNE_RECORD");

    const auto start = std::chrono::steady_clock::now();
    route(kFirstChannels);
    const double first_us = 1e6 * seconds_since(start);
    constexpr int kCalls = 1000000;
    int routed = 0;
    const double held_ns = ns_per_decision(kFirstChannels, lines, kCalls, &routed);
    const int held_routed = routed;
    routed = 0;
    const double other_ns = ns_per_decision(kFirstChannels + lines, lines, kCalls, &routed);
    std::remove(path.c_str());
    std::printf("tuning cache %s, %lld problems in the file: first decision %.1f us%s, then %.0f ns a decision for "
                "problems the file holds (%d of %d routed), %.0f ns for others (%d routed)\n",
                off ? "off" : "on (read-only)", static_cast<long long>(lines), first_us, off ? "" : " (reads the file)",
                held_ns, held_routed, kCalls, other_ns, routed);
    return 0;
}
