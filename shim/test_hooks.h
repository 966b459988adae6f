// Exported for dwshim's own tests and tools: internal types cross this boundary, so it is not part of dwshim.h.
#pragma once

#include <cudnn.h>

#include "kernels/depthwise_params.h"

// The legacy routing decision (a RouteReason) for these descriptors in the direction params->direction names
// (kForward for default-constructed params), and the params it read.
extern "C" int dwshim_route_legacy(cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                                   cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                                   dwshim::DepthwiseParams* params);

// The backend routing decision a plan built on this finalized operation graph would get, and its params (their
// direction is the graph's operation's).
extern "C" int dwshim_route_backend_graph(cudnnBackendDescriptor_t graph, dwshim::DepthwiseParams* params);

// The decision a call through `api` (0 legacy, 1 backend, 2 PyTorch's own kernel, as the *_if_faster entry points
// make it) would get for these sizes in the direction params->direction names, without launching anything; dtype
// and arrays as in dwshim.h. The legacy API's own decision reads descriptors (dwshim_route_legacy).
extern "C" int dwshim_route_sizes(int api, int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                  const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4],
                                  dwshim::DepthwiseParams* params);

// Records in the tuning cache (tuned_routes.h) that dwshim took dwshim_ms where the path it replaces through
// `api` (0 legacy, 1 backend, 2 PyTorch's own kernel) took replaced_ms, for the problem `params` describes, on
// the current device: 1 when written, else 0 (see record_tuned_route). The bench harness's --tune mode calls it.
extern "C" int dwshim_tune_record(int api, const dwshim::DepthwiseParams* params, double dwshim_ms,
                                  double replaced_ms);
