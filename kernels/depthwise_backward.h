// Dispatch of the two gradient directions (see depthwise.h for the entry point every caller uses).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "depthwise_params.h"

namespace dwshim {

// dx = alpha * conv_transpose(dy, filter) + residual_scale * residual.
// With stride 1 and multiplier 1 that is the forward problem *forward (the forward paths compute it); false
// where it is not one (the data gradient's generic kernel computes it).
bool data_grad_as_forward(const DepthwiseParams& params, DepthwiseParams* forward);
// False where the generic kernel's 32-bit coordinates would overflow (can_implement() says no).
bool data_grad_fits(const DepthwiseParams& params);
cudaError_t depthwise_data_grad(const DepthwiseParams& params, cudaStream_t stream);

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
