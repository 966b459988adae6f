// One plain description of a depthwise 2-D convolution problem in one of its three directions, filled from either
// cuDNN API (or the C entry points) and handed to kernel dispatch. Kernel code knows nothing about cuDNN.
#pragma once

#include <cstdint>

namespace dwshim {

enum class DType : int { kFloat = 0, kHalf = 1, kBFloat16 = 2 };

enum class Activation : int { kIdentity = 0, kRelu = 1, kClippedRelu = 2 };

// What is computed. Sizes and strides are always named by their forward roles (x, filter, y); a direction
// writes one of the three tensors and reads the other two:
//   kForward     y      = conv(x, filter)
//   kDataGrad    x (dx) = conv_transpose(y (dy), filter)
//   kFilterGrad  filter (dw)[k][r][s] = sum over n, p, q of y (dy)[n][k][p][q] * x[n][k / multiplier][...]
enum class Direction : int { kForward = 0, kDataGrad = 1, kFilterGrad = 2 };

// Index of each dimension in the stride arrays.
enum Dim : int { kN = 0, kC = 1, kH = 2, kW = 3 };

struct DepthwiseParams {
    Direction direction = Direction::kForward;
    DType dtype = DType::kFloat;  // x, w, y and bias share it; arithmetic is fp32

    int64_t n = 0, c = 0, h = 0, w = 0;  // input
    int64_t k = 0, p = 0, q = 0;         // output channels, height, width
    int64_t r = 0, s = 0;                // filter height, width
    int64_t multiplier = 1;              // k == c * multiplier; output channel j reads input channel j / multiplier

    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_h = 0, pad_w = 0;  // leading padding; trailing padding follows from the output size
    int64_t dil_h = 1, dil_w = 1;
    bool flip = false;  // true for true convolution (filter rotated by 180 degrees), false for cross-correlation

    int64_t x_stride[4] = {};  // in elements, indexed by Dim
    int64_t y_stride[4] = {};  // in elements, indexed by Dim; the filter is packed [k][r][s]

    // The tensor `direction` computes is written; the others are only read.
    void* x = nullptr;
    void* filter = nullptr;
    const void* bias = nullptr;      // [k] or null; forward only
    const void* residual = nullptr;  // the written tensor's sizes and strides (it may be that tensor), or null
    void* y = nullptr;

    // Forward: y = act(alpha * conv(x) + residual_scale * residual + bias). Gradients (no bias or activation):
    // out = alpha * gradient + residual_scale * residual, cuDNN's alpha and beta. A null residual is never read.
    float alpha = 1.0f;
    float residual_scale = 0.0f;
    Activation activation = Activation::kIdentity;
    float clip = 0.0f;           // upper bound of kClippedRelu
    bool propagate_nan = false;  // whether a NaN passes through the activation
};

// Output extent of one spatial dimension: the number of filter placements, 0 when none fits.
inline int64_t conv_output_size(int64_t in, int64_t pad_before, int64_t pad_after, int64_t filter, int64_t dilation,
                                int64_t stride) {
    const int64_t span = in + pad_before + pad_after - dilation * (filter - 1) - 1;
    return span < 0 || stride < 1 ? 0 : span / stride + 1;
}

}  // namespace dwshim
