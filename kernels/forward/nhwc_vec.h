#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The NHWC channel-vector path: channels contiguous in x and y, one filter per channel (multiplier 1), C and
// every pixel stride a multiple of one 16-byte vector, a square filter of an instantiated size, the same stride
// (1 or 2) along both axes, no dilation.
bool nhwc_vec_applies(const DepthwiseParams& params);
// The same, plus what only the pointers can tell: 16-byte alignment.
bool nhwc_vec_aligned(const DepthwiseParams& params);

template <DType D, int K>
cudaError_t launch_depthwise_nhwc_vec(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
