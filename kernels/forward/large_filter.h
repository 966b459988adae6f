#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The large-filter path: a filter wider or taller than 7, stride 1, dilation 1, any memory layout, with the
// block's input tile and filter fitting the default 48 KiB of shared memory.
bool large_filter_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_large_filter(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
