// What the legacy API's entry points of all three directions share: the routing decision from the descriptors,
// the executing call and the checks it adds, the workspace query, and the rewrite of the real library's algorithm
// lists.
#pragma once

#include <cudnn.h>

#include "first_sight.h"
#include "interpose/real_cudnn.h"
#include "kernels/depthwise.h"
#include "legacy_params.h"
#include "report.h"
#include "settings.h"

namespace dwshim {

// cuDNN 9.19 dereferences a null handle in the algorithm queries (SIGSEGV, tests/cpu/test_bad_input.cpp);
// everywhere it checks, it answers a null handle with BAD_PARAM, so dwshim answers that instead of crashing.
constexpr cudnnStatus_t kNullHandleStatus = CUDNN_STATUS_BAD_PARAM;

// The decision every legacy entry of a direction shares. It depends on the descriptors alone (and, on first
// sight of a problem, a measurement kept for the rest of the process: first_sight.h), so the queries and the
// executing call always agree on it. `x_desc` describes x or dx, `y_desc` y or dy, `w_desc` w or dw.
inline RouteReason decide(Direction direction, cudnnHandle_t handle, cudnnTensorDescriptor_t x_desc,
                          cudnnFilterDescriptor_t w_desc, cudnnConvolutionDescriptor_t conv_desc,
                          cudnnTensorDescriptor_t y_desc, DepthwiseParams* params) {
    if (handle == nullptr && !settings().disabled) return RouteReason::kBadArgument;
    const RouteReason reason = route_legacy(direction, x_desc, w_desc, conv_desc, y_desc, params);
    if (!measure_legacy_first_sight(reason, handle, x_desc, w_desc, conv_desc, y_desc, *params)) return reason;
    return route_legacy(direction, x_desc, w_desc, conv_desc, y_desc, params);
}

inline const DepthwiseParams* described(const DepthwiseParams& params) {
    return params.n > 0 ? &params : nullptr;
}

// For an executing call that decide() routed: the data pointers and the algorithm must be valid and the
// handle's stream readable, and the caller's workspace must hold what dwshim needs.
inline RouteReason check_execution(RouteReason reason, cudnnHandle_t handle, bool pointers_valid, bool algo_valid,
                                   const DepthwiseParams& params, const void* workspace, size_t workspace_size,
                                   cudaStream_t* stream) {
    if (reason != RouteReason::kRouted) return reason;
    const RealCudnn& real = real_cudnn();
    if (!pointers_valid || !algo_valid || real.cudnnGetStream == nullptr ||
        real.cudnnGetStream(handle, stream) != CUDNN_STATUS_SUCCESS) {
        return RouteReason::kBadArgument;
    }
    const size_t needed = workspace_bytes(params);
    if (needed > 0 && (workspace == nullptr || workspace_size < needed)) return RouteReason::kWorkspace;
    return RouteReason::kRouted;
}

// Runs a routed call; float, half and bfloat16 data all take float scaling factors.
inline cudnnStatus_t run_routed(DepthwiseParams* params, const void* alpha, const void* beta, void* workspace,
                                cudaStream_t stream) {
    params->alpha = *static_cast<const float*>(alpha);
    params->residual_scale = *static_cast<const float*>(beta);
    return run_depthwise(*params, workspace, stream) == cudaSuccess ? CUDNN_STATUS_SUCCESS
                                                                    : CUDNN_STATUS_EXECUTION_FAILED;
}

inline bool valid_algo(cudnnConvolutionFwdAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
}

inline bool valid_algo(cudnnConvolutionBwdDataAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
}

inline bool valid_algo(cudnnConvolutionBwdFilterAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

// The executing call of each direction (cudnnConvolutionForward, BackwardData, BackwardFilter). `x`, `w` and `y`
// are the call's tensors by their forward roles; the one `direction` computes is written, and with a non-zero
// beta also read as the residual. A call decide() does not route, or one with bad arguments, goes to
// call_real() unchanged.
template <typename Algo, typename CallReal>
cudnnStatus_t execute(const char* api_function, Direction direction, cudnnHandle_t handle, const void* alpha,
                      const void* beta, cudnnTensorDescriptor_t x_desc, const void* x, cudnnFilterDescriptor_t w_desc,
                      const void* w, cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                      const void* y, Algo algo, void* workspace, size_t workspace_size, CallReal call_real) {
    DepthwiseParams params;
    cudaStream_t stream = nullptr;
    const RouteReason reason = check_execution(
        decide(direction, handle, x_desc, w_desc, conv_desc, y_desc, &params), handle,
        alpha != nullptr && beta != nullptr && x != nullptr && w != nullptr && y != nullptr, valid_algo(algo),
        params, workspace, workspace_size, &stream);
    report_decision(api_function, /*executes=*/true, reason, direction, described(params));
    if (reason != RouteReason::kRouted) return call_real();
    // The API's const inputs are only read: each direction writes its output alone.
    params.x = const_cast<void*>(x);
    params.filter = const_cast<void*>(w);
    params.y = const_cast<void*>(y);
    const void* output = direction == Direction::kForward ? y : direction == Direction::kDataGrad ? x : w;
    params.residual = *static_cast<const float*>(beta) != 0.0f ? output : nullptr;
    return run_routed(&params, alpha, beta, workspace, stream);
}

// The workspace query of each direction: dwshim's need for a routed configuration, else the real library's answer.
template <typename Algo, typename CallReal>
cudnnStatus_t workspace_query(const char* api_function, Direction direction, cudnnHandle_t handle,
                              cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                              cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc, Algo algo,
                              size_t* size, CallReal call_real) {
    DepthwiseParams params;
    RouteReason reason = decide(direction, handle, x_desc, w_desc, conv_desc, y_desc, &params);
    if (reason == RouteReason::kRouted && (size == nullptr || !valid_algo(algo))) reason = RouteReason::kBadArgument;
    report_decision(api_function, /*executes=*/false, reason, direction, described(params));
    if (reason != RouteReason::kRouted) return call_real();
    *size = workspace_bytes(params);
    return CUDNN_STATUS_SUCCESS;
}

// Each direction's algorithm queries (Get..._v7, Find..., Find...Ex): the real library's answer (call_real()),
// rewritten for a routed configuration: every algorithm works through dwshim's kernel, deterministically, with
// dwshim's workspace.
template <typename Perf, typename CallReal>
cudnnStatus_t algo_query(const char* api_function, Direction direction, cudnnHandle_t handle,
                         cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                         cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc, const int* returned,
                         Perf* results, CallReal call_real) {
    if (handle == nullptr) return kNullHandleStatus;
    const cudnnStatus_t status = call_real();
    if (status != CUDNN_STATUS_SUCCESS || returned == nullptr || results == nullptr) return status;
    DepthwiseParams params;
    const RouteReason reason = decide(direction, handle, x_desc, w_desc, conv_desc, y_desc, &params);
    report_decision(api_function, /*executes=*/false, reason, direction, described(params));
    if (reason != RouteReason::kRouted) return status;
    for (int i = 0; i < *returned; ++i) {
        results[i].status = CUDNN_STATUS_SUCCESS;
        results[i].memory = workspace_bytes(params);
        results[i].determinism = CUDNN_DETERMINISTIC;
    }
    return status;
}

}  // namespace dwshim
