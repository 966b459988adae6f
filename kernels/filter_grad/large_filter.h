// The filter gradient's partial sums for large filters (wider or taller than 7) at stride 1, on row-contiguous
// tensors (NCHW and its padded forms), where the staged tiles fit 48 KiB of shared memory
// (filter_grad/large_filter.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

bool filter_grad_large_applies(const DepthwiseParams& params);
// The slices filter_grad_large writes: a function of the sizes alone, for the workspace query.
int64_t filter_grad_large_slices(const DepthwiseParams& params);
// Writes partial[slice][k][tap] for *slices slices; the caller adds them in slice order.
cudaError_t filter_grad_large(const DepthwiseParams& params, float* partial, int64_t* slices, cudaStream_t stream);

}  // namespace dwshim
