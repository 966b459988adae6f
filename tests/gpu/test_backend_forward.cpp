// Random depthwise convolutions through the backend API: the same execution plan executed by dwshim
// (cudnnBackendExecute) and by the real cuDNN, and a float64 reference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "gpu_common.h"
#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"

namespace {

using dwtest::BackendConv;
using dwtest::ConvCase;
using dwtest::DeviceBuffer;
using dwtest::HostTensor;

class BackendForward : public dwtest::CudnnStreamFixture {
protected:
    void SetUp() override {
        dwtest::CudnnStreamFixture::SetUp();
        ASSERT_NE(dwtest::real().backend_execute, nullptr);
        ASSERT_NE(dwtest::real().backend_execute, &cudnnBackendExecute) << "must reach dwshim and cuDNN apart";
    }

    // Builds the graph and a plan from cuDNN's heuristics, then executes it; empty when no plan finalizes.
    std::vector<double> run(const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
                            const HostTensor& y0, bool ours, int expected_reason) {
        BackendConv conv(cc);
        cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops, handle_);
        EXPECT_NE(graph, nullptr);
        if (graph == nullptr) return {};
        dwshim::DepthwiseParams params;
        EXPECT_EQ(dwshim_route_backend_graph(graph, &params), expected_reason);
        int64_t workspace_bytes = 0;
        cudnnBackendDescriptor_t plan = conv.make_plan(handle_, graph, &workspace_bytes);
        if (plan == nullptr) return {};
        DeviceBuffer dx(x.bytes.size()), dw(filter.bytes.size()), dy(y0.bytes.size()), workspace(workspace_bytes),
            dbias(bias != nullptr ? bias->bytes.size() : 1), dz(y0.bytes.size());
        if (bias != nullptr) dwtest::upload(dbias.ptr, bias->bytes.data(), bias->bytes.size());
        // A fused graph reads beta's operand from z and writes a poisoned y; a plain conv blends y itself.
        const bool fused = cc.bias || cc.activation != 0;
        HostTensor poison(cc.dtype, y0.span());
        std::memset(poison.bytes.data(), 0xFF, poison.bytes.size());
        const HostTensor& y_initial = fused ? poison : y0;
        dwtest::upload(dz.ptr, y0.bytes.data(), y0.bytes.size());
        EXPECT_TRUE(dx.ptr && dw.ptr && dy.ptr && workspace.ptr);
        dwtest::upload(dx.ptr, x.bytes.data(), x.bytes.size());
        dwtest::upload(dw.ptr, filter.bytes.data(), filter.bytes.size());
        dwtest::upload(dy.ptr, y_initial.bytes.data(), y_initial.bytes.size());
        cudnnBackendDescriptor_t pack =
            conv.make_variant_pack(dx.ptr, dw.ptr, dy.ptr, workspace.ptr, bias != nullptr ? dbias.ptr : nullptr,
                                   fused && cc.beta != 0.0f ? dz.ptr : nullptr);
        const auto execute = ours ? &cudnnBackendExecute : dwtest::real().backend_execute;
        const cudnnStatus_t status = execute(handle_, plan, pack);
        EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed to execute";
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};  // a plan cuDNN finalized but cannot run
        return dwtest::read_output(cc, conv.y_layout, dy.ptr, y_initial);
    }
};

std::pair<dwtest::TensorLayout, dwtest::TensorLayout> layouts(const ConvCase& cc) {
    return {dwtest::make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w),
            dwtest::make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q())};
}

TEST_F(BackendForward, RandomConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(240, dwtest::random_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomNchwRowsConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(60, dwtest::random_nchw_rows_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomNchwNarrowPlanesMatchCudnnAndFloat64) {
    dwtest::check_random_cases(40, dwtest::random_nchw_narrow_planes_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomNhwcVecConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(120, dwtest::random_nhwc_vec_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomNhwcSmallPlanesMatchCudnnAndFloat64) {
    dwtest::check_random_cases(60, dwtest::random_nhwc_small_planes_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomNhwcMmaConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(60, dwtest::random_nhwc_mma_case, layouts,
                               [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0,
                                      bool ours) { return run(cc, x, filter, bias, y0, ours, 0); });
}

TEST_F(BackendForward, RandomLargeFilterConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(
        40, dwtest::random_large_filter_case, layouts,
        [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
               const HostTensor& y0, bool ours) { return run(cc, x, filter, bias, y0, ours, 0); },
        0.5);
}

TEST_F(BackendForward, RandomLargeFilterTensorCoreConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(
        40, dwtest::random_large_filter_tensor_core_case, layouts,
        [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
               const HostTensor& y0, bool ours) { return run(cc, x, filter, bias, y0, ours, 0); },
        0.5);
}

// The differential fuzzer through the backend API (see LegacyForward.FuzzMatchesCudnnAndFloat64); cuDNN builds
// no plan for many fused graphs, which are then not compared.
TEST_F(BackendForward, FuzzMatchesCudnnAndFloat64) {
    dwtest::check_random_cases(
        dwtest::fuzz_configs(), dwtest::random_fuzz_backend_case, layouts,
        [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
               const HostTensor& y0, bool ours) { return run(cc, x, filter, bias, y0, ours, 0); },
        0.5);
}

// Only graphs cuDNN builds a plan for can be executed at all; its fusion engines decline many of these.
TEST_F(BackendForward, RandomFusedGraphConfigsMatchCudnnAndFloat64) {
    dwtest::check_random_cases(
        80, dwtest::random_fused_graph_case, layouts,
        [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
               const HostTensor& y0, bool ours) { return run(cc, x, filter, bias, y0, ours, 0); },
        0.1);
}

// Runs only under DWSHIM_DISABLE=1 (ctest's gpu_disable).
class EnvDisableBackend : public BackendForward {};

TEST_F(EnvDisableBackend, LeavesEveryPlanToCudnn) {
    ASSERT_STREQ(std::getenv("DWSHIM_DISABLE"), "1");
    ConvCase cc;
    cc.n = 2;
    cc.c = 6;
    cc.h = 11;
    cc.w = 13;
    std::mt19937 rng(dwtest::test_seed());
    const auto l = layouts(cc);
    HostTensor x(cc.dtype, l.first.span), filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
    dwtest::fill_random(&x, &rng);
    dwtest::fill_random(&filter, &rng);
    const HostTensor y0 = dwtest::initial_output(cc, l.second.span, &rng);
    const int untraced = static_cast<int>(dwshim::RouteReason::kUntracedPlan);
    const std::vector<double> through_dwshim = run(cc, x, filter, nullptr, y0, /*ours=*/true, untraced);
    const std::vector<double> direct = run(cc, x, filter, nullptr, y0, /*ours=*/false, untraced);
    EXPECT_EQ(dwshim_decision_count(0), 0u);
    EXPECT_FALSE(direct.empty());
    EXPECT_EQ(through_dwshim, direct);
}

}  // namespace
