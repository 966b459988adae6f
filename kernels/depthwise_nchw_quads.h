#pragma once

#include <cuda_runtime_api.h>

#include "depthwise_params.h"

namespace dwshim {

// The NCHW quads path (a part of the rows path): rows contiguous in x and y, stride and dilation 1, a square 3x3,
// 5x5 or 7x7 filter with pad_w below its width, and rows of 96 output columns or more.
bool nchw_quads_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_nchw_quads(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
