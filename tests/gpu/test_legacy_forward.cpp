// Random depthwise convolutions through cudnnConvolutionForward: dwshim's kernel against the real cuDNN on the
// same descriptors and against a float64 reference, with poisoned outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gpu_common.h"
#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"

namespace {

using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::DeviceBuffer;
using dwtest::HostTensor;

class LegacyForward : public dwtest::CudnnStreamFixture {
protected:
    void SetUp() override {
        dwtest::CudnnStreamFixture::SetUp();
        ASSERT_NE(dwtest::real().forward, nullptr);
        ASSERT_NE(dwtest::real().forward, &cudnnConvolutionForward) << "must reach dwshim and cuDNN apart";
    }

    // Tries the real cuDNN's heuristic algorithms in order until one runs (ours runs with the first).
    std::vector<double> run(const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor& y0,
                            bool ours) {
        CudnnDescriptors d(cc);
        const size_t skip = cc.misalign * dwtest::dtype_size(cc.dtype);
        DeviceBuffer x_buffer(x.bytes.size() + skip), dw(filter.bytes.size()), y_buffer(y0.bytes.size() + skip);
        EXPECT_TRUE(x_buffer.ptr && dw.ptr && y_buffer.ptr);
        char* const x_data = static_cast<char*>(x_buffer.ptr) + skip;
        char* const y_data = static_cast<char*>(y_buffer.ptr) + skip;
        dwtest::upload(x_data, x.bytes.data(), x.bytes.size());
        dwtest::upload(dw.ptr, filter.bytes.data(), filter.bytes.size());
        dwtest::upload(y_data, y0.bytes.data(), y0.bytes.size());
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int returned = 0;
        EXPECT_EQ(dwtest::real().heuristics(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                            &returned, perf),
                  CUDNN_STATUS_SUCCESS);
        cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
        for (int i = 0; i < returned && status != CUDNN_STATUS_SUCCESS; ++i) {
            size_t workspace_bytes = 0;
            if (perf[i].status != CUDNN_STATUS_SUCCESS ||
                dwtest::real().workspace(handle_, d.x, d.w, d.conv, d.y, perf[i].algo, &workspace_bytes) !=
                    CUDNN_STATUS_SUCCESS) {
                continue;
            }
            DeviceBuffer workspace(workspace_bytes);
            const auto forward = ours ? &cudnnConvolutionForward : dwtest::real().forward;
            status = forward(handle_, &cc.alpha, d.x, x_data, d.w, dw.ptr, d.conv, perf[i].algo, workspace.ptr,
                             workspace_bytes, &cc.beta, d.y, y_data);
            EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        }
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed";
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};
        return dwtest::read_output(cc, d.y_layout, y_data, y0);
    }

    void check(int count, ConvCase (*generate)(std::mt19937*)) {
        dwtest::check_random_cases(
            count, generate,
            [](const ConvCase& cc) {
                return std::make_pair(dwtest::make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w),
                                      dwtest::make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q()));
            },
            [this](const ConvCase& cc, const HostTensor& x, const HostTensor& filter, const HostTensor* bias,
                   const HostTensor& y0, bool ours) {
                CudnnDescriptors d(cc);
                dwshim::DepthwiseParams params;
                EXPECT_EQ(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params), 0) << "not routed: tests nothing";
                return cc.bias ? run_fused(cc, x, filter, *bias, y0, ours) : run(cc, x, filter, y0, ours);
            },
            generate == dwtest::random_fused_case || generate == dwtest::random_fuzz_legacy_case ? 0.5 : 0.75);
    }

    // cudnnConvolutionBiasActivationForward with z = y0 and y poisoned.
    std::vector<double> run_fused(const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                  const HostTensor& bias, const HostTensor& y0, bool ours) {
        CudnnDescriptors d(cc);
        cudnnTensorDescriptor_t bias_desc;
        cudnnActivationDescriptor_t activation;
        EXPECT_EQ(cudnnCreateTensorDescriptor(&bias_desc), CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(cudnnSetTensor4dDescriptor(bias_desc, CUDNN_TENSOR_NCHW, cc.dtype, 1, cc.k(), 1, 1),
                  CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(cudnnCreateActivationDescriptor(&activation), CUDNN_STATUS_SUCCESS);
        const cudnnActivationMode_t modes[] = {CUDNN_ACTIVATION_IDENTITY, CUDNN_ACTIVATION_RELU,
                                               CUDNN_ACTIVATION_CLIPPED_RELU};
        EXPECT_EQ(cudnnSetActivationDescriptor(activation, modes[cc.activation], CUDNN_NOT_PROPAGATE_NAN, cc.clip),
                  CUDNN_STATUS_SUCCESS);
        HostTensor poison(cc.dtype, y0.span());
        std::memset(poison.bytes.data(), 0xFF, poison.bytes.size());
        DeviceBuffer dx(x.bytes.size()), dw(filter.bytes.size()), dz(y0.bytes.size()), dy(y0.bytes.size()),
            dbias(bias.bytes.size());
        dwtest::upload(dx.ptr, x.bytes.data(), x.bytes.size());
        dwtest::upload(dw.ptr, filter.bytes.data(), filter.bytes.size());
        dwtest::upload(dz.ptr, y0.bytes.data(), y0.bytes.size());
        dwtest::upload(dy.ptr, poison.bytes.data(), poison.bytes.size());
        dwtest::upload(dbias.ptr, bias.bytes.data(), bias.bytes.size());
        const auto forward = ours ? &cudnnConvolutionBiasActivationForward : dwtest::real().bias_activation_forward;
        cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
        for (int algo = 0; algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT && status != CUDNN_STATUS_SUCCESS; ++algo) {
            size_t workspace_bytes = 0;
            const auto a = static_cast<cudnnConvolutionFwdAlgo_t>(algo);
            if (dwtest::real().workspace(handle_, d.x, d.w, d.conv, d.y, a, &workspace_bytes) !=
                CUDNN_STATUS_SUCCESS) {
                continue;
            }
            DeviceBuffer workspace(workspace_bytes);
            status = forward(handle_, &cc.alpha, d.x, dx.ptr, d.w, dw.ptr, d.conv, a, workspace.ptr, workspace_bytes,
                             &cc.beta, d.y, dz.ptr, bias_desc, dbias.ptr, activation, d.y, dy.ptr);
            EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        }
        cudnnDestroyActivationDescriptor(activation);
        cudnnDestroyTensorDescriptor(bias_desc);
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed";
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};
        return dwtest::read_output(cc, d.y_layout, dy.ptr, poison);
    }
};

TEST_F(LegacyForward, RandomConfigsMatchCudnnAndFloat64) {
    check(240, dwtest::random_case);
}

TEST_F(LegacyForward, RandomNchwRowsConfigsMatchCudnnAndFloat64) {
    check(120, dwtest::random_nchw_rows_case);
}

TEST_F(LegacyForward, RandomNchwNarrowPlanesMatchCudnnAndFloat64) {
    check(40, dwtest::random_nchw_narrow_planes_case);
}

TEST_F(LegacyForward, RandomNchwVecConfigsMatchCudnnAndFloat64) {
    check(120, dwtest::random_nchw_vec_case);
}

TEST_F(LegacyForward, RandomNhwcVecConfigsMatchCudnnAndFloat64) {
    check(120, dwtest::random_nhwc_vec_case);
}

TEST_F(LegacyForward, RandomNhwcSmallPlanesMatchCudnnAndFloat64) {
    check(80, dwtest::random_nhwc_small_planes_case);
}

TEST_F(LegacyForward, RandomNhwcMmaConfigsMatchCudnnAndFloat64) {
    check(60, dwtest::random_nhwc_mma_case);
}

// Inputs holding Inf and NaN on the tensor-core paths, where a zero of a Toeplitz filter matrix times an Inf
// outside an output's window would make a NaN, and on the FMA large-filter kernel (filters too wide for them), whose
// padding taps are zeros: every output is non-finite exactly where the float64 reference's is, and the finite ones
// agree.
TEST_F(LegacyForward, NonFiniteInputsMakeTheSameNonFiniteOutputsAsFloat64) {
    std::mt19937 rng(dwtest::test_seed());
    int non_finite = 0, finite = 0;
    for (ConvCase (*generate)(std::mt19937*) :
         {dwtest::random_nhwc_mma_case, dwtest::random_large_filter_tensor_core_case}) {
        for (int i = 0; i < 12; ++i) {
            ConvCase cc = generate(&rng);
            cc.beta = 0.0f;
            const dwtest::TensorLayout xl = dwtest::make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w);
            const dwtest::TensorLayout yl = dwtest::make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q());
            HostTensor x(cc.dtype, xl.span), filter(cc.dtype, dwtest::filter_layout(cc).span);
            dwtest::fill_random(&x, &rng);
            dwtest::fill_random(&filter, &rng);
            const double specials[] = {INFINITY, -INFINITY, NAN};
            for (double special : specials) {
                x.set(std::uniform_int_distribution<int64_t>(0, xl.span - 1)(rng), special);
            }
            const HostTensor y0 = dwtest::initial_output(cc, yl.span, &rng);
            CudnnDescriptors d(cc);
            dwshim::DepthwiseParams params;
            ASSERT_EQ(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params), 0) << "not routed: tests nothing";
            const std::vector<double> expected = dwtest::reference_conv(cc, xl, x, filter, yl, y0);
            const std::vector<double> ours = run(cc, x, filter, y0, true);
            dwtest::expect_same_non_finite(ours, expected, cc.describe(), &non_finite, &finite);
            if (HasFatalFailure()) return;
        }
    }
    EXPECT_GT(non_finite, 0) << "no Inf or NaN reached an output: tests nothing";
    EXPECT_GT(finite, 0);
    std::printf("24 cases: %d non-finite and %d finite outputs as in float64\n", non_finite, finite);
}

TEST_F(LegacyForward, RandomLargeFilterConfigsMatchCudnnAndFloat64) {
    check(60, dwtest::random_large_filter_case);
}

TEST_F(LegacyForward, RandomLargeFilterTensorCoreConfigsMatchCudnnAndFloat64) {
    check(60, dwtest::random_large_filter_tensor_core_case);
}

TEST_F(LegacyForward, RandomMisalignedConfigsMatchCudnnAndFloat64) {
    check(80, dwtest::random_misaligned_case);
}

// The differential fuzzer (DWSHIM_FUZZ_CONFIGS configs; a failure names its seed and case index, which
// DWSHIM_TEST_SEED and DWSHIM_TEST_CASE replay).
TEST_F(LegacyForward, FuzzMatchesCudnnAndFloat64) {
    check(dwtest::fuzz_configs(), dwtest::random_fuzz_legacy_case);
}

TEST_F(LegacyForward, RandomBiasActivationConfigsMatchCudnnAndFloat64) {
    check(120, dwtest::random_fused_case);
}

ConvCase small_depthwise() {
    ConvCase cc;
    cc.n = 2;
    cc.c = 6;
    cc.h = 11;
    cc.w = 13;
    cc.pad_h = cc.pad_w = 1;
    return cc;
}

TEST_F(LegacyForward, QueriesReportNoWorkspaceAndEveryAlgorithmForRoutedConvs) {
    CudnnDescriptors d(small_depthwise());
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    ASSERT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(handle_, d.x, d.w, d.conv, d.y,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf),
              CUDNN_STATUS_SUCCESS);
    ASSERT_GT(returned, 0);
    for (int i = 0; i < returned; ++i) {
        EXPECT_EQ(perf[i].status, CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(perf[i].memory, 0u);
        size_t bytes = 1;
        EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(handle_, d.x, d.w, d.conv, d.y, perf[i].algo, &bytes),
                  CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(bytes, 0u);
    }
    ASSERT_EQ(cudnnFindConvolutionForwardAlgorithm(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                   &returned, perf),
              CUDNN_STATUS_SUCCESS);
    ASSERT_GT(returned, 0);
    EXPECT_EQ(perf[0].memory, 0u);
    EXPECT_EQ(perf[0].status, CUDNN_STATUS_SUCCESS);
}

TEST_F(LegacyForward, DenseConvolutionIsLeftToCudnn) {
    CudnnDescriptors d(small_depthwise());
    ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv, 1), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 6, 3, 3),
              CUDNN_STATUS_SUCCESS);
    size_t ours = 0, theirs = 0;
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(handle_, d.x, d.w, d.conv, d.y, algo, &ours),
              dwtest::real().workspace(handle_, d.x, d.w, d.conv, d.y, algo, &theirs));
    EXPECT_EQ(ours, theirs);
}

// Runs only under DWSHIM_DISABLE=1 (ctest's gpu_disable).
class EnvDisable : public LegacyForward {};

TEST_F(EnvDisable, LeavesEveryLegacyConvToCudnn) {
    ASSERT_STREQ(std::getenv("DWSHIM_DISABLE"), "1");
    const ConvCase cc = small_depthwise();
    CudnnDescriptors d(cc);
    std::mt19937 rng(dwtest::test_seed());
    HostTensor x(cc.dtype, d.x_layout.span), filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
    dwtest::fill_random(&x, &rng);
    dwtest::fill_random(&filter, &rng);
    const HostTensor y0 = dwtest::initial_output(cc, d.y_layout.span, &rng);
    const std::vector<double> through_dwshim = run(cc, x, filter, y0, /*ours=*/true);
    const std::vector<double> direct = run(cc, x, filter, y0, /*ours=*/false);
    EXPECT_EQ(dwshim_decision_count(0), 0u);
    EXPECT_GT(dwshim_decision_count(static_cast<int>(dwshim::RouteReason::kDisabled)), 0u);
    EXPECT_FALSE(direct.empty());
    EXPECT_EQ(through_dwshim, direct);
}

}  // namespace
