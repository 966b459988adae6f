#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>

#include "kernels/depthwise_params.h"

namespace dwshim {

template <DType D>
cudaError_t launch_depthwise_generic(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
