// The data gradient at stride 2 for channels-innermost data with 16-byte channel vectors (3x3, 5x5, 7x7, no
// dilation, one filter per channel), on a gather kernel that reuses each dy vector across the taps and output
// columns of a strip (data_grad/nhwc_stride2.cu). Stride 1 runs on the forward paths (data_grad_as_forward).
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// Whether the sizes and strides suit the kernel, and whether these tensors' addresses do too.
bool data_grad_nhwc_s2_applies(const DepthwiseParams& params);
bool data_grad_nhwc_s2_aligned(const DepthwiseParams& params);
cudaError_t data_grad_nhwc_s2(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
