#pragma once

#include <cuda_runtime_api.h>

#include "depthwise_params.h"

namespace dwshim {

// The NCHW row-streaming path: rows contiguous in x and y (w stride 1), stride_h == dil_h == 1, a square
// filter of a size with an instantiation (see kNchwRowsFilterSizes).
bool nchw_rows_applies(const DepthwiseParams& params);

template <DType D, int K>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
