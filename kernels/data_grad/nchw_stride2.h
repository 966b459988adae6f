// The data gradient at stride 2 for data whose rows are contiguous (NCHW; 3x3, 5x5, 7x7, no dilation, one filter
// per channel), on a gather kernel that keeps each thread's dy window in registers (data_grad/nchw_stride2.cu).
// Stride 1 runs on the forward paths (data_grad_as_forward), channels-innermost data on the NHWC strip kernel.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// Whether the sizes and strides suit the kernel; any addresses do (it stores vectors only where aligned).
bool data_grad_nchw_s2_applies(const DepthwiseParams& params);
cudaError_t data_grad_nchw_s2(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
