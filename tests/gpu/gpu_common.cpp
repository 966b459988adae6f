#include "gpu_common.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim/dwshim.h"

namespace dwtest {

const RealFunctions& real() {
    static const RealFunctions functions = [] {
        RealFunctions f;
        void* handle = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_NOLOAD);
        if (handle == nullptr) handle = dlopen("libcudnn.so.8", RTLD_NOW | RTLD_NOLOAD);
        f.forward = reinterpret_cast<decltype(f.forward)>(dlsym(handle, "cudnnConvolutionForward"));
        f.heuristics =
            reinterpret_cast<decltype(f.heuristics)>(dlsym(handle, "cudnnGetConvolutionForwardAlgorithm_v7"));
        f.workspace =
            reinterpret_cast<decltype(f.workspace)>(dlsym(handle, "cudnnGetConvolutionForwardWorkspaceSize"));
        f.backend_execute = reinterpret_cast<decltype(f.backend_execute)>(dlsym(handle, "cudnnBackendExecute"));
        f.bias_activation_forward = reinterpret_cast<decltype(f.bias_activation_forward)>(
            dlsym(handle, "cudnnConvolutionBiasActivationForward"));
        f.backward_data = reinterpret_cast<decltype(f.backward_data)>(dlsym(handle, "cudnnConvolutionBackwardData"));
        f.backward_data_heuristics = reinterpret_cast<decltype(f.backward_data_heuristics)>(
            dlsym(handle, "cudnnGetConvolutionBackwardDataAlgorithm_v7"));
        f.backward_data_workspace = reinterpret_cast<decltype(f.backward_data_workspace)>(
            dlsym(handle, "cudnnGetConvolutionBackwardDataWorkspaceSize"));
        f.backward_filter =
            reinterpret_cast<decltype(f.backward_filter)>(dlsym(handle, "cudnnConvolutionBackwardFilter"));
        f.backward_filter_heuristics = reinterpret_cast<decltype(f.backward_filter_heuristics)>(
            dlsym(handle, "cudnnGetConvolutionBackwardFilterAlgorithm_v7"));
        f.backward_filter_workspace = reinterpret_cast<decltype(f.backward_filter_workspace)>(
            dlsym(handle, "cudnnGetConvolutionBackwardFilterWorkspaceSize"));
        return f;
    }();
    return functions;
}

void CudnnStreamFixture::SetUp() {
    ASSERT_EQ(cudnnCreate(&handle_), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudnnSetStream(handle_, stream_), CUDNN_STATUS_SUCCESS);
}

void CudnnStreamFixture::TearDown() {
    cudnnDestroy(handle_);
    cudaStreamDestroy(stream_);
}

double tolerance(cudnnDataType_t dtype) {
    return dtype == CUDNN_DATA_FLOAT ? 1e-5 : 1e-2;
}

void expect_same_non_finite(const std::vector<double>& ours, const std::vector<double>& expected,
                            const std::string& what, int* non_finite, int* finite) {
    ASSERT_EQ(ours.size(), expected.size()) << what;
    for (size_t e = 0; e < ours.size(); ++e) {
        if (std::isfinite(expected[e])) {
            ++*finite;
            ASSERT_NEAR(ours[e], expected[e], 2e-2 * (1.0 + std::fabs(expected[e]))) << what << " at " << e;
        } else if (std::isnan(expected[e])) {
            ++*non_finite;
            ASSERT_TRUE(std::isnan(ours[e])) << what << " at " << e << ": " << ours[e];
        } else {
            ++*non_finite;
            ASSERT_EQ(ours[e], expected[e]) << what << " at " << e;
        }
    }
}

unsigned test_seed() {
    const char* seed = std::getenv("DWSHIM_TEST_SEED");
    return seed != nullptr ? static_cast<unsigned>(std::strtoul(seed, nullptr, 10)) : 20261124u;
}

DeviceBuffer::DeviceBuffer(size_t bytes) {
    if (cudaMalloc(&ptr, bytes == 0 ? 1 : bytes) != cudaSuccess) ptr = nullptr;
}

DeviceBuffer::~DeviceBuffer() {
    cudaFree(ptr);
}

void upload(void* device, const void* host, size_t bytes) {
    EXPECT_EQ(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

namespace {

// An output's beta: 0 half the time, else 1 or 0.5.
float random_beta(std::mt19937* rng) {
    const float betas[] = {0.0f, 0.0f, 1.0f, 0.5f};
    return betas[std::uniform_int_distribution<int>(0, 3)(*rng)];
}

}  // namespace

ConvCase random_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    const cudnnDataType_t dtypes[] = {CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16};
    const Layout layouts[] = {Layout::kNCHW, Layout::kNHWC, Layout::kPaddedNCHW};
    const float alphas[] = {1.0f, 0.5f, -2.0f};
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
    cc.beta = random_beta(rng);
    return cc;
}

ConvCase random_nchw_rows_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.layout = pick(0, 1) == 0 ? Layout::kNCHW : Layout::kPaddedNCHW;
    cc.kh = cc.kw = 3 + 2 * pick(0, 2);
    cc.stride_h = pick(1, 2);
    cc.dil_h = 1;
    cc.pad_h = pick(0, cc.kh / 2 + 1);
    cc.pad_w = pick(0, cc.kw / 2 + 1);
    cc.c = pick(1, 8);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 80);
    cc.w = std::max(1, cc.dil_w * (cc.kw - 1) + 1 - 2 * cc.pad_w) + pick(0, 300);
    return cc;
}

ConvCase random_nchw_narrow_planes_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_nchw_rows_case(rng);
    cc.stride_h = cc.stride_w = 1;
    cc.dil_w = 1;
    cc.pad_h = pick(0, cc.kh / 2);
    cc.pad_w = pick(0, cc.kw / 2);
    cc.h = cc.kh - 2 * cc.pad_h + pick(0, 40);
    cc.w = cc.kw - 2 * cc.pad_w + pick(16, 63);  // output rows of 17 to 64 columns
    cc.n = pick(1, 3);
    cc.c = (2048 + cc.n - 1) / cc.n + pick(0, 64);  // n * c * 8 lanes fill the quads kernel's 512 warps
    return cc;
}

ConvCase random_nchw_vec_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_nchw_rows_case(rng);
    cc.layout = Layout::kNCHW;
    cc.stride_h = cc.stride_w = cc.dil_w = 1;
    cc.pad_w = 0;
    cc.w = 8 * pick((cc.kw + 7) / 8, 70);
    return cc;
}

ConvCase random_nhwc_vec_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.layout = Layout::kNHWC;
    cc.multiplier = 1;
    cc.kh = cc.kw = 3 + 2 * pick(0, 2);
    cc.stride_h = cc.stride_w = pick(1, 2);
    cc.dil_h = cc.dil_w = 1;
    cc.pad_h = pick(0, cc.kh / 2 + 1);
    cc.pad_w = pick(0, cc.kw / 2 + 1);
    cc.c = 8 * pick(1, 40);
    cc.n = pick(1, 2);
    // Tall enough for several row bands, wide enough for several column strips per row.
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 90);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 40);
    return cc;
}

ConvCase random_large_filter_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.kh = pick(1, 31);
    cc.kw = pick(8, 31);
    if (pick(0, 1) == 0) std::swap(cc.kh, cc.kw);
    cc.stride_h = cc.stride_w = cc.dil_h = cc.dil_w = 1;
    cc.c = pick(1, 4);
    cc.n = pick(1, 2);
    cc.pad_h = pick(0, cc.kh / 2);
    cc.pad_w = pick(0, cc.kw / 2);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 80);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 80);
    return cc;
}

ConvCase random_large_filter_tensor_core_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_large_filter_case(rng);
    // From the smallest filters the kernels take (13 x 13 in fp16/bf16, 25 x 25 in fp32); a fifth of the time each,
    // the widest they take (five 8-column chunks of B in fp32, three 16-column ones in fp16/bf16) and past it, and
    // the tallest, on smaller planes (the float64 reference's time).
    const int smallest = cc.dtype == CUDNN_DATA_FLOAT ? 25 : 13;
    cc.kh = pick(smallest, 31);
    cc.kw = pick(smallest, 31);
    cc.pad_h = pick(0, cc.kh / 2);
    cc.pad_w = pick(0, cc.kw / 2);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 80);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 80);
    if (pick(0, 4) == 0) {
        cc.kw = pick(26, 41);
        cc.pad_w = pick(0, cc.kw / 2);
        cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 40);
    }
    if (pick(0, 4) == 0) {
        cc.kh = pick(32, 64);
        cc.pad_h = pick(0, cc.kh / 2);
        cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 40);
    }
    return cc;
}

ConvCase random_misaligned_case(std::mt19937* rng) {
    ConvCase (*const fast_paths[])(std::mt19937*) = {random_nchw_rows_case, random_nchw_vec_case,
                                                     random_nhwc_vec_case, random_large_filter_case};
    ConvCase cc = fast_paths[std::uniform_int_distribution<int>(0, 3)(*rng)](rng);
    cc.misalign = 1;
    return cc;
}

namespace {

// Any shape family above, with channel counts that are odd (not a multiple of 8) a third of the time.
ConvCase random_mixed_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase (*const families[])(std::mt19937*) = {random_case,          random_case,
                                                   random_nchw_rows_case, random_nchw_vec_case,
                                                   random_nhwc_vec_case,  random_large_filter_case};
    ConvCase cc = families[pick(0, 5)](rng);
    if (pick(0, 2) == 0) cc.c = 2 * pick(0, 20) + 1;
    return cc;
}

// A mixed case with a fused bias + activation a quarter of the time.
ConvCase random_fuzz_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_mixed_case(rng);
    if (pick(0, 3) == 0) {
        cc.bias = true;
        cc.activation = pick(0, 2);
    }
    return cc;
}

}  // namespace

int fuzz_configs() {
    const char* configured = std::getenv("DWSHIM_FUZZ_CONFIGS");
    return configured != nullptr ? std::atoi(configured) : 300;
}

ConvCase random_fuzz_legacy_case(std::mt19937* rng) {
    ConvCase cc = random_fuzz_case(rng);
    cc.misalign = !cc.bias && std::uniform_int_distribution<int>(0, 3)(*rng) == 0 ? 1 : 0;
    return cc;
}

ConvCase random_fuzz_backend_case(std::mt19937* rng) {
    ConvCase cc = random_fuzz_case(rng);
    cc.post_pad_extra = std::uniform_int_distribution<int>(0, 2)(*rng) == 0 ? 1 : 0;
    return cc;
}

ConvCase random_fused_case(std::mt19937* rng) {
    ConvCase cc = random_case(rng);
    cc.bias = true;
    cc.activation = std::uniform_int_distribution<int>(0, 2)(*rng);
    return cc;
}

ConvCase random_fused_graph_case(std::mt19937* rng) {
    ConvCase cc = random_nhwc_vec_case(rng);
    cc.dtype = std::uniform_int_distribution<int>(0, 1)(*rng) == 0 ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16;
    cc.mode = CUDNN_CROSS_CORRELATION;
    cc.bias = true;
    cc.activation = std::uniform_int_distribution<int>(0, 1)(*rng);
    return cc;
}

HostTensor initial_output(const ConvCase& cc, int64_t span, std::mt19937* rng) {
    HostTensor y0(cc.dtype, span);
    if (cc.beta != 0.0f) {
        fill_random(&y0, rng);
    } else {
        std::memset(y0.bytes.data(), 0xFF, y0.bytes.size());
    }
    return y0;
}

std::vector<double> read_output(const ConvCase& cc, const TensorLayout& layout, const void* device_y,
                                const HostTensor& y0) {
    const size_t elem = dtype_size(cc.dtype);
    HostTensor y(cc.dtype, y0.span());
    EXPECT_EQ(cudaMemcpy(y.bytes.data(), device_y, y.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    std::vector<char> logical(y0.span(), 0);
    std::vector<double> values;
    for (int64_t offset : logical_offsets(layout)) {
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

namespace {

// The outputs furthest from float64, with their (n, k, p, q): what a failing case's reproduction needs.
void print_worst_elements(const TensorLayout& layout, const std::vector<double>& ours,
                          const std::vector<double>& expected, const std::vector<double>& theirs) {
    std::vector<size_t> order(ours.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto gap = [&](size_t i) {
        const double d = std::fabs(ours[i] - expected[i]);
        return d == d ? d : HUGE_VAL;
    };
    const size_t shown = std::min<size_t>(8, order.size());
    std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                      [&](size_t a, size_t b) { return gap(a) > gap(b); });
    const int64_t q = layout.dims[3], p = layout.dims[2], k = layout.dims[1];
    for (size_t j = 0; j < shown; ++j) {
        const int64_t i = static_cast<int64_t>(order[j]);
        std::printf("  y[n=%lld k=%lld p=%lld q=%lld]: dwshim %.6g, float64 %.6g, cuDNN %.6g\n",
                    static_cast<long long>(i / q / p / k), static_cast<long long>(i / q / p % k),
                    static_cast<long long>(i / q % p), static_cast<long long>(i % q), ours[i], expected[i],
                    i < static_cast<int64_t>(theirs.size()) ? theirs[i] : NAN);
    }
}

}  // namespace

void check_random_cases(int count, ConvCase (*generate)(std::mt19937*),
                        const std::function<std::pair<TensorLayout, TensorLayout>(const ConvCase&)>& layout_of,
                        const CaseRunner& run, double min_compared) {
    const unsigned seed = test_seed();
    std::mt19937 rng(seed);
    // DWSHIM_TEST_CASE=i runs only case i of the sequence (to reproduce one failure, e.g. under a sanitizer).
    const char* only = std::getenv("DWSHIM_TEST_CASE");
    const int only_case = only != nullptr ? std::atoi(only) : -1;
    int without_cudnn = 0, cudnn_wrong = 0;
    double worst[3] = {0, 0, 0};
    for (int i = 0; i < count; ++i) {
        const ConvCase cc = generate(&rng);
        SCOPED_TRACE("seed " + std::to_string(seed) + " case " + std::to_string(i) + ": " + cc.describe());
        const auto layouts = layout_of(cc);
        HostTensor x(cc.dtype, layouts.first.span), filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
        fill_random(&x, &rng);
        fill_random(&filter, &rng);
        HostTensor bias(cc.dtype, cc.k());
        fill_random(&bias, &rng);
        const HostTensor* bias_or_null = cc.bias ? &bias : nullptr;
        const HostTensor y0 = initial_output(cc, layouts.second.span, &rng);
        if (only_case >= 0 && i != only_case) {
            ++without_cudnn;
            continue;
        }
        const std::vector<double> expected =
            reference_conv(cc, layouts.first, x, filter, layouts.second, y0, bias_or_null);

        const uint64_t routed_before = dwshim_decision_count(0);
        const std::vector<double> ours = run(cc, x, filter, bias_or_null, y0, /*ours=*/true);
        if (ours.empty()) {  // the real cuDNN built no plan, so there was nothing to call
            ++without_cudnn;
            continue;
        }
        ASSERT_EQ(dwshim_decision_count(0), routed_before + 1) << "the conv was not computed by dwshim";
        ASSERT_EQ(ours.size(), expected.size());
        const double ours_vs_reference = relative_error(ours, expected);
        EXPECT_LT(ours_vs_reference, tolerance(cc.dtype));

        const std::vector<double> theirs = run(cc, x, filter, bias_or_null, y0, /*ours=*/false);
        if (theirs.empty()) {
            ++without_cudnn;
            continue;
        }
        const double ours_vs_cudnn = relative_error(ours, theirs);
        const double cudnn_vs_reference = relative_error(theirs, expected);
        if (!(cudnn_vs_reference < tolerance(cc.dtype))) {
            // The real cuDNN itself is wrong here (float64 decides); ours was checked against float64 above.
            ++cudnn_wrong;
            std::printf("the real cuDNN disagrees with float64 (rel. error %.2e), seed %u case %d: %s\n",
                        cudnn_vs_reference, seed, i, cc.describe().c_str());
        } else {
            EXPECT_LT(ours_vs_cudnn, tolerance(cc.dtype) + cudnn_vs_reference);
        }
        if (::testing::Test::HasFailure()) print_worst_elements(layouts.second, ours, expected, theirs);
        const int t = cc.dtype == CUDNN_DATA_FLOAT ? 0 : cc.dtype == CUDNN_DATA_HALF ? 1 : 2;
        worst[t] = std::max(worst[t], ours_vs_reference);
        if (::testing::Test::HasFailure()) return;
    }
    std::printf("%d random configs (seed %u); compared with the real cuDNN: %d (cuDNN wrong: %d); worst rel. "
                "error vs float64: f32 %.2e, f16 %.2e, bf16 %.2e\n",
                count, seed, count - without_cudnn, cudnn_wrong, worst[0], worst[1], worst[2]);
    if (only_case < 0) {
        EXPECT_GE(count - without_cudnn, count * min_compared) << "too few cases reached the real cuDNN to compare";
    }
}

GradientCase::GradientCase(const ConvCase& c)
    : cc(c),
      x_layout(make_layout(c.layout, c.n, c.c, c.h, c.w)),
      y_layout(make_layout(c.layout, c.n, c.k(), c.p(), c.q())),
      out_layout(c.direction == dwshim::Direction::kFilterGrad ? filter_layout(c) : x_layout),
      x(c.dtype, x_layout.span),
      dy(c.dtype, y_layout.span),
      filter(c.dtype, filter_layout(c).span),
      out0(c.dtype, out_layout.span) {}

namespace {

// The output's beta, then a misaligned start a quarter of the time.
void draw_residual_and_alignment(ConvCase* cc, std::mt19937* rng) {
    cc->beta = random_beta(rng);
    cc->misalign = std::uniform_int_distribution<int>(0, 3)(*rng) == 0 ? 1 : 0;
}

ConvCase random_gradient_case(std::mt19937* rng) {
    ConvCase cc = random_mixed_case(rng);
    cc.beta = random_beta(rng);
    return cc;
}

}  // namespace

ConvCase random_gradient_legacy_case(std::mt19937* rng) {
    ConvCase cc = random_mixed_case(rng);
    draw_residual_and_alignment(&cc, rng);
    return cc;
}

ConvCase random_gradient_backend_case(std::mt19937* rng) {
    ConvCase cc = random_gradient_case(rng);
    cc.post_pad_extra = std::uniform_int_distribution<int>(0, 2)(*rng) == 0 ? 1 : 0;
    return cc;
}

ConvCase random_gradient_nhwc_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_nhwc_vec_case(rng);
    cc.beta = random_beta(rng);
    // Channel counts that take the narrow channel vector (even, not a multiple of 4) or none (odd), and tensors
    // starting one element past an aligned address.
    const int channels = pick(0, 3);
    if (channels == 0) cc.c = 4 * pick(0, 30) + 2;
    if (channels == 1) cc.c = 2 * pick(0, 30) + 1;
    cc.misalign = pick(0, 3) == 0 ? 1 : 0;
    return cc;
}

ConvCase random_gradient_nhwc_s2_many_strips_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_nhwc_vec_case(rng);
    cc.stride_h = cc.stride_w = 2;
    // Several groups of strips a block (a block walks about 10 strips of 4 dx columns a group, and the GPU holds
    // a few hundred blocks): thousands of strips, few channel vectors.
    cc.c = 8 * pick(1, 6);
    cc.n = pick(4, 8);
    cc.h = 100 + pick(0, 20);
    cc.w = 100 + pick(0, 20);
    cc.beta = random_beta(rng);
    return cc;
}

namespace {

// cc on channels-innermost data with one k x k filter per channel at stride 1, no dilation, and any padding below
// the filter size on each axis.
ConvCase with_nhwc_stride1_filter(ConvCase cc, int k, std::mt19937* rng) {
    cc.layout = Layout::kNHWC;
    cc.multiplier = 1;
    cc.kh = cc.kw = k;
    cc.stride_h = cc.stride_w = 1;
    cc.dil_h = cc.dil_w = 1;
    cc.pad_h = std::uniform_int_distribution<int>(0, k - 1)(*rng);
    cc.pad_w = std::uniform_int_distribution<int>(0, k - 1)(*rng);
    return cc;
}

}  // namespace

ConvCase random_nhwc_small_planes_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    // The sizes built: 7 x 7 in every dtype, 5 x 5 in fp16/bf16.
    const bool five = cc.dtype != CUDNN_DATA_FLOAT && pick(0, 1) == 0;
    cc = with_nhwc_stride1_filter(cc, five ? 5 : 7, rng);
    // Whole 16-byte vectors of channels: 16-channel groups and a last one that may be partial.
    cc.c = (cc.dtype == CUDNN_DATA_FLOAT ? 4 : 8) * pick(1, 20);
    cc.n = pick(1, 3);
    // Output rows of 1 to 35 columns (fp16/bf16 past 14 and fp32 past 28 run on the other kernels); planes of one
    // band and of several.
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 60);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 28);
    cc.beta = random_beta(rng);
    if (pick(0, 3) == 0) {
        cc.bias = true;
        cc.activation = pick(0, 2);
    }
    return cc;
}

ConvCase random_gradient_nhwc_small_images_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    // fp16 two times in three: the legacy API lacks bf16 filter-gradient algorithms for many of these shapes.
    cc.dtype = pick(0, 2) == 0 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    const int k = 5 + 2 * pick(0, 1);
    cc = with_nhwc_stride1_filter(cc, k, rng);
    // Whole groups of 32 channels and a last one of fewer 16-byte vectors.
    cc.c = 8 * pick(1, 12);
    cc.n = pick(1, 4);
    // Images of one tile and of several (a tile holds at most 64 output rows, fewer on wider rows); output rows
    // mostly within the kernel's 28 columns, sometimes past them.
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 70);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 30);
    draw_residual_and_alignment(&cc, rng);
    return cc;
}

ConvCase random_nhwc_mma_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.dtype = pick(0, 1) == 0 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    cc = with_nhwc_stride1_filter(cc, 7, rng);
    cc.c = 16 * pick(1, 12);
    cc.n = pick(1, 3);
    // One to three 16-row tiles down; output rows of 28 to 148 columns, one to three 64-column tiles across
    // (widths that leave partial strips).
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 40);
    cc.w = 34 - 2 * cc.pad_w + pick(0, 120);
    cc.beta = random_beta(rng);
    return cc;
}

ConvCase random_gradient_nchw_s2_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    ConvCase cc = random_case(rng);
    cc.layout = pick(0, 1) == 0 ? Layout::kNCHW : Layout::kPaddedNCHW;
    cc.multiplier = 1;
    cc.kh = cc.kw = 3 + 2 * pick(0, 2);
    cc.stride_h = cc.stride_w = 2;
    cc.dil_h = cc.dil_w = 1;
    // "Same" padding, or 2 more (its parity, which the kernel is instantiated for), on each axis.
    cc.pad_h = cc.kh / 2 + 2 * pick(0, 1);
    cc.pad_w = cc.kw / 2 + 2 * pick(0, 1);
    cc.c = pick(1, 12);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 40);
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + pick(0, 70);
    draw_residual_and_alignment(&cc, rng);
    return cc;
}

ConvCase random_gradient_nchw_narrow_planes_case(std::mt19937* rng) {
    ConvCase cc = random_nchw_narrow_planes_case(rng);
    cc.multiplier = 1;
    draw_residual_and_alignment(&cc, rng);
    return cc;
}

ConvCase random_gradient_nchw_asymmetric_case(std::mt19937* rng) {
    auto pick = [rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
    constexpr int kShapes[][2] = {{3, 1}, {1, 3}, {5, 1}, {1, 5}, {7, 1}, {1, 7}, {3, 7}, {7, 3}};
    ConvCase cc = random_case(rng);
    cc.layout = pick(0, 1) == 0 ? Layout::kNCHW : Layout::kPaddedNCHW;
    cc.multiplier = 1;
    const int shape = pick(0, 7);
    cc.kh = kShapes[shape][0];
    cc.kw = kShapes[shape][1];
    cc.stride_h = cc.stride_w = 1;
    cc.dil_h = cc.dil_w = 1;
    cc.pad_h = pick(0, cc.kh / 2);
    cc.pad_w = pick(0, cc.kw / 2);
    cc.n = pick(1, 3);
    cc.c = pick(1, 12);
    cc.h = std::max(1, cc.kh - 2 * cc.pad_h) + pick(0, 40);
    // Rows of 64 columns or fewer share a warp; wider ones take a warp each.
    cc.w = std::max(1, cc.kw - 2 * cc.pad_w) + (pick(0, 1) == 0 ? pick(0, 60) : pick(61, 300));
    draw_residual_and_alignment(&cc, rng);
    return cc;
}

void check_random_gradient_cases(int count, ConvCase (*generate)(std::mt19937*), dwshim::Direction direction,
                                 const GradientRunner& run, double min_compared) {
    const unsigned seed = test_seed();
    std::mt19937 rng(seed);
    const char* only = std::getenv("DWSHIM_TEST_CASE");
    const int only_case = only != nullptr ? std::atoi(only) : -1;
    int without_cudnn = 0, cudnn_wrong = 0;
    double worst[3] = {0, 0, 0};
    for (int i = 0; i < count; ++i) {
        ConvCase cc = generate(&rng);
        cc.direction = direction;
        SCOPED_TRACE("seed " + std::to_string(seed) + " case " + std::to_string(i) + ": " + cc.describe());
        GradientCase g(cc);
        fill_random(&g.x, &rng);
        fill_random(&g.dy, &rng);
        fill_random(&g.filter, &rng);
        g.out0 = initial_output(cc, g.out_layout.span, &rng);
        if (only_case >= 0 && i != only_case) {
            ++without_cudnn;
            continue;
        }
        const std::vector<double> expected =
            direction == dwshim::Direction::kDataGrad
                ? reference_data_grad(cc, g.x_layout, g.out0, g.filter, g.y_layout, g.dy)
                : reference_filter_grad(cc, g.x_layout, g.x, g.out0, g.y_layout, g.dy);
        const uint64_t routed_before = dwshim_decision_count(0);
        const std::vector<double> ours = run(g, /*ours=*/true);
        if (ours.empty()) {
            ++without_cudnn;
            continue;
        }
        ASSERT_EQ(dwshim_decision_count(0), routed_before + 1) << "the gradient was not computed by dwshim";
        ASSERT_EQ(ours.size(), expected.size());
        const double ours_vs_reference = relative_error(ours, expected);
        EXPECT_LT(ours_vs_reference, tolerance(cc.dtype));
        const std::vector<double> theirs = run(g, /*ours=*/false);
        if (theirs.empty()) {
            ++without_cudnn;
        } else {
            const double cudnn_vs_reference = relative_error(theirs, expected);
            if (!(cudnn_vs_reference < tolerance(cc.dtype))) {
                ++cudnn_wrong;  // float64 decides; ours was checked against it above
                std::printf("the real cuDNN disagrees with float64 (rel. error %.2e), seed %u case %d: %s\n",
                            cudnn_vs_reference, seed, i, cc.describe().c_str());
            } else {
                EXPECT_LT(relative_error(ours, theirs), tolerance(cc.dtype) + cudnn_vs_reference);
            }
        }
        const int t = cc.dtype == CUDNN_DATA_FLOAT ? 0 : cc.dtype == CUDNN_DATA_HALF ? 1 : 2;
        worst[t] = std::max(worst[t], ours_vs_reference);
        if (::testing::Test::HasFailure()) return;
    }
    std::printf("%d random configs (%s, seed %u); compared with the real cuDNN: %d (cuDNN wrong: %d); worst rel. "
                "error vs float64: f32 %.2e, f16 %.2e, bf16 %.2e\n",
                count, direction == dwshim::Direction::kDataGrad ? "dgrad" : "wgrad", seed, count - without_cudnn,
                cudnn_wrong, worst[0], worst[1], worst[2]);
    if (only_case < 0) {
        EXPECT_GE(count - without_cudnn, count * min_compared) << "too few cases reached the real cuDNN to compare";
    }
}

}  // namespace dwtest
