#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The kernel depthwise_forward() runs for these sizes and strides when the pointers are 16-byte aligned
// (misaligned data falls back: NCHW vectors to NCHW rows, NHWC vectors to the generic path).
enum class KernelPath { kGeneric, kNchwRows, kNchwVec, kNhwcVec, kLargeFilter };
KernelPath select_path(const DepthwiseParams& params);

// Launches on `stream`; never synchronises or allocates. Requires can_implement(params) (depthwise.h) and a
// forward problem, or a data-gradient problem rewritten as one (data_grad/data_grad.cu).
cudaError_t depthwise_forward(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
