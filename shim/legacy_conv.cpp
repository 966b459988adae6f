// The legacy convolution API: cudnnConvolutionForward and the queries callers make before it. A routed
// configuration runs our kernel whatever algorithm the caller picked, and needs no workspace.
#include <cudnn.h>

#include "interpose/export.h"
#include "legacy_entry.h"

using dwshim::Direction;
using dwshim::real_cudnn;
using dwshim::RouteReason;

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha,
                                                    const cudnnTensorDescriptor_t xDesc, const void* x,
                                                    const cudnnFilterDescriptor_t wDesc, const void* w,
                                                    const cudnnConvolutionDescriptor_t convDesc,
                                                    cudnnConvolutionFwdAlgo_t algo, void* workSpace,
                                                    size_t workSpaceSizeInBytes, const void* beta,
                                                    const cudnnTensorDescriptor_t yDesc, void* y) {
    return dwshim::execute("cudnnConvolutionForward", Direction::kForward, handle, alpha, beta, xDesc, x, wDesc, w,
                           convDesc, yDesc, y, algo, workSpace, workSpaceSizeInBytes, [&] {
                               return dwshim::call_real(real_cudnn().cudnnConvolutionForward, handle, alpha, xDesc, x,
                                                        wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes,
                                                        beta, yDesc, y);
                           });
}

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBiasActivationForward(
    cudnnHandle_t handle, const void* alpha1, const cudnnTensorDescriptor_t xDesc, const void* x,
    const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc,
    cudnnConvolutionFwdAlgo_t algo, void* workSpace, size_t workSpaceSizeInBytes, const void* alpha2,
    const cudnnTensorDescriptor_t zDesc, const void* z, const cudnnTensorDescriptor_t biasDesc, const void* bias,
    const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t yDesc, void* y) {
    const dwshim::RealCudnn& real = real_cudnn();
    dwshim::DepthwiseParams params;
    cudaStream_t stream = nullptr;
    RouteReason reason = dwshim::check_execution(
        dwshim::decide(Direction::kForward, handle, xDesc, wDesc, convDesc, yDesc, &params), handle,
        alpha1 != nullptr && alpha2 != nullptr && x != nullptr && w != nullptr && y != nullptr && z != nullptr &&
            bias != nullptr,
        dwshim::valid_algo(algo), params, workSpace, workSpaceSizeInBytes, &stream);
    if (reason == RouteReason::kRouted) {
        reason = dwshim::epilogue_from_legacy(real, zDesc, biasDesc, activationDesc, &params);
    }
    dwshim::report_decision("cudnnConvolutionBiasActivationForward", /*executes=*/true, reason, Direction::kForward,
                            dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real.cudnnConvolutionBiasActivationForward, handle, alpha1, xDesc, x, wDesc, w,
                                 convDesc, algo, workSpace, workSpaceSizeInBytes, alpha2, zDesc, z, biasDesc, bias,
                                 activationDesc, yDesc, y);
    }
    params.residual = *static_cast<const float*>(alpha2) != 0.0f ? z : nullptr;
    params.bias = bias;
    params.x = const_cast<void*>(x);
    params.filter = const_cast<void*>(w);
    params.y = y;
    return dwshim::run_routed(&params, alpha1, alpha2, workSpace, stream);
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle,
                                                                    const cudnnTensorDescriptor_t xDesc,
                                                                    const cudnnFilterDescriptor_t wDesc,
                                                                    const cudnnConvolutionDescriptor_t convDesc,
                                                                    const cudnnTensorDescriptor_t yDesc,
                                                                    cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
    return dwshim::workspace_query("cudnnGetConvolutionForwardWorkspaceSize", Direction::kForward, handle, xDesc,
                                   wDesc, convDesc, yDesc, algo, sizeInBytes, [&] {
                                       return dwshim::call_real(real_cudnn().cudnnGetConvolutionForwardWorkspaceSize,
                                                                handle, xDesc, wDesc, convDesc, yDesc, algo,
                                                                sizeInBytes);
                                   });
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnFilterDescriptor_t filterDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t destDesc,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    return dwshim::algo_query("cudnnGetConvolutionForwardAlgorithm_v7", Direction::kForward, handle, srcDesc,
                              filterDesc, convDesc, destDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnGetConvolutionForwardAlgorithm_v7, handle,
                                                           srcDesc, filterDesc, convDesc, destDesc, requestedAlgoCount,
                                                           returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    return dwshim::algo_query("cudnnFindConvolutionForwardAlgorithm", Direction::kForward, handle, xDesc, wDesc,
                              convDesc, yDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionForwardAlgorithm, handle,
                                                           xDesc, wDesc, convDesc, yDesc, requestedAlgoCount,
                                                           returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnFilterDescriptor_t wDesc,
    const void* w, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, void* y,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    return dwshim::algo_query("cudnnFindConvolutionForwardAlgorithmEx", Direction::kForward, handle, xDesc, wDesc,
                              convDesc, yDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionForwardAlgorithmEx, handle,
                                                           xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount,
                                                           returnedAlgoCount, perfResults, workSpace,
                                                           workSpaceSizeInBytes);
                              });
}
