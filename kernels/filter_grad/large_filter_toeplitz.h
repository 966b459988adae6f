// The filter gradient's partial sums at stride 1 on tensor cores, through Toeplitz matrices of dy
// (filter_grad/large_filter_toeplitz.cu): the large-filter kernel's tiles and slices.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"
#include "kernels/filter_grad/large_filter_tiles.h"

namespace dwshim {

// Whether it takes the problem: fp16/bf16, stride 1, no dilation, rows contiguous in x and dy, a filter from
// 13 x 13 to 32 x 32, on a GPU whose code has mma.sync.
bool filter_grad_toeplitz_applies(const DepthwiseParams& params);
// Writes partial[slice][k][tap] for *slices slices; the caller adds them in slice order.
cudaError_t filter_grad_toeplitz(const DepthwiseParams& params, float* partial, int64_t* slices, cudaStream_t stream);

}  // namespace dwshim
