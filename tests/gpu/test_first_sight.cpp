// Routing measured on first sight (shim/first_sight.h), run with DWSHIM_TUNE=measure and an empty tuning cache
// (tests/CMakeLists.txt): each problem is timed once, at the first decision about it, the file keeps both times,
// the decision follows them, the caller's tensors are written once by the path that won, and nothing is measured
// while the handle's stream captures a CUDA graph.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gpu_common.h"
#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"

namespace {

using dwshim::Direction;
using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::DeviceBuffer;
using dwtest::HostTensor;

constexpr int kRouted = static_cast<int>(dwshim::RouteReason::kRouted);
constexpr int kTunedSlower = static_cast<int>(dwshim::RouteReason::kTunedSlower);
constexpr size_t kWorkspace = size_t{256} << 20;  // more than cuDNN's algorithms ask for these sizes

struct Line {
    std::string api, op;
    double dwshim_ms = 0.0, replaced_ms = 0.0;
};

// The file's lines (tuned_routes.h's format).
std::vector<Line> cache_lines() {
    std::ifstream file(std::getenv("DWSHIM_TUNE_CACHE"));
    std::vector<Line> lines;
    std::string text;
    while (std::getline(file, text)) {
        std::vector<std::string> fields;
        std::stringstream stream(text);
        std::string field;
        while (std::getline(stream, field, ',')) fields.push_back(field);
        if (fields.size() != 23) continue;
        lines.push_back({fields[1], fields[2], std::atof(fields[21].c_str()), std::atof(fields[22].c_str())});
    }
    return lines;
}

ConvCase problem(Direction direction, int channels, dwtest::Layout layout) {
    ConvCase cc;
    cc.direction = direction;
    cc.layout = layout;
    cc.n = 8;
    cc.c = channels;
    cc.h = cc.w = 40;
    cc.pad_h = cc.pad_w = 1;
    return cc;
}

class EnvFirstSight : public dwtest::CudnnStreamFixture {
protected:
    void SetUp() override {
        dwtest::CudnnStreamFixture::SetUp();
        ASSERT_STREQ(std::getenv("DWSHIM_TUNE"), "measure");
        ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr) << "DWSHIM_ROUTE=all would skip the measurement";
    }

    // dwshim's decision for the case's legacy descriptors, as the file now makes it.
    static int legacy_decision(const ConvCase& cc) {
        CudnnDescriptors d(cc);
        dwshim::DepthwiseParams params;
        params.direction = cc.direction;
        return dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params);
    }

    // The real heuristics' first algorithm for the case's direction.
    int first_algo(const ConvCase& cc, const CudnnDescriptors& d) {
        const dwtest::RealFunctions& real = dwtest::real();
        int returned = 0;
        switch (cc.direction) {
            case Direction::kForward: {
                cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
                EXPECT_EQ(real.heuristics(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                          perf),
                          CUDNN_STATUS_SUCCESS);
                return returned > 0 ? perf[0].algo : 0;
            }
            case Direction::kDataGrad: {
                cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
                EXPECT_EQ(real.backward_data_heuristics(handle_, d.w, d.y, d.conv, d.x,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf),
                          CUDNN_STATUS_SUCCESS);
                return returned > 0 ? perf[0].algo : 0;
            }
            case Direction::kFilterGrad: {
                cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
                EXPECT_EQ(real.backward_filter_heuristics(handle_, d.x, d.y, d.conv, d.w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf),
                          CUDNN_STATUS_SUCCESS);
                return returned > 0 ? perf[0].algo : 0;
            }
        }
        return 0;
    }

    // The executing call of the case's direction, through dwshim (`ours`) or the real cuDNN, with the real
    // heuristics' first algorithm, alpha 1 and beta 1: the written tensor must end up as its old contents plus
    // the result.
    cudnnStatus_t execute(const ConvCase& cc, const CudnnDescriptors& d, int algo, void* x, void* w, void* y,
                          void* workspace, bool ours) {
        const float one = 1.0f;
        const dwtest::RealFunctions& real = dwtest::real();
        switch (cc.direction) {
            case Direction::kForward:
                return (ours ? &cudnnConvolutionForward : real.forward)(
                    handle_, &one, d.x, x, d.w, w, d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(algo), workspace,
                    kWorkspace, &one, d.y, y);
            case Direction::kDataGrad:
                return (ours ? &cudnnConvolutionBackwardData : real.backward_data)(
                    handle_, &one, d.w, w, d.y, y, d.conv, static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), workspace,
                    kWorkspace, &one, d.x, x);
            case Direction::kFilterGrad:
                return (ours ? &cudnnConvolutionBackwardFilter : real.backward_filter)(
                    handle_, &one, d.x, x, d.y, y, d.conv, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo),
                    workspace, kWorkspace, &one, d.w, w);
        }
        return CUDNN_STATUS_NOT_SUPPORTED;
    }
};

TEST_F(EnvFirstSight, LegacyProblemIsMeasuredOnceAtItsFirstQuery) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    {  // the process's first cuDNN work (library and kernel loading) on another problem, so the time below is
       // the measurement's
        CudnnDescriptors warm_up(problem(Direction::kForward, 88, dwtest::Layout::kNCHW));
        ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(handle_, warm_up.x, warm_up.w, warm_up.conv, warm_up.y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf),
                  CUDNN_STATUS_SUCCESS);
    }
    const ConvCase cc = problem(Direction::kForward, 96, dwtest::Layout::kNCHW);
    CudnnDescriptors d(cc);
    const size_t before = cache_lines().size();
    const auto query = [&] {
        const auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(handle_, d.x, d.w, d.conv, d.y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf),
                  CUDNN_STATUS_SUCCESS);
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    };
    const double first_us = query();
    const std::vector<Line> lines = cache_lines();
    ASSERT_EQ(lines.size(), before + 1) << "one measurement, at the first query";
    const Line& line = lines.back();
    EXPECT_EQ(line.api, "legacy");
    EXPECT_EQ(line.op, "fwd");
    EXPECT_GT(line.dwshim_ms, 0.0);
    EXPECT_GT(line.replaced_ms, 0.0);
    const bool faster = line.dwshim_ms * 1.03 <= line.replaced_ms;
    EXPECT_EQ(legacy_decision(cc), faster ? kRouted : kTunedSlower);
    const double cached_us = query();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(dwtest::real().heuristics(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                        perf),
              CUDNN_STATUS_SUCCESS);
    const double real_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    size_t workspace = 1;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(handle_, d.x, d.w, d.conv, d.y, perf[0].algo, &workspace),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cache_lines().size(), before + 1) << "measured again";
    std::printf("first-sight query %.0f us (dwshim %.4f ms, cuDNN %.4f ms, %s), cached query %.1f us, the real "
                "cuDNN's query %.1f us\n",
                first_us, line.dwshim_ms, line.replaced_ms, faster ? "routed" : "forwarded", cached_us, real_us);
}

// First sight at an executing call, with beta 1: the measurement runs on scratch tensors, so the caller's output
// holds its old contents plus one result, whichever path won.
TEST_F(EnvFirstSight, FirstSightAtAnExecutingCallWritesTheOutputOnce) {
    std::mt19937 rng(dwtest::test_seed());
    for (const Direction direction : {Direction::kForward, Direction::kDataGrad, Direction::kFilterGrad}) {
        const ConvCase cc = problem(direction, 104, dwtest::Layout::kNHWC);
        SCOPED_TRACE(cc.describe());
        CudnnDescriptors d(cc);
        const dwtest::TensorLayout w_layout = dwtest::filter_layout(cc);
        HostTensor x(cc.dtype, d.x_layout.span), w(cc.dtype, w_layout.span), y(cc.dtype, d.y_layout.span);
        dwtest::fill_random(&x, &rng);
        dwtest::fill_random(&w, &rng);
        dwtest::fill_random(&y, &rng);
        const int algo = first_algo(cc, d);
        std::vector<double> results[2];
        for (const bool ours : {true, false}) {
            DeviceBuffer x_device(x.bytes.size()), w_device(w.bytes.size()), y_device(y.bytes.size()),
                workspace(kWorkspace);
            dwtest::upload(x_device.ptr, x.bytes.data(), x.bytes.size());
            dwtest::upload(w_device.ptr, w.bytes.data(), w.bytes.size());
            dwtest::upload(y_device.ptr, y.bytes.data(), y.bytes.size());
            const size_t before = cache_lines().size();
            ASSERT_EQ(execute(cc, d, algo, x_device.ptr, w_device.ptr, y_device.ptr, workspace.ptr, ours),
                      CUDNN_STATUS_SUCCESS);
            ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
            EXPECT_EQ(cache_lines().size(), before + (ours ? 1 : 0));
            const bool data_grad = direction == Direction::kDataGrad;
            const bool filter_grad = direction == Direction::kFilterGrad;
            const HostTensor& written = data_grad ? x : filter_grad ? w : y;
            const void* device = data_grad ? x_device.ptr : filter_grad ? w_device.ptr : y_device.ptr;
            HostTensor out(cc.dtype, written.span());
            ASSERT_EQ(cudaMemcpy(out.bytes.data(), device, out.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
            for (int64_t i = 0; i < out.span(); ++i) results[ours ? 0 : 1].push_back(out.get(i));
        }
        EXPECT_LT(dwtest::relative_error(results[0], results[1]), 1e-5) << "dwshim (either path) vs the real cuDNN";
    }
}

TEST_F(EnvFirstSight, BackendPlanIsMeasuredWhenFinalized) {
    ConvCase cc = problem(Direction::kForward, 112, dwtest::Layout::kNHWC);
    dwtest::BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops, handle_);
    ASSERT_NE(graph, nullptr);
    const size_t before = cache_lines().size();
    int64_t workspace_bytes = 0;
    ASSERT_NE(conv.make_plan(handle_, graph, &workspace_bytes), nullptr);
    const std::vector<Line> lines = cache_lines();
    ASSERT_EQ(lines.size(), before + 1);
    EXPECT_EQ(lines.back().api, "backend");
    EXPECT_EQ(lines.back().op, "fwd");
    EXPECT_GT(lines.back().dwshim_ms, 0.0);
    EXPECT_GT(lines.back().replaced_ms, 0.0);
    dwshim::DepthwiseParams params;
    const bool faster = lines.back().dwshim_ms * 1.03 <= lines.back().replaced_ms;
    EXPECT_EQ(dwshim_route_backend_graph(graph, &params), faster ? kRouted : kTunedSlower);
    ASSERT_NE(conv.make_plan(handle_, graph, &workspace_bytes), nullptr);
    EXPECT_EQ(cache_lines().size(), before + 1) << "a second plan of the same problem was measured again";
}

TEST_F(EnvFirstSight, NothingIsMeasuredWhileTheStreamCaptures) {
    const ConvCase cc = problem(Direction::kForward, 120, dwtest::Layout::kNCHW);
    CudnnDescriptors d(cc);
    const size_t before = cache_lines().size();
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &returned, perf),
              CUDNN_STATUS_SUCCESS);
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess) << "the capture was invalidated";
    cudaGraphDestroy(graph);
    EXPECT_EQ(cache_lines().size(), before);
    EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &returned, perf),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cache_lines().size(), before) << "first seen in capture: the static rules decide for the process";
    EXPECT_NE(legacy_decision(cc), kTunedSlower);
}

}  // namespace
