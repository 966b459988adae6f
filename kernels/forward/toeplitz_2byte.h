#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The fp16/bf16 tensor-core forward (forward/toeplitz_tiles.cuh): a filter from 13 x 13 (at most 64 rows and 40
// columns) in any memory layout; stride 1, no dilation, any channel multiplier, on a GPU whose code has mma.sync. Data
// gradients at stride 1 reach it as forwards of dy.
bool toeplitz_2byte_applies(const DepthwiseParams& params);

cudaError_t launch_depthwise_toeplitz_2byte(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
