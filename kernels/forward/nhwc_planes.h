#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The small-plane NHWC path: the channel-vector path's shapes (nhwc_vec_applies) at stride 1, 7 x 7 with output
// rows of 1 to 28 columns in fp32 and to 14 in fp16/bf16, and 5 x 5 in fp16/bf16 on rows of 1 to 14. Data gradients
// at stride 1 reach it as forwards of dy.
bool nhwc_planes_shape_applies(const DepthwiseParams& params);
// The same, plus what only the pointers can tell: 16-byte alignment.
bool nhwc_planes_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_nhwc_planes(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
