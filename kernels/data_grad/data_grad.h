// Dispatch of the data gradient (see depthwise.h for the entry point every caller uses).
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// dx = alpha * conv_transpose(dy, filter) + residual_scale * residual.
// With stride 1 and multiplier 1 that is the forward problem *forward (the forward paths compute it); false
// where it is not one (the data gradient's generic kernel computes it).
bool data_grad_as_forward(const DepthwiseParams& params, DepthwiseParams* forward);
// False where the generic kernel's 32-bit coordinates would overflow (can_implement() says no).
bool data_grad_fits(const DepthwiseParams& params);
cudaError_t depthwise_data_grad(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
