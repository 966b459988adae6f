// Problems the CPU routing tests ask dwshim's router about, and the decisions it makes for them.
#pragma once

#include <cudnn.h>

#include <cstdint>

#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/conv_case.h"

// A KernelBench-84-like problem (NCHW, 3x3, no padding), small enough for CPU tests.
inline dwtest::ConvCase kb84_like(cudnnDataType_t dtype) {
    dwtest::ConvCase cc;
    cc.dtype = dtype;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 32;
    return cc;
}

// The legacy API's decision for the case's descriptors, in its direction.
inline dwshim::RouteReason legacy(const dwtest::ConvCase& cc) {
    dwtest::CudnnDescriptors d(cc);
    dwshim::DepthwiseParams p;
    p.direction = cc.direction;
    return static_cast<dwshim::RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &p));
}

// A square depthwise layer as PyTorch's own NCHW kernels see it ("same" padding, packed tensors), and the decision
// dwshim's *_if_faster entry points (the C++ hook's) make for it, with the params they read.

struct TorchNativeCase {
    const char* what;
    dwshim::Direction direction;
    cudnnDataType_t dtype;
    int64_t n, c, h, w, k, stride, dilation, multiplier;
    dwshim::RouteReason expected;
};

inline dwshim::RouteReason torch_native(const TorchNativeCase& t, dwshim::DepthwiseParams* params) {
    const int64_t pad = t.dilation * (t.k - 1) / 2;
    const int64_t span = t.dilation * (t.k - 1) + 1;
    const int64_t p = (t.h + 2 * pad - span) / t.stride + 1, q = (t.w + 2 * pad - span) / t.stride + 1;
    const int64_t k = t.c * t.multiplier;
    const int64_t x_sizes[4] = {t.n, t.c, t.h, t.w}, x_strides[4] = {t.c * t.h * t.w, t.h * t.w, t.w, 1};
    const int64_t y_sizes[4] = {t.n, k, p, q}, y_strides[4] = {k * p * q, p * q, q, 1};
    const int64_t geometry[8] = {t.k, t.k, t.stride, t.stride, pad, pad, t.dilation, t.dilation};
    const int dtype = t.dtype == CUDNN_DATA_FLOAT ? DWSHIM_FLOAT : DWSHIM_BFLOAT16;
    params->direction = t.direction;
    return static_cast<dwshim::RouteReason>(
        dwshim_route_sizes(2, dtype, x_sizes, x_strides, geometry, y_sizes, y_strides, params));
}

inline dwshim::RouteReason torch_native(const TorchNativeCase& t) {
    dwshim::DepthwiseParams params;
    return torch_native(t, &params);
}
