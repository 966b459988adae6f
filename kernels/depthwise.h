// The kernels' one entry point for all three directions: what can be computed, how much workspace it needs, and
// the launch. Each direction's dispatch lives in its own file: forward/forward.cu, data_grad/data_grad.cu,
// filter_grad/filter_grad.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/depthwise_params.h"

namespace dwshim {

// True when run_depthwise() computes `params` exactly; otherwise false and *why says what is missing.
// Looks at sizes and strides only, never at pointers, so a caller can decide before it has any data.
bool can_implement(const DepthwiseParams& params, const char** why);

// Device workspace run_depthwise() needs for `params` (0 for the forward and the data gradient). A function of
// the sizes alone, so a query made before the call gives the same answer.
size_t workspace_bytes(const DepthwiseParams& params);

// Launches on `stream`; never synchronises or allocates. Requires can_implement(params) and, where
// workspace_bytes(params) > 0, that many bytes at `workspace` (16-byte aligned) for the call's duration.
cudaError_t run_depthwise(const DepthwiseParams& params, void* workspace, cudaStream_t stream);

}  // namespace dwshim
