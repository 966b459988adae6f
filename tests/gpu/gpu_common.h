// Shared by the GPU tests: the real cuDNN reached around dwshim, random cases, device buffers, and the loop that
// checks random cases through either API against the real cuDNN and a float64 reference.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "reference.h"

namespace dwtest {

// The real cuDNN's own functions, reached around dwshim.
struct RealFunctions {
    decltype(&cudnnConvolutionForward) forward = nullptr;
    decltype(&cudnnGetConvolutionForwardAlgorithm_v7) heuristics = nullptr;
    decltype(&cudnnGetConvolutionForwardWorkspaceSize) workspace = nullptr;
    decltype(&cudnnBackendExecute) backend_execute = nullptr;
    decltype(&cudnnConvolutionBiasActivationForward) bias_activation_forward = nullptr;
    decltype(&cudnnConvolutionBackwardData) backward_data = nullptr;
    decltype(&cudnnGetConvolutionBackwardDataAlgorithm_v7) backward_data_heuristics = nullptr;
    decltype(&cudnnGetConvolutionBackwardDataWorkspaceSize) backward_data_workspace = nullptr;
    decltype(&cudnnConvolutionBackwardFilter) backward_filter = nullptr;
    decltype(&cudnnGetConvolutionBackwardFilterAlgorithm_v7) backward_filter_heuristics = nullptr;
    decltype(&cudnnGetConvolutionBackwardFilterWorkspaceSize) backward_filter_workspace = nullptr;
};
const RealFunctions& real();

// A cuDNN handle on a non-blocking stream of its own, so a kernel launched elsewhere would not be waited for.
class CudnnStreamFixture : public testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    cudnnHandle_t handle_ = nullptr;
    cudaStream_t stream_ = nullptr;
};

double tolerance(cudnnDataType_t dtype);
unsigned test_seed();  // DWSHIM_TEST_SEED, or a fixed default

// Outputs of inputs holding Inf and NaN against float64: each is non-finite exactly where `expected` is (NaN where
// it is NaN, the same infinity where it is infinite) and the finite ones agree within 2e-2 relative. Counts both
// kinds into *non_finite and *finite; fails the test at the first difference (`what` names the case).
void expect_same_non_finite(const std::vector<double>& ours, const std::vector<double>& expected,
                            const std::string& what, int* non_finite, int* finite);

struct DeviceBuffer {
    void* ptr = nullptr;
    explicit DeviceBuffer(size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Copies host data to the device and waits until it has landed. A pageable cudaMemcpy may return before its DMA
// completes, and the tests run their convolutions on a non-blocking stream that does not wait for it: the
// sharded fuzzer (8 processes on one GPU) caught kernels of both dwshim and cuDNN reading half-copied inputs.
void upload(void* device, const void* host, size_t bytes);

ConvCase random_case(std::mt19937* rng);
// Square 3/5/7 filters, stride_h 1 or 2, dil_h = 1, rows contiguous: the NCHW row-streaming path, with planes taller
// than one band and wider than one block of columns.
ConvCase random_nchw_rows_case(std::mt19937* rng);
// Square 3/5/7 filters at stride 1 on many planes (n x c >= 2048) of at most 64 output rows of 17 to 64 columns:
// the NCHW quads kernel's narrow planes, several to a warp.
ConvCase random_nchw_narrow_planes_case(std::mt19937* rng);
// Rows-path cases with stride 1, dil_w = 1, no left padding and W a multiple of 8: the NCHW vector path, with
// rows wider than one warp's segment.
ConvCase random_nchw_vec_case(std::mt19937* rng);
// Channels contiguous, multiplier 1, C a multiple of 8, square 3/5/7 filters, stride 1 or 2: the NHWC
// channel-vector path, with more channels than one block covers, several row bands and column strips.
ConvCase random_nhwc_vec_case(std::mt19937* rng);
// Filters wider or taller than 7 (up to 31), stride 1, any layout, planes larger than one 64 x 64 tile: the
// large-filter path.
ConvCase random_large_filter_case(std::mt19937* rng);
// The same from 13 x 13 (fp16/bf16) or 25 x 25 (fp32) up to 41 columns and 64 rows: the tensor-core large-filter
// paths (fp32 up to 32 columns, 2-byte 40; wider ones on the FMA kernel).
ConvCase random_large_filter_tensor_core_case(std::mt19937* rng);
// A case of one of the fast paths above with x and y one element past an aligned address (legacy API only).
ConvCase random_misaligned_case(std::mt19937* rng);
// The differential fuzzer's cases: every family above mixed, odd channel counts, fused epilogues; misaligned
// pointers for the legacy API, asymmetric padding for the backend API.
ConvCase random_fuzz_legacy_case(std::mt19937* rng);
ConvCase random_fuzz_backend_case(std::mt19937* rng);
int fuzz_configs();  // DWSHIM_FUZZ_CONFIGS, or the quick default
// A random case with a fused bias, activation and (through beta) residual.
ConvCase random_fused_case(std::mt19937* rng);
// An NHWC-vector case with a fused bias and activation, in half precision: graphs cuDNN's fusion engines take.
ConvCase random_fused_graph_case(std::mt19937* rng);

// y before the call: random values when beta reads them, else all-ones bytes (NaN in every storage type).
HostTensor initial_output(const ConvCase& cc, int64_t span, std::mt19937* rng);

// Copies y back and returns its logical elements; fails the test if anything outside them changed.
std::vector<double> read_output(const ConvCase& cc, const TensorLayout& layout, const void* device_y,
                                const HostTensor& y0);

// Runs a case through dwshim (`ours`) or the real cuDNN from host data; returns y's logical elements, or an
// empty vector when the real cuDNN cannot run the case.
// `bias` is null unless cc.bias.
using CaseRunner =
    std::function<std::vector<double>(const ConvCase& cc, const HostTensor& x, const HostTensor& filter,
                                      const HostTensor* bias, const HostTensor& y0, bool ours)>;

// For each generated case: routed, poisoned output fully written, nothing outside y written, within tolerance
// of float64 and of the real cuDNN. `layout_of` gives x's and y's layouts for the reference.
// At least `min_compared` of the cases must also run on the real cuDNN.
void check_random_cases(int count, ConvCase (*generate)(std::mt19937*),
                        const std::function<std::pair<TensorLayout, TensorLayout>(const ConvCase&)>& layout_of,
                        const CaseRunner& run, double min_compared = 0.75);

// One gradient case as host data: x and dy (y-shaped), the filter, and out0, the written tensor's initial
// contents (dx or dw; random where beta reads it, else all-ones bytes, NaN in every storage type).
struct GradientCase {
    ConvCase cc;
    TensorLayout x_layout, y_layout, out_layout;
    HostTensor x, dy, filter, out0;
    explicit GradientCase(const ConvCase& c);
};

// Gradient cases: every shape family above (the forward fast paths serve the data gradient at stride 1), odd
// channel counts a third of the time, beta 0, 1 or 0.5, no epilogue. The legacy variant misaligns x and dy a
// quarter of the time, the backend one pads asymmetrically a third of the time.
ConvCase random_gradient_legacy_case(std::mt19937* rng);
ConvCase random_gradient_backend_case(std::mt19937* rng);
// Channels-innermost 3x3 / 5x5 / 7x7 at stride 1 or 2 (the NHWC gradient kernels), some with channel counts or
// addresses that rule out the wide channel vectors.
ConvCase random_gradient_nhwc_case(std::mt19937* rng);
// Channels-innermost 3x3 / 5x5 / 7x7 at stride 2 with few channels on large images: the stride-2 data gradient's
// blocks each walk several groups of strips.
ConvCase random_gradient_nhwc_s2_many_strips_case(std::mt19937* rng);
// Channels-innermost, 7x7 in any dtype or 5x5 in fp16/bf16, at stride 1 with any padding below the filter size,
// channel counts in 16-byte vectors, output rows mostly of 28 columns or fewer (the NHWC small-plane forward, which
// the data gradient at stride 1 runs on too), beta 0, 1 or 0.5, a fused bias and activation a quarter of the time.
ConvCase random_nhwc_small_planes_case(std::mt19937* rng);
// Channels-innermost fp16/bf16, 5x5 / 7x7 at stride 1 with any padding below the filter size, channel counts
// in 16-byte vectors, output rows mostly of 28 columns or fewer (the NHWC image-tile filter gradient), beta 0, 1 or
// 0.5, addresses one element off a quarter of the time.
ConvCase random_gradient_nhwc_small_images_case(std::mt19937* rng);
// Channels-innermost fp16/bf16, 7x7 at stride 1 with any padding below the filter size, channel counts in
// 16-channel groups, 16-byte aligned, output rows of 28 columns or more, beta 0, 1 or 0.5: the NHWC
// tensor-core forward, which the data gradient at stride 1 runs on too.
ConvCase random_nhwc_mma_case(std::mt19937* rng);
// Rows contiguous (NCHW, padded NCHW), square 3/5/7 at stride 2, padding of "same" parity (the NCHW stride-2 data
// gradient kernel), widths that are not a multiple of 8 and addresses one element off, beta 0, 1 or 0.5.
ConvCase random_gradient_nchw_s2_case(std::mt19937* rng);
// Rows contiguous (NCHW, padded NCHW), the asymmetric filters of the NCHW rows kernels (k x 1 and 1 x k for k = 3,
// 5, 7; 3x7, 7x3) at stride 1, rows narrower and wider than 64 columns, beta 0, 1 or 0.5, addresses one element
// off a quarter of the time.
ConvCase random_gradient_nchw_asymmetric_case(std::mt19937* rng);
// random_nchw_narrow_planes_case with multiplier 1, beta 0, 0.5 or 1 and misaligned pointers a quarter of the time.
ConvCase random_gradient_nchw_narrow_planes_case(std::mt19937* rng);

// Runs a gradient case through dwshim (`ours`) or the real cuDNN; returns the written tensor's logical
// elements, or an empty vector when the real cuDNN cannot run the case.
using GradientRunner = std::function<std::vector<double>(const GradientCase& g, bool ours)>;

// check_random_cases for a gradient direction: routed, poisoned output fully written and nothing beside it,
// within tolerance of float64 and of the real cuDNN.
void check_random_gradient_cases(int count, ConvCase (*generate)(std::mt19937*), dwshim::Direction direction,
                                 const GradientRunner& run, double min_compared = 0.75);

}  // namespace dwtest
