#pragma once

#include <cuda_runtime_api.h>

#include "depthwise_params.h"

namespace dwshim {

// The NCHW row-streaming path: rows contiguous in x and y (w stride 1), stride_h 1 or 2, dil_h 1, and a filter
// of an instantiated shape: 3x3, 5x5, 7x7, k x 1 and 1 x k (k = 3, 5, 7), 3x7 and 7x3.
bool nchw_rows_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
