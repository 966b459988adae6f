// The legacy convolution API: cudnnConvolutionForward and the queries callers make before it. A routed
// configuration runs our kernel whatever algorithm the caller picked, and needs no workspace.
#include <cudnn.h>

#include "interpose/export.h"
#include "interpose/real_cudnn.h"
#include "kernels/depthwise_forward.h"
#include "legacy_params.h"
#include "report.h"
#include "settings.h"

namespace dwshim {
namespace {

// The decision every legacy entry shares. It depends on the descriptors alone, so the queries and the forward
// call always agree on it.
RouteReason decide(cudnnHandle_t handle, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                   cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc, DepthwiseParams* params) {
    if (handle == nullptr && !settings().disabled) return RouteReason::kBadArgument;
    return route_legacy(x_desc, w_desc, conv_desc, y_desc, params);
}

bool valid_algo(cudnnConvolutionFwdAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
}

const DepthwiseParams* described(const DepthwiseParams& params) {
    return params.n > 0 ? &params : nullptr;
}

// Every algorithm works through our kernel, deterministically and without workspace.
void claim_results(cudnnConvolutionFwdAlgoPerf_t* results, int count) {
    for (int i = 0; i < count; ++i) {
        results[i].status = CUDNN_STATUS_SUCCESS;
        results[i].memory = 0;
        results[i].determinism = CUDNN_DETERMINISTIC;
    }
}

// After the real query succeeded, rewrites its results for a routed configuration.
cudnnStatus_t adjust_algo_results(const char* api_function, cudnnStatus_t status, cudnnHandle_t handle,
                                  cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                                  cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                                  const int* returned, cudnnConvolutionFwdAlgoPerf_t* results) {
    if (status != CUDNN_STATUS_SUCCESS || returned == nullptr || results == nullptr) return status;
    DepthwiseParams params;
    const RouteReason reason = decide(handle, x_desc, w_desc, conv_desc, y_desc, &params);
    report_decision(api_function, /*executes=*/false, reason, described(params));
    if (reason == RouteReason::kRouted) claim_results(results, *returned);
    return status;
}

}  // namespace
}  // namespace dwshim

using dwshim::real_cudnn;
using dwshim::RouteReason;

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha,
                                                    const cudnnTensorDescriptor_t xDesc, const void* x,
                                                    const cudnnFilterDescriptor_t wDesc, const void* w,
                                                    const cudnnConvolutionDescriptor_t convDesc,
                                                    cudnnConvolutionFwdAlgo_t algo, void* workSpace,
                                                    size_t workSpaceSizeInBytes, const void* beta,
                                                    const cudnnTensorDescriptor_t yDesc, void* y) {
    const dwshim::RealCudnn& real = real_cudnn();
    dwshim::DepthwiseParams params;
    RouteReason reason = dwshim::decide(handle, xDesc, wDesc, convDesc, yDesc, &params);
    cudaStream_t stream = nullptr;
    if (reason == RouteReason::kRouted &&
        (alpha == nullptr || beta == nullptr || x == nullptr || w == nullptr || y == nullptr ||
         !dwshim::valid_algo(algo) || real.cudnnGetStream == nullptr ||
         real.cudnnGetStream(handle, &stream) != CUDNN_STATUS_SUCCESS)) {
        reason = RouteReason::kBadArgument;
    }
    dwshim::report_decision("cudnnConvolutionForward", /*executes=*/true, reason, dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real.cudnnConvolutionForward, handle, alpha, xDesc, x, wDesc, w, convDesc, algo,
                                 workSpace, workSpaceSizeInBytes, beta, yDesc, y);
    }
    // Float, half and bfloat16 data all take float scaling factors.
    params.alpha = *static_cast<const float*>(alpha);
    params.residual_scale = *static_cast<const float*>(beta);
    params.x = x;
    params.filter = w;
    params.y = y;
    params.residual = params.residual_scale != 0.0f ? y : nullptr;
    return dwshim::depthwise_forward(params, stream) == cudaSuccess ? CUDNN_STATUS_SUCCESS
                                                                    : CUDNN_STATUS_EXECUTION_FAILED;
}

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBiasActivationForward(
    cudnnHandle_t handle, const void* alpha1, const cudnnTensorDescriptor_t xDesc, const void* x,
    const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc,
    cudnnConvolutionFwdAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes, const void* alpha2,
    const cudnnTensorDescriptor_t zDesc, const void* z, const cudnnTensorDescriptor_t biasDesc, const void* bias,
    const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t yDesc, void* y) {
    const dwshim::RealCudnn& real = real_cudnn();
    dwshim::DepthwiseParams params;
    RouteReason reason = dwshim::decide(handle, xDesc, wDesc, convDesc, yDesc, &params);
    cudaStream_t stream = nullptr;
    if (reason == RouteReason::kRouted &&
        (alpha1 == nullptr || alpha2 == nullptr || x == nullptr || w == nullptr || y == nullptr || z == nullptr ||
         bias == nullptr || !dwshim::valid_algo(algo) || real.cudnnGetStream == nullptr ||
         real.cudnnGetStream(handle, &stream) != CUDNN_STATUS_SUCCESS)) {
        reason = RouteReason::kBadArgument;
    }
    if (reason == RouteReason::kRouted) {
        reason = dwshim::epilogue_from_legacy(real, zDesc, biasDesc, activationDesc, &params);
    }
    dwshim::report_decision("cudnnConvolutionBiasActivationForward", /*executes=*/true, reason,
                            dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real.cudnnConvolutionBiasActivationForward, handle, alpha1, xDesc, x, wDesc, w,
                                 convDesc, algo, workSpace, workSpaceSizeInBytes, alpha2, zDesc, z, biasDesc, bias,
                                 activationDesc, yDesc, y);
    }
    params.alpha = *static_cast<const float*>(alpha1);
    params.residual_scale = *static_cast<const float*>(alpha2);
    params.residual = params.residual_scale != 0.0f ? z : nullptr;
    params.bias = bias;
    params.x = x;
    params.filter = w;
    params.y = y;
    return dwshim::depthwise_forward(params, stream) == cudaSuccess ? CUDNN_STATUS_SUCCESS
                                                                    : CUDNN_STATUS_EXECUTION_FAILED;
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle,
                                                                    const cudnnTensorDescriptor_t xDesc,
                                                                    const cudnnFilterDescriptor_t wDesc,
                                                                    const cudnnConvolutionDescriptor_t convDesc,
                                                                    const cudnnTensorDescriptor_t yDesc,
                                                                    cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
    dwshim::DepthwiseParams params;
    RouteReason reason = dwshim::decide(handle, xDesc, wDesc, convDesc, yDesc, &params);
    if (reason == RouteReason::kRouted && (sizeInBytes == nullptr || !dwshim::valid_algo(algo))) {
        reason = RouteReason::kBadArgument;
    }
    dwshim::report_decision("cudnnGetConvolutionForwardWorkspaceSize", /*executes=*/false, reason,
                            dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real_cudnn().cudnnGetConvolutionForwardWorkspaceSize, handle, xDesc, wDesc,
                                 convDesc, yDesc, algo, sizeInBytes);
    }
    *sizeInBytes = 0;
    return CUDNN_STATUS_SUCCESS;
}

namespace dwshim {
// cuDNN 9.19 dereferences a null handle in the algorithm queries (SIGSEGV, tests/cpu/test_bad_input.cpp);
// everywhere it checks, it answers a null handle with BAD_PARAM, so dwshim answers that instead of crashing.
constexpr cudnnStatus_t kNullHandleStatus = CUDNN_STATUS_BAD_PARAM;
}  // namespace dwshim

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnFilterDescriptor_t filterDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t destDesc,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnGetConvolutionForwardAlgorithm_v7, handle, srcDesc, filterDesc, convDesc,
                          destDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnGetConvolutionForwardAlgorithm_v7", status, handle, srcDesc, filterDesc,
                                       convDesc, destDesc, returnedAlgoCount, perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnFindConvolutionForwardAlgorithm, handle, xDesc, wDesc, convDesc, yDesc,
                          requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnFindConvolutionForwardAlgorithm", status, handle, xDesc, wDesc,
                                       convDesc, yDesc, returnedAlgoCount, perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnFilterDescriptor_t wDesc,
    const void* w, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, void* y,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status = dwshim::call_real(real_cudnn().cudnnFindConvolutionForwardAlgorithmEx, handle,
                                                   xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount,
                                                   returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    return dwshim::adjust_algo_results("cudnnFindConvolutionForwardAlgorithmEx", status, handle, xDesc, wDesc,
                                       convDesc, yDesc, returnedAlgoCount, perfResults);
}
