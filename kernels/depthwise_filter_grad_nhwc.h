// The filter gradient's partial sums for channels-innermost data (NHWC): 3x3, 5x5 and 7x7 filters at equal
// strides 1 or 2 without dilation (filter_grad_strip_applies), on a tile kernel (depthwise_filter_grad_nhwc.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "depthwise_params.h"

namespace dwshim {

bool filter_grad_nhwc_tiles_apply(const DepthwiseParams& params);
// The most slices a launch for these sizes can use, whatever the pointers' alignment: the workspace bound.
int64_t filter_grad_nhwc_tiles_max_slices(const DepthwiseParams& params);
// Writes partial[slice][k][tap] for *slices slices; the caller adds them in slice order.
cudaError_t filter_grad_nhwc_tiles(const DepthwiseParams& params, float* partial, int64_t* slices,
                                   cudaStream_t stream);

}  // namespace dwshim
