#pragma once

#include <cuda_runtime_api.h>

#include "depthwise_params.h"

namespace dwshim {

// The NCHW row-streaming path: rows contiguous in x and y (w stride 1), stride_h 1 or 2, dil_h 1, a square
// 3x3, 5x5 or 7x7 filter.
bool nchw_rows_applies(const DepthwiseParams& params);

template <DType D, int K>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
