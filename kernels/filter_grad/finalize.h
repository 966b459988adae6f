// The filter gradient's second launch: adds the partial sums partial[slice][k][tap] that the first one wrote, in a
// fixed order, and applies alpha, the residual (beta) and the filter's dtype (filter_grad/finalize.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

// Launches on `stream`; `slices` slices of params.k * r * s fp32 sums at `partial`.
cudaError_t filter_grad_finalize(const DepthwiseParams& params, int64_t slices, const float* partial,
                                 cudaStream_t stream);

}  // namespace dwshim
