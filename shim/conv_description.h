// What either cuDNN API says about a 2-D convolution, before any routing rule is applied. The legacy and the
// backend API differ only in how they fill it; params_from_description() is the one place that decides.
#pragma once

#include <cudnn.h>

#include <cstdint>

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

struct ConvDescription {
    cudnnDataType_t x_type, w_type, y_type, compute_type;
    int64_t x_dims[4], x_strides[4];  // n, c, h, w
    int64_t w_dims[4];                // k, c / groups, r, s; packed
    int64_t y_dims[4], y_strides[4];  // n, k, p, q
    int64_t pad_before[2], pad_after[2], stride[2], dilation[2];
    int64_t groups;
    bool flip;  // true convolution rather than cross-correlation
};

// The storage type for a cuDNN data type dwshim computes in; false for the rest.
bool to_dtype(cudnnDataType_t data, DType* dtype);

// Fills everything in `params` but the pointers and alpha/beta, and says whether dwshim takes the call.
RouteReason params_from_description(const ConvDescription& conv, DepthwiseParams* params);

}  // namespace dwshim
