#pragma once

#include <cuda_runtime_api.h>

#include "depthwise_params.h"

namespace dwshim {

// True when depthwise_forward() computes `params` exactly; otherwise false and *why says what is missing.
// Looks at sizes and strides only, never at pointers, so a caller can decide before it has any data.
bool can_implement(const DepthwiseParams& params, const char** why);

// The kernel depthwise_forward() runs for these sizes and strides when the pointers are 16-byte aligned
// (misaligned data falls back: NCHW vectors to NCHW rows, NHWC vectors to the generic path).
enum class KernelPath { kGeneric, kNchwRows, kNchwVec, kNhwcVec, kLargeFilter };
KernelPath select_path(const DepthwiseParams& params);

// Launches on `stream`; never synchronises or allocates. Requires can_implement(params).
cudaError_t depthwise_forward(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
