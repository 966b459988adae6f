// Dispatch of the filter gradient (see depthwise.h for the entry point every caller uses).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/depthwise_params.h"

namespace dwshim {

// dw = alpha * sum over n, p, q (dy * x) + residual_scale * residual, in a fixed order: bitwise reproducible.
// 3x3, 5x5 and 7x7 filters at equal strides 1 or 2 without dilation run on the fast kernels (NHWC tiles, NCHW
// strips); the rest runs on the generic one.
bool filter_grad_strip_applies(const DepthwiseParams& params);
// Filters larger than 7 at stride 1: the large-filter kernel, on the tensors where their rows are contiguous, else
// on packed NCHW copies of x and dy in the workspace.
bool filter_grad_large_filter_applies(const DepthwiseParams& params);
size_t filter_grad_workspace_bytes(const DepthwiseParams& params);
cudaError_t depthwise_filter_grad(const DepthwiseParams& params, void* workspace, cudaStream_t stream);

}  // namespace dwshim
