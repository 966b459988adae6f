#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The NCHW quads path (a part of the rows path): rows contiguous in x and y, stride and dilation 1, a square 3x3,
// 5x5 or 7x7 filter with pad_w below its width, on rows of 128 or 256+ output columns, or on planes of 17-64
// columns and at most 64 rows where there are enough of them to fill the GPU.
bool nchw_quads_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_nchw_quads(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
