// The two gradients through both cuDNN APIs: random depthwise problems computed by dwshim and by the real cuDNN
// on the same descriptors (or the same execution plan), each against a float64 reference, with poisoned outputs;
// bitwise reproducibility; CUDA-graph capture; the algorithm and workspace queries.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "gpu_common.h"
#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"

namespace {

using dwshim::Direction;
using dwtest::BackendConv;
using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::DeviceBuffer;
using dwtest::GradientCase;
using dwtest::HostTensor;

// Device copies of a gradient case's tensors, x and dy `misalign` elements past an aligned address; the written
// tensor (dx or dw) starts as out0.
struct DeviceCase {
    size_t skip;
    DeviceBuffer x_buffer, dy_buffer, w;
    char *x, *dy;
    explicit DeviceCase(const GradientCase& g)
        : skip(g.cc.misalign * dwtest::dtype_size(g.cc.dtype)),
          x_buffer(g.x.bytes.size() + skip),
          dy_buffer(g.dy.bytes.size() + skip),
          w(g.filter.bytes.size()),
          x(static_cast<char*>(x_buffer.ptr) + skip),
          dy(static_cast<char*>(dy_buffer.ptr) + skip) {
        EXPECT_TRUE(x_buffer.ptr && dy_buffer.ptr && w.ptr);
        const bool data_grad = g.cc.direction == Direction::kDataGrad;
        dwtest::upload(x, data_grad ? g.out0.bytes.data() : g.x.bytes.data(), g.x.bytes.size());
        dwtest::upload(dy, g.dy.bytes.data(), g.dy.bytes.size());
        dwtest::upload(w.ptr, data_grad ? g.filter.bytes.data() : g.out0.bytes.data(), g.filter.bytes.size());
    }
    void* written(const GradientCase& g) { return g.cc.direction == Direction::kDataGrad ? x : w.ptr; }
};

class Gradients : public dwtest::CudnnStreamFixture {
protected:
    void SetUp() override {
        dwtest::CudnnStreamFixture::SetUp();
        ASSERT_NE(dwtest::real().backward_data, nullptr);
        ASSERT_NE(dwtest::real().backward_data, &cudnnConvolutionBackwardData) << "must reach dwshim and cuDNN apart";
        ASSERT_NE(dwtest::real().backward_filter, &cudnnConvolutionBackwardFilter);
    }

    // Through cudnnConvolutionBackwardData / Filter, trying the real cuDNN's heuristic algorithms in order until
    // one runs; each side sizes its workspace with its own query, as a caller would. dwshim runs any algorithm,
    // so where the real cuDNN lists none that works (bf16 with the legacy API, say) it still gets algorithm 0.
    std::vector<double> run_legacy(const GradientCase& g, bool ours) {
        const ConvCase& cc = g.cc;
        CudnnDescriptors d(cc);
        DeviceCase dev(g);
        const dwtest::RealFunctions& real = dwtest::real();
        cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
        if (cc.direction == Direction::kDataGrad) {
            cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT + 1];
            int returned = 0;
            EXPECT_EQ(real.backward_data_heuristics(handle_, d.w, d.y, d.conv, d.x,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf),
                      CUDNN_STATUS_SUCCESS);
            const auto query = ours ? &cudnnGetConvolutionBackwardDataWorkspaceSize : real.backward_data_workspace;
            const auto call = ours ? &cudnnConvolutionBackwardData : real.backward_data;
            if (ours) {
                perf[returned].algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
                perf[returned++].status = CUDNN_STATUS_SUCCESS;
            }
            for (int i = 0; i < returned && status != CUDNN_STATUS_SUCCESS; ++i) {
                size_t bytes = 0;
                if (perf[i].status != CUDNN_STATUS_SUCCESS ||
                    query(handle_, d.w, d.y, d.conv, d.x, perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS) {
                    continue;
                }
                DeviceBuffer workspace(bytes);
                status = call(handle_, &cc.alpha, d.w, dev.w.ptr, d.y, dev.dy, d.conv, perf[i].algo, workspace.ptr,
                              bytes, &cc.beta, d.x, dev.x);
                EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
            }
        } else {
            cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT + 1];
            int returned = 0;
            EXPECT_EQ(real.backward_filter_heuristics(handle_, d.x, d.y, d.conv, d.w,
                                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf),
                      CUDNN_STATUS_SUCCESS);
            const auto query = ours ? &cudnnGetConvolutionBackwardFilterWorkspaceSize : real.backward_filter_workspace;
            const auto call = ours ? &cudnnConvolutionBackwardFilter : real.backward_filter;
            if (ours) {
                perf[returned].algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
                perf[returned++].status = CUDNN_STATUS_SUCCESS;
            }
            for (int i = 0; i < returned && status != CUDNN_STATUS_SUCCESS; ++i) {
                size_t bytes = 0;
                if (perf[i].status != CUDNN_STATUS_SUCCESS ||
                    query(handle_, d.x, d.y, d.conv, d.w, perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS) {
                    continue;
                }
                DeviceBuffer workspace(bytes);
                status = call(handle_, &cc.alpha, d.x, dev.x, d.y, dev.dy, d.conv, perf[i].algo, workspace.ptr,
                              bytes, &cc.beta, d.w, dev.w.ptr);
                EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
            }
        }
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed";
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};
        return dwtest::read_output(cc, g.out_layout, dev.written(g), g.out0);
    }

    // The same plan (the first of cuDNN's heuristic configurations that finalizes) executed by each side, with
    // the workspace the plan reports (dwshim raises it to its own need).
    std::vector<double> run_backend(const GradientCase& g, bool ours) {
        const ConvCase& cc = g.cc;
        BackendConv conv(cc);
        cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops, handle_);
        EXPECT_NE(graph, nullptr);
        if (graph == nullptr) return {};
        dwshim::DepthwiseParams params;
        EXPECT_EQ(dwshim_route_backend_graph(graph, &params), 0) << "not routed: tests nothing";
        EXPECT_EQ(params.direction, cc.direction);
        int64_t workspace_bytes = 0;
        cudnnBackendDescriptor_t plan = conv.make_plan(handle_, graph, &workspace_bytes);
        if (plan == nullptr) return {};
        DeviceCase dev(g);
        DeviceBuffer workspace(workspace_bytes);
        cudnnBackendDescriptor_t pack = conv.make_variant_pack(dev.x, dev.w.ptr, dev.dy, workspace.ptr);
        const auto execute = ours ? &cudnnBackendExecute : dwtest::real().backend_execute;
        const cudnnStatus_t status = execute(handle_, plan, pack);
        EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed";
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};
        return dwtest::read_output(cc, g.out_layout, dev.written(g), g.out0);
    }

    void check_legacy(int count, ConvCase (*generate)(std::mt19937*), Direction direction) {
        dwtest::check_random_gradient_cases(count, generate, direction, [this](const GradientCase& g, bool ours) {
            CudnnDescriptors d(g.cc);
            dwshim::DepthwiseParams params;
            params.direction = g.cc.direction;
            EXPECT_EQ(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params), 0) << "not routed: tests nothing";
            return run_legacy(g, ours);
        }, 0.5);  // the legacy API has no bf16 gradient algorithms for many shapes
    }

    void check_backend(int count, ConvCase (*generate)(std::mt19937*), Direction direction) {
        dwtest::check_random_gradient_cases(
            count, generate, direction, [this](const GradientCase& g, bool ours) { return run_backend(g, ours); },
            0.5);
    }

    // Filter gradients of inputs holding Inf and NaN (one value at x's first pixel, which only some taps reach,
    // and three anywhere): every entry of dw is non-finite exactly where the float64 reference's is, and the
    // finite ones agree.
    void check_non_finite_filter_grads(int count, ConvCase (*generate)(std::mt19937*)) {
        std::mt19937 rng(dwtest::test_seed());
        int non_finite = 0, finite = 0;
        for (int i = 0; i < count; ++i) {
            ConvCase cc = generate(&rng);
            cc.direction = Direction::kFilterGrad;
            cc.beta = 0.0f;
            GradientCase g(cc);
            dwtest::fill_random(&g.x, &rng);
            dwtest::fill_random(&g.dy, &rng);
            dwtest::fill_random(&g.filter, &rng);
            g.out0 = dwtest::initial_output(cc, g.out_layout.span, &rng);
            g.x.set(0, INFINITY);
            const double specials[] = {INFINITY, -INFINITY, NAN};
            for (double special : specials) {
                g.x.set(std::uniform_int_distribution<int64_t>(0, g.x.span() - 1)(rng), special);
            }
            CudnnDescriptors d(cc);
            dwshim::DepthwiseParams params;
            params.direction = cc.direction;
            ASSERT_EQ(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params), 0) << "not routed: tests nothing";
            const std::vector<double> expected =
                dwtest::reference_filter_grad(cc, g.x_layout, g.x, g.out0, g.y_layout, g.dy);
            const std::vector<double> ours = run_legacy(g, /*ours=*/true);
            dwtest::expect_same_non_finite(ours, expected, cc.describe(), &non_finite, &finite);
            if (HasFatalFailure()) return;
        }
        EXPECT_GT(non_finite, 0) << "no Inf or NaN reached dw: tests nothing";
        EXPECT_GT(finite, 0);
        std::printf("%d cases: %d non-finite and %d finite entries of dw as in float64\n", count, non_finite, finite);
    }
};

TEST_F(Gradients, LegacyDataGradMatchesCudnnAndFloat64) {
    check_legacy(240, dwtest::random_gradient_legacy_case, Direction::kDataGrad);
}

TEST_F(Gradients, LegacyFilterGradMatchesCudnnAndFloat64) {
    check_legacy(240, dwtest::random_gradient_legacy_case, Direction::kFilterGrad);
}

TEST_F(Gradients, BackendDataGradMatchesCudnnAndFloat64) {
    check_backend(240, dwtest::random_gradient_backend_case, Direction::kDataGrad);
}

TEST_F(Gradients, BackendFilterGradMatchesCudnnAndFloat64) {
    check_backend(240, dwtest::random_gradient_backend_case, Direction::kFilterGrad);
}

// The NHWC kernels' shapes: the filter gradient's ring kernel (wide and narrow channel vectors) and tile kernel
// (odd channel counts at odd addresses), the data gradient's forward-shaped and stride-2 kernels.
TEST_F(Gradients, LegacyNhwcGradientsMatchCudnnAndFloat64) {
    check_legacy(120, dwtest::random_gradient_nhwc_case, Direction::kFilterGrad);
    check_legacy(120, dwtest::random_gradient_nhwc_case, Direction::kDataGrad);
}

TEST_F(Gradients, BackendNhwcGradientsMatchCudnnAndFloat64) {
    check_backend(120, dwtest::random_gradient_nhwc_case, Direction::kFilterGrad);
    check_backend(120, dwtest::random_gradient_nhwc_case, Direction::kDataGrad);
}

// The stride-2 data gradient on more strips than the GPU holds blocks at once.
TEST_F(Gradients, NhwcStride2DataGradOnManyStripsMatchesCudnnAndFloat64) {
    check_legacy(8, dwtest::random_gradient_nhwc_s2_many_strips_case, Direction::kDataGrad);
    check_backend(8, dwtest::random_gradient_nhwc_s2_many_strips_case, Direction::kDataGrad);
}

// The NHWC tensor-core forward's shapes, which the data gradient at stride 1 runs on.
TEST_F(Gradients, NhwcMmaDataGradMatchesCudnnAndFloat64) {
    check_legacy(40, dwtest::random_nhwc_mma_case, Direction::kDataGrad);
    check_backend(40, dwtest::random_nhwc_mma_case, Direction::kDataGrad);
}

// The NHWC small-plane forward's shapes, which the data gradient at stride 1 runs on.
TEST_F(Gradients, NhwcSmallPlanesDataGradMatchesCudnnAndFloat64) {
    const auto unfused = [](std::mt19937* rng) {
        ConvCase cc = dwtest::random_nhwc_small_planes_case(rng);
        cc.bias = false;
        cc.activation = 0;
        return cc;
    };
    check_legacy(40, unfused, Direction::kDataGrad);
    check_backend(40, unfused, Direction::kDataGrad);
}

// The tensor-core forwards' shapes (large filters), which the data gradient at stride 1 runs on.
TEST_F(Gradients, LargeFilterTensorCoreDataGradMatchesCudnnAndFloat64) {
    check_legacy(30, dwtest::random_large_filter_tensor_core_case, Direction::kDataGrad);
    check_backend(30, dwtest::random_large_filter_tensor_core_case, Direction::kDataGrad);
}

// The tensor-core filter gradient's shapes (and wider or taller large filters, on the FMA kernel).
TEST_F(Gradients, LargeFilterTensorCoreFilterGradMatchesCudnnAndFloat64) {
    check_legacy(30, dwtest::random_large_filter_tensor_core_case, Direction::kFilterGrad);
    check_backend(30, dwtest::random_large_filter_tensor_core_case, Direction::kFilterGrad);
}

// On the tensor-core filter gradient, a zero of the Toeplitz matrix of dy times an Inf outside a tap's window
// would make a NaN.
TEST_F(Gradients, ToeplitzNonFiniteInputsMakeTheSameNonFiniteFilterGradsAsFloat64) {
    check_non_finite_filter_grads(12, [](std::mt19937* rng) {
        ConvCase cc;
        do {
            cc = dwtest::random_large_filter_tensor_core_case(rng);
        } while (cc.kh > 32 || cc.kw > 32 || cc.dtype == CUDNN_DATA_FLOAT);  // the tensor-core kernel's filters
        return cc;
    });
}

// The FMA large-filter filter gradient (fp32, 2-byte filters under 13 or over 32) stages dy's zeros past the
// output's edge, which meet x values no tap's window reaches: an Inf there would make a NaN.
TEST_F(Gradients, LargeFilterNonFiniteInputsMakeTheSameNonFiniteFilterGradsAsFloat64) {
    check_non_finite_filter_grads(12, dwtest::random_large_filter_case);
}

// The NHWC image-tile filter gradient's shapes (small images, stride 1).
TEST_F(Gradients, NhwcSmallImagesFilterGradMatchesCudnnAndFloat64) {
    check_legacy(40, dwtest::random_gradient_nhwc_small_images_case, Direction::kFilterGrad);
    check_backend(40, dwtest::random_gradient_nhwc_small_images_case, Direction::kFilterGrad);
}

// The NCHW stride-2 data gradient kernel's shapes.
TEST_F(Gradients, NchwStride2DataGradMatchesCudnnAndFloat64) {
    check_legacy(120, dwtest::random_gradient_nchw_s2_case, Direction::kDataGrad);
    check_backend(120, dwtest::random_gradient_nchw_s2_case, Direction::kDataGrad);
}

// The asymmetric filters of the NCHW rows kernels, both gradients.
TEST_F(Gradients, NchwAsymmetricGradientsMatchCudnnAndFloat64) {
    check_legacy(100, dwtest::random_gradient_nchw_asymmetric_case, Direction::kFilterGrad);
    check_backend(100, dwtest::random_gradient_nchw_asymmetric_case, Direction::kFilterGrad);
    check_backend(60, dwtest::random_gradient_nchw_asymmetric_case, Direction::kDataGrad);
    // The legacy API has data gradient algorithms for fewer of these (24 of 60 in run 2026-12-03cc).
    dwtest::check_random_gradient_cases(
        60, dwtest::random_gradient_nchw_asymmetric_case, Direction::kDataGrad,
        [this](const GradientCase& g, bool ours) { return run_legacy(g, ours); }, 0.3);
}

// The quads kernel's narrow planes, in the data gradient (the forward's kernels on dy).
TEST_F(Gradients, NchwNarrowPlanesDataGradMatchesCudnnAndFloat64) {
    check_backend(40, dwtest::random_gradient_nchw_narrow_planes_case, Direction::kDataGrad);
    // The legacy API's algorithms ran 11 of 40 of these (run 2026-12-04hh); float64 checks every one.
    dwtest::check_random_gradient_cases(
        40, dwtest::random_gradient_nchw_narrow_planes_case, Direction::kDataGrad,
        [this](const GradientCase& g, bool ours) { return run_legacy(g, ours); }, 0.2);
}

// The differential fuzzer's gradient share (DWSHIM_FUZZ_CONFIGS configs per direction and API).
TEST_F(Gradients, FuzzLegacyGradientsMatchCudnnAndFloat64) {
    check_legacy(dwtest::fuzz_configs(), dwtest::random_gradient_legacy_case, Direction::kDataGrad);
    check_legacy(dwtest::fuzz_configs(), dwtest::random_gradient_legacy_case, Direction::kFilterGrad);
}

TEST_F(Gradients, FuzzBackendGradientsMatchCudnnAndFloat64) {
    check_backend(dwtest::fuzz_configs(), dwtest::random_gradient_backend_case, Direction::kDataGrad);
    check_backend(dwtest::fuzz_configs(), dwtest::random_gradient_backend_case, Direction::kFilterGrad);
}

ConvCase reduction_case(Direction direction, cudnnDataType_t dtype, dwtest::Layout layout) {
    ConvCase cc;
    cc.direction = direction;
    cc.dtype = dtype;
    cc.layout = layout;
    cc.n = 4;
    cc.c = 40;
    cc.h = 61;
    cc.w = 83;
    cc.pad_h = cc.pad_w = 1;
    return cc;
}

// The same inputs give bitwise the same gradients, call after call (no floating-point atomics). Rows of 83 and
// 131 columns: the NCHW rows filter gradient with a row in one warp and across two; rows of 14: narrow rows side by
// side in a warp; a 9x9 filter on channels-last data: the large-filter kernel on packed copies.
TEST_F(Gradients, RepeatedCallsAreBitwiseEqual) {
    struct Shape {
        dwtest::Layout layout;
        int w, k;
    };
    const Shape shapes[] = {{dwtest::Layout::kNCHW, 83, 3},
                            {dwtest::Layout::kNCHW, 131, 3},
                            {dwtest::Layout::kNCHW, 14, 3},
                            {dwtest::Layout::kNHWC, 83, 3},
                            {dwtest::Layout::kNHWC, 83, 9}};
    int checked = 0, backend_checked = 0;
    for (Direction direction : {Direction::kDataGrad, Direction::kFilterGrad}) {
        for (cudnnDataType_t dtype : {CUDNN_DATA_FLOAT, CUDNN_DATA_BFLOAT16}) {
            for (const Shape& shape : shapes) {
                ConvCase cc = reduction_case(direction, dtype, shape.layout);
                cc.w = shape.w;
                cc.kh = cc.kw = shape.k;
                cc.pad_h = cc.pad_w = shape.k / 2;
                GradientCase g(cc);
                std::mt19937 rng(dwtest::test_seed());
                dwtest::fill_random(&g.x, &rng);
                dwtest::fill_random(&g.dy, &rng);
                dwtest::fill_random(&g.filter, &rng);
                g.out0 = dwtest::initial_output(g.cc, g.out_layout.span, &rng);
                const std::vector<double> first = run_legacy(g, /*ours=*/true);
                ASSERT_FALSE(first.empty());
                for (int repeat = 0; repeat < 3; ++repeat) {
                    ASSERT_EQ(run_legacy(g, /*ours=*/true), first) << g.cc.describe();
                    // The backend plan runs the same kernel; empty only where cuDNN built no plan at all.
                    const std::vector<double> backend = run_backend(g, /*ours=*/true);
                    if (!backend.empty()) {
                        ASSERT_EQ(backend, first) << g.cc.describe();
                        ++backend_checked;
                    }
                }
                ++checked;
            }
        }
    }
    EXPECT_EQ(checked, 20);
    EXPECT_GE(backend_checked, 30);
}

// Both gradients captured into one CUDA graph in global mode (any synchronisation or allocation on the routed
// path fails the capture), replayed on new inputs against float64.
TEST_F(Gradients, LegacyGradientsCaptureAndReplay) {
    ConvCase cc = reduction_case(Direction::kDataGrad, CUDNN_DATA_FLOAT, dwtest::Layout::kNCHW);
    CudnnDescriptors d(cc);
    GradientCase data(cc);
    cc.direction = Direction::kFilterGrad;
    GradientCase filter(cc);
    size_t filter_workspace = 0;
    ASSERT_EQ(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle_, d.x, d.y, d.conv, d.w,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, &filter_workspace),
              CUDNN_STATUS_SUCCESS);
    DeviceBuffer x(data.x.bytes.size()), dx(data.x.bytes.size()), dy(data.dy.bytes.size()), w(data.filter.bytes.size()),
        dw(data.filter.bytes.size()), workspace(filter_workspace);
    const uint64_t routed_before = dwshim_decision_count(0);
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
    const cudnnStatus_t data_status =
        cudnnConvolutionBackwardData(handle_, &cc.alpha, d.w, w.ptr, d.y, dy.ptr, d.conv,
                                     CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, nullptr, 0, &cc.beta, d.x, dx.ptr);
    const cudnnStatus_t filter_status = cudnnConvolutionBackwardFilter(
        handle_, &cc.alpha, d.x, x.ptr, d.y, dy.ptr, d.conv, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, workspace.ptr,
        filter_workspace, &cc.beta, d.w, dw.ptr);
    ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess) << "the routed path broke the capture";
    ASSERT_EQ(data_status, CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(filter_status, CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(dwshim_decision_count(0), routed_before + 2) << "captured, but not by dwshim";
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaGraphInstantiateWithFlags(&exec, graph, 0), cudaSuccess);
    std::mt19937 rng(dwtest::test_seed() + 7);
    for (int replay = 0; replay < 3; ++replay) {
        dwtest::fill_random(&data.x, &rng);
        dwtest::fill_random(&data.dy, &rng);
        dwtest::fill_random(&data.filter, &rng);
        std::memset(data.out0.bytes.data(), 0xFF, data.out0.bytes.size());
        std::memset(filter.out0.bytes.data(), 0xFF, filter.out0.bytes.size());
        dwtest::upload(x.ptr, data.x.bytes.data(), data.x.bytes.size());
        dwtest::upload(dy.ptr, data.dy.bytes.data(), data.dy.bytes.size());
        dwtest::upload(w.ptr, data.filter.bytes.data(), data.filter.bytes.size());
        dwtest::upload(dx.ptr, data.out0.bytes.data(), data.out0.bytes.size());
        dwtest::upload(dw.ptr, filter.out0.bytes.data(), filter.out0.bytes.size());
        ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        const auto expected_dx =
            dwtest::reference_data_grad(data.cc, data.x_layout, data.out0, data.filter, data.y_layout, data.dy);
        const auto expected_dw =
            dwtest::reference_filter_grad(filter.cc, data.x_layout, data.x, filter.out0, data.y_layout, data.dy);
        EXPECT_LT(dwtest::relative_error(dwtest::read_output(cc, data.x_layout, dx.ptr, data.out0), expected_dx),
                  dwtest::tolerance(cc.dtype))
            << "replay " << replay;
        EXPECT_LT(
            dwtest::relative_error(dwtest::read_output(cc, filter.out_layout, dw.ptr, filter.out0), expected_dw),
            dwtest::tolerance(cc.dtype))
            << "replay " << replay;
    }
    EXPECT_EQ(dwshim_decision_count(0), routed_before + 2) << "replays must not call dwshim's host code";
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
}

// Routed configurations: every algorithm listed as supported and deterministic, with dwshim's workspace; a call
// with less workspace than dwshim needs goes to the real cuDNN.
TEST_F(Gradients, QueriesReportDwshimsWorkspaceAndEveryAlgorithm) {
    ConvCase cc = reduction_case(Direction::kFilterGrad, CUDNN_DATA_FLOAT, dwtest::Layout::kNHWC);
    CudnnDescriptors d(cc);
    size_t needed = 0;
    ASSERT_EQ(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle_, d.x, d.y, d.conv, d.w,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &needed),
              CUDNN_STATUS_SUCCESS);
    EXPECT_GT(needed, 0u);
    cudnnConvolutionBwdFilterAlgoPerf_t filter_perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int returned = 0;
    ASSERT_EQ(cudnnFindConvolutionBackwardFilterAlgorithm(handle_, d.x, d.y, d.conv, d.w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned,
                                                          filter_perf),
              CUDNN_STATUS_SUCCESS);
    ASSERT_GT(returned, 0);
    for (int i = 0; i < returned; ++i) {
        EXPECT_EQ(filter_perf[i].status, CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(filter_perf[i].memory, needed);
        EXPECT_EQ(filter_perf[i].determinism, CUDNN_DETERMINISTIC);
    }
    cudnnConvolutionBwdDataAlgoPerf_t data_perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    ASSERT_EQ(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle_, d.w, d.y, d.conv, d.x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, data_perf),
              CUDNN_STATUS_SUCCESS);
    ASSERT_GT(returned, 0);
    for (int i = 0; i < returned; ++i) {
        EXPECT_EQ(data_perf[i].status, CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(data_perf[i].memory, 0u);
        EXPECT_EQ(data_perf[i].determinism, CUDNN_DETERMINISTIC);
    }

    GradientCase g(cc);
    DeviceCase dev(g);
    DeviceBuffer workspace(needed);
    const uint64_t short_before = dwshim_decision_count(static_cast<int>(dwshim::RouteReason::kWorkspace));
    const float alpha = 1.0f, beta = 0.0f;
    cudnnConvolutionBackwardFilter(handle_, &alpha, d.x, dev.x, d.y, dev.dy, d.conv,
                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, workspace.ptr, needed - 4, &beta, d.w,
                                   dev.w.ptr);
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    EXPECT_EQ(dwshim_decision_count(static_cast<int>(dwshim::RouteReason::kWorkspace)), short_before + 1);
}

}  // namespace
