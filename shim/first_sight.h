// Routing measured on first sight (DWSHIM_TUNE=measure, and by default on GPUs the static rules were not measured
// on; settings.h). The first time a process decides about a problem that the tuning cache (tuned_routes.h) holds
// no measurement of for this device, dwshim times its kernel against the path it would replace, on scratch
// tensors, and keeps both times in the cache (file and memory); that decision then holds for every later call.
//
// Measured at the first decision, whether a query or an executing call, never later: a legacy caller sizes its
// workspace from dwshim's answer to a query, so a problem's decision may not change between a query and the call
// (legacy_entry.h), and a backend plan's workspace size is read after the plan is finalized. Measured only where
// that is safe: the handle's stream not capturing a CUDA graph, no CUDA error pending, the scratch tensors within a
// quarter of the free device memory. Anywhere else the static rules decide, for that problem, for the whole
// process. The user's tensors are never read or written. The cost, once per problem and GPU: a stream
// synchronisation and four runs of each path.
#pragma once

#include <cudnn.h>

#include "backend_trace.h"
#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

// Legacy API, any direction (params->direction): the replaced path is the fastest of the first three algorithms
// cuDNN's heuristics rank for these descriptors (a caller runs the first, or with Find the fastest). `reason` is
// the decision so far. True when the problem has a measurement now: the caller decides again.
bool measure_legacy_first_sight(RouteReason reason, cudnnHandle_t handle, cudnnTensorDescriptor_t x_desc,
                                cudnnFilterDescriptor_t w_desc, cudnnConvolutionDescriptor_t conv_desc,
                                cudnnTensorDescriptor_t y_desc, const DepthwiseParams& params);

// Backend API: the replaced path is the plan the caller finalized, executed on a variant pack of scratch tensors.
// Plans with a fused epilogue keep the static rules. True when the problem has a measurement now.
bool measure_backend_first_sight(cudnnHandle_t handle, cudnnBackendDescriptor_t plan, const backend::PlanRoute& route);

}  // namespace dwshim
