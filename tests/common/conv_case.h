// A depthwise convolution case and the real cuDNN descriptors that describe it, shared by tests and benchmarks.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/depthwise_params.h"

#define CHECK_CUDNN(call)                                                                              \
    do {                                                                                               \
        const cudnnStatus_t status_ = (call);                                                          \
        if (status_ != CUDNN_STATUS_SUCCESS) {                                                         \
            std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call,                       \
                         cudnnGetErrorString(status_));                                                \
            std::abort();                                                                              \
        }                                                                                              \
    } while (0)

namespace dwtest {

enum class Layout { kNCHW, kNHWC, kPaddedNCHW };  // padded: each row of x and y has spare elements

struct ConvCase {
    // What is computed: y from x (forward), dx from dy (data gradient) or dw from x and dy (filter gradient).
    // Sizes are named by the forward roles in every direction; alpha and beta scale the written tensor.
    dwshim::Direction direction = dwshim::Direction::kForward;
    cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
    Layout layout = Layout::kNCHW;
    int n = 1, c = 1, h = 1, w = 1;
    int multiplier = 1;
    int kh = 3, kw = 3;
    int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    float alpha = 1.0f, beta = 0.0f;
    // Fused epilogue (cudnnConvolutionBiasActivationForward, backend pointwise ops): y = act(alpha * conv +
    // beta * z + bias), with z the residual input.
    bool bias = false;
    int activation = 0;  // 0 identity, 1 ReLU, 2 ReLU clipped at `clip`
    float clip = 0.75f;
    // x and y start this many elements past a 256-byte aligned allocation (legacy API tests), so kernels that
    // need 16-byte aligned vectors must fall back.
    int misalign = 0;
    // Extra trailing padding on both spatial dimensions (backend API only: the legacy API pads symmetrically).
    int post_pad_extra = 0;

    int k() const { return c * multiplier; }
    int p() const { return (h + 2 * pad_h + post_pad_extra - dil_h * (kh - 1) - 1) / stride_h + 1; }
    int q() const { return (w + 2 * pad_w + post_pad_extra - dil_w * (kw - 1) - 1) / stride_w + 1; }
    std::string describe() const;
};

// Strides in elements (n, c, h, w) and the element count of the allocation for a tensor of these sizes.
struct TensorLayout {
    int dims[4];
    int strides[4];
    int64_t span;  // elements to allocate
};
TensorLayout make_layout(Layout layout, int n, int c, int h, int w);
// The packed depthwise filter [k][1][kh][kw].
TensorLayout filter_layout(const ConvCase& cc);

const char* dtype_name(cudnnDataType_t dtype);
size_t dtype_size(cudnnDataType_t dtype);

// A row of a cases file in bench/suite.csv's format (name, N, C, H, W, kh, kw, stride_h, stride_w, pad_h, pad_w,
// dil_h, dil_w, multiplier, note; '#' starts a comment): the geometry, forward fp32 NCHW until the caller says.
struct NamedCase {
    std::string name;
    ConvCase cc;
};
std::vector<NamedCase> read_cases_file(const std::string& path);

// Owns the four descriptors of a case.
class CudnnDescriptors {
public:
    explicit CudnnDescriptors(const ConvCase& cc);
    ~CudnnDescriptors();
    CudnnDescriptors(const CudnnDescriptors&) = delete;
    CudnnDescriptors& operator=(const CudnnDescriptors&) = delete;

    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    TensorLayout x_layout{}, y_layout{};
};

}  // namespace dwtest
