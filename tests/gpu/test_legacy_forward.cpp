// Random depthwise convolutions through cudnnConvolutionForward: dwshim's kernel against the real cuDNN on the
// same descriptors and against a float64 reference, with poisoned outputs.
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "reference.h"
#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"

#define CHECK_CUDA(call)                                                                                  \
    do {                                                                                                  \
        const cudaError_t error_ = (call);                                                                \
        ASSERT_EQ(error_, cudaSuccess) << #call << ": " << cudaGetErrorString(error_);                    \
    } while (0)

namespace {

using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::HostTensor;
using dwtest::Layout;

struct RealCudnn {
    decltype(&cudnnConvolutionForward) forward = nullptr;
    decltype(&cudnnGetConvolutionForwardAlgorithm_v7) heuristics = nullptr;
    decltype(&cudnnGetConvolutionForwardWorkspaceSize) workspace = nullptr;
};

// The real cuDNN's own functions, reached around dwshim.
const RealCudnn& real() {
    static const RealCudnn r = [] {
        RealCudnn loaded;
        void* handle = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_NOLOAD);
        if (handle == nullptr) handle = dlopen("libcudnn.so.8", RTLD_NOW | RTLD_NOLOAD);
        loaded.forward = reinterpret_cast<decltype(loaded.forward)>(dlsym(handle, "cudnnConvolutionForward"));
        loaded.heuristics = reinterpret_cast<decltype(loaded.heuristics)>(
            dlsym(handle, "cudnnGetConvolutionForwardAlgorithm_v7"));
        loaded.workspace = reinterpret_cast<decltype(loaded.workspace)>(
            dlsym(handle, "cudnnGetConvolutionForwardWorkspaceSize"));
        return loaded;
    }();
    return r;
}

double tolerance(cudnnDataType_t dtype) {
    return dtype == CUDNN_DATA_FLOAT ? 1e-5 : 1e-2;
}

struct DeviceBuffer {
    void* ptr = nullptr;
    explicit DeviceBuffer(size_t bytes) {
        if (cudaMalloc(&ptr, bytes == 0 ? 1 : bytes) != cudaSuccess) ptr = nullptr;
    }
    ~DeviceBuffer() { cudaFree(ptr); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

class Fixture : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(cudnnCreate(&handle_), CUDNN_STATUS_SUCCESS);
        ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
        ASSERT_EQ(cudnnSetStream(handle_, stream_), CUDNN_STATUS_SUCCESS);
        ASSERT_NE(real().forward, nullptr);
        ASSERT_NE(real().forward, &cudnnConvolutionForward) << "must reach dwshim and the real cuDNN apart";
    }
    void TearDown() override {
        cudnnDestroy(handle_);
        cudaStreamDestroy(stream_);
    }

    // Runs one case through dwshim (`ours`) or the real cuDNN; returns y's logical elements, or an empty
    // vector when the real cuDNN supports none of its algorithms for this case.
    std::vector<double> run(const ConvCase& cc, const CudnnDescriptors& d, const HostTensor& x,
                            const HostTensor& filter, const HostTensor& y0, bool ours) {
        const dwtest::TensorLayout& yl = d.y_layout;
        const size_t elem = dwtest::dtype_size(cc.dtype);
        DeviceBuffer dx(x.bytes.size()), dw(filter.bytes.size()), dy(y0.bytes.size());
        EXPECT_TRUE(dx.ptr && dw.ptr && dy.ptr);
        cudaMemcpy(dx.ptr, x.bytes.data(), x.bytes.size(), cudaMemcpyHostToDevice);
        cudaMemcpy(dw.ptr, filter.bytes.data(), filter.bytes.size(), cudaMemcpyHostToDevice);
        cudaMemcpy(dy.ptr, y0.bytes.data(), y0.bytes.size(), cudaMemcpyHostToDevice);

        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int returned = 0;
        EXPECT_EQ(real().heuristics(handle_, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                    perf),
                  CUDNN_STATUS_SUCCESS);
        cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
        for (int i = 0; i < returned && status != CUDNN_STATUS_SUCCESS; ++i) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
            size_t workspace_bytes = 0;
            if (real().workspace(handle_, d.x, d.w, d.conv, d.y, perf[i].algo, &workspace_bytes) !=
                CUDNN_STATUS_SUCCESS) {
                continue;
            }
            DeviceBuffer workspace(workspace_bytes);
            const auto forward = ours ? &cudnnConvolutionForward : real().forward;
            status = forward(handle_, &cc.alpha, d.x, dx.ptr, d.w, dw.ptr, d.conv, perf[i].algo, workspace.ptr,
                             workspace_bytes, &cc.beta, d.y, dy.ptr);
            EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
        }
        if (ours) {
            EXPECT_EQ(status, CUDNN_STATUS_SUCCESS) << "dwshim failed: " << cc.describe();
        }
        if (status != CUDNN_STATUS_SUCCESS) return {};

        HostTensor y(cc.dtype, y0.span());
        EXPECT_EQ(cudaMemcpy(y.bytes.data(), dy.ptr, y.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
        // Nothing outside y's logical elements may change (padded layouts have gaps).
        std::vector<char> logical(y0.span(), 0);
        std::vector<double> values;
        for (int64_t offset : dwtest::logical_offsets(yl)) {
            logical[offset] = 1;
            values.push_back(y.get(offset));
        }
        for (int64_t i = 0; i < y0.span(); ++i) {
            if (!logical[i]) {
                EXPECT_EQ(std::memcmp(&y.bytes[i * elem], &y0.bytes[i * elem], elem), 0)
                    << "wrote outside y at element " << i << ": " << cc.describe();
            }
        }
        return values;
    }

    void check_random_cases(int count, ConvCase (*generate)(std::mt19937*));

    cudnnHandle_t handle_ = nullptr;
    cudaStream_t stream_ = nullptr;
};

ConvCase random_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    const cudnnDataType_t dtypes[] = {CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16};
    const Layout layouts[] = {Layout::kNCHW, Layout::kNHWC, Layout::kPaddedNCHW};
    const float alphas[] = {1.0f, 0.5f, -2.0f};
    const float betas[] = {0.0f, 0.0f, 1.0f, 0.5f};
    ConvCase cc;
    cc.dtype = dtypes[pick(0, 2)];
    cc.layout = layouts[pick(0, 2)];
    cc.n = pick(1, 3);
    cc.c = pick(1, 24);
    cc.multiplier = pick(1, 2);
    cc.kh = pick(1, 9);
    cc.kw = pick(1, 9);
    cc.dil_h = pick(1, 2);
    cc.dil_w = pick(1, 2);
    cc.stride_h = pick(1, 3);
    cc.stride_w = pick(1, 3);
    cc.pad_h = pick(0, cc.kh / 2 + 1);
    cc.pad_w = pick(0, cc.kw / 2 + 1);
    cc.h = std::max(1, cc.dil_h * (cc.kh - 1) + 1 - 2 * cc.pad_h) + pick(0, 20);
    cc.w = std::max(1, cc.dil_w * (cc.kw - 1) + 1 - 2 * cc.pad_w) + pick(0, 20);
    cc.mode = pick(0, 3) == 0 ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION;
    cc.alpha = alphas[pick(0, 2)];
    cc.beta = betas[pick(0, 3)];
    return cc;
}

unsigned test_seed() {
    const char* seed = std::getenv("DWSHIM_TEST_SEED");
    return seed != nullptr ? static_cast<unsigned>(std::strtoul(seed, nullptr, 10)) : 20261124u;
}

// y0: random values when beta reads them, else all-ones bytes (NaN in every storage type).
HostTensor initial_output(const ConvCase& cc, int64_t span, std::mt19937* rng) {
    HostTensor y0(cc.dtype, span);
    if (cc.beta != 0.0f) {
        dwtest::fill_random(&y0, rng);
    } else {
        std::memset(y0.bytes.data(), 0xFF, y0.bytes.size());
    }
    return y0;
}

// Square 3/5/7 filters, stride_h = dil_h = 1, rows contiguous: the NCHW row-streaming path, with planes
// taller than one band and wider than one block of columns.
ConvCase random_nchw_rows_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.layout = pick(0, 1) == 0 ? Layout::kNCHW : Layout::kPaddedNCHW;
    cc.kh = cc.kw = 3 + 2 * pick(0, 2);
    cc.stride_h = 1;
    cc.dil_h = 1;
    cc.pad_h = pick(0, cc.kh / 2 + 1);
    cc.pad_w = pick(0, cc.kw / 2 + 1);
    cc.c = pick(1, 8);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 80);
    cc.w = std::max(1, cc.dil_w * (cc.kw - 1) + 1 - 2 * cc.pad_w) + pick(0, 300);
    return cc;
}

// Each case: routed, poisoned output fully written, no writes outside y, within tolerance of float64 and of
// the real cuDNN on the same descriptors.
void Fixture::check_random_cases(int count, ConvCase (*generate)(std::mt19937*)) {
    const unsigned seed = test_seed();
    std::mt19937 rng(seed);
    int without_cudnn = 0;
    double worst[3] = {0, 0, 0};
    for (int i = 0; i < count; ++i) {
        const ConvCase cc = generate(&rng);
        SCOPED_TRACE("seed " + std::to_string(seed) + " case " + std::to_string(i) + ": " + cc.describe());
        CudnnDescriptors d(cc);
        dwshim::DepthwiseParams params;
        ASSERT_EQ(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params), 0) << "not routed: the test tests nothing";

        HostTensor x(cc.dtype, d.x_layout.span), filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
        dwtest::fill_random(&x, &rng);
        dwtest::fill_random(&filter, &rng);
        const HostTensor y0 = initial_output(cc, d.y_layout.span, &rng);
        const std::vector<double> expected = dwtest::reference_conv(cc, d.x_layout, x, filter, d.y_layout, y0);

        const uint64_t routed_before = dwshim_decision_count(0);
        const std::vector<double> ours = run(cc, d, x, filter, y0, /*ours=*/true);
        ASSERT_EQ(dwshim_decision_count(0), routed_before + 1) << "the conv was not computed by dwshim";
        ASSERT_EQ(ours.size(), expected.size());
        const double ours_vs_reference = dwtest::relative_error(ours, expected);
        EXPECT_LT(ours_vs_reference, tolerance(cc.dtype));

        const std::vector<double> theirs = run(cc, d, x, filter, y0, /*ours=*/false);
        if (theirs.empty()) {
            ++without_cudnn;
            continue;
        }
        const double ours_vs_cudnn = dwtest::relative_error(ours, theirs);
        const double cudnn_vs_reference = dwtest::relative_error(theirs, expected);
        EXPECT_LT(ours_vs_cudnn, tolerance(cc.dtype) + cudnn_vs_reference);
        const int t = cc.dtype == CUDNN_DATA_FLOAT ? 0 : cc.dtype == CUDNN_DATA_HALF ? 1 : 2;
        worst[t] = std::max(worst[t], ours_vs_reference);
        if (::testing::Test::HasFailure()) return;
    }
    std::printf("%d random configs (seed %u); real cuDNN supported %d of them; worst rel. error vs float64: "
                "f32 %.2e, f16 %.2e, bf16 %.2e\n",
                count, seed, count - without_cudnn, worst[0], worst[1], worst[2]);
}

TEST_F(Fixture, RandomConfigsMatchCudnnAndFloat64) {
    check_random_cases(240, random_case);
}

TEST_F(Fixture, RandomNchwRowsConfigsMatchCudnnAndFloat64) {
    check_random_cases(120, random_nchw_rows_case);
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

TEST_F(Fixture, QueriesReportNoWorkspaceAndEveryAlgorithmForRoutedConvs) {
    const ConvCase cc = small_depthwise();
    CudnnDescriptors d(cc);
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

TEST_F(Fixture, DenseConvolutionIsLeftToCudnn) {
    const ConvCase cc = small_depthwise();
    CudnnDescriptors d(cc);
    ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv, 1), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 6, 3, 3),
              CUDNN_STATUS_SUCCESS);
    size_t ours = 0, theirs = 0;
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(handle_, d.x, d.w, d.conv, d.y, algo, &ours),
              real().workspace(handle_, d.x, d.w, d.conv, d.y, algo, &theirs));
    EXPECT_EQ(ours, theirs);
}

// Runs only under DWSHIM_DISABLE=1 (ctest's gpu_disable).
class EnvDisable : public Fixture {};

TEST_F(EnvDisable, LeavesEveryConvToCudnn) {
    ASSERT_STREQ(std::getenv("DWSHIM_DISABLE"), "1");
    const ConvCase cc = small_depthwise();
    CudnnDescriptors d(cc);
    std::mt19937 rng(test_seed());
    HostTensor x(cc.dtype, d.x_layout.span), filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
    dwtest::fill_random(&x, &rng);
    dwtest::fill_random(&filter, &rng);
    const HostTensor y0 = initial_output(cc, d.y_layout.span, &rng);
    const std::vector<double> through_dwshim = run(cc, d, x, filter, y0, /*ours=*/true);
    const std::vector<double> direct = run(cc, d, x, filter, y0, /*ours=*/false);
    EXPECT_EQ(dwshim_decision_count(0), 0u);
    EXPECT_GT(dwshim_decision_count(static_cast<int>(dwshim::RouteReason::kDisabled)), 0u);
    EXPECT_EQ(through_dwshim, direct);
}

}  // namespace
