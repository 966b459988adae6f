#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The tensor-core path's shapes: channels-innermost fp16/bf16 at 7 x 7, stride 1, no dilation, one filter per
// channel, output rows of 28 columns or more, C a multiple of 16 and every pixel stride of 8. Data gradients at
// stride 1 reach it as forwards of dy.
bool nhwc_mma_shape_applies(const DepthwiseParams& params);
// The same, plus what the pointers and the device tell: x and y 16-byte aligned, and code for this GPU with
// mma.sync (compute capability 8.0 on).
bool nhwc_mma_applies(const DepthwiseParams& params);

cudaError_t launch_depthwise_nhwc_mma(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
