// The legacy API's gradients: cudnnConvolutionBackwardData / BackwardFilter and the queries callers make before
// them (PyTorch's benchmark mode calls the Find functions). A routed configuration runs dwshim's kernel whatever
// algorithm the caller picked; the data gradient needs no workspace, the filter gradient a small one for its
// partial sums, which the workspace queries and the algorithm lists report.
#include <cudnn.h>

#include "interpose/export.h"
#include "legacy_entry.h"

using dwshim::Direction;
using dwshim::real_cudnn;
using dwshim::RouteReason;

namespace dwshim {
namespace {

bool valid_algo(cudnnConvolutionBwdDataAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
}

bool valid_algo(cudnnConvolutionBwdFilterAlgo_t algo) {
    return algo >= 0 && algo < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

// Both workspace queries: dwshim's need for a routed configuration, else the real library's answer.
template <typename Algo, typename Real>
cudnnStatus_t workspace_query(const char* api_function, Direction direction, cudnnHandle_t handle,
                              cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                              cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc, Algo algo,
                              size_t* size, Real call_real_query) {
    DepthwiseParams params;
    RouteReason reason = decide(direction, handle, x_desc, w_desc, conv_desc, y_desc, &params);
    if (reason == RouteReason::kRouted && (size == nullptr || !valid_algo(algo))) reason = RouteReason::kBadArgument;
    report_decision(api_function, /*executes=*/false, reason, direction, described(params));
    if (reason != RouteReason::kRouted) return call_real_query();
    *size = workspace_bytes(params);
    return CUDNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace dwshim

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha,
                                                         const cudnnFilterDescriptor_t wDesc, const void* w,
                                                         const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                         const cudnnConvolutionDescriptor_t convDesc,
                                                         cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                                         size_t workSpaceSizeInBytes, const void* beta,
                                                         const cudnnTensorDescriptor_t dxDesc, void* dx) {
    dwshim::DepthwiseParams params;
    cudaStream_t stream = nullptr;
    const RouteReason reason = dwshim::check_execution(
        dwshim::decide(Direction::kDataGrad, handle, dxDesc, wDesc, convDesc, dyDesc, &params), handle,
        alpha != nullptr && beta != nullptr && w != nullptr && dy != nullptr && dx != nullptr,
        dwshim::valid_algo(algo), params, workSpace, workSpaceSizeInBytes, &stream);
    dwshim::report_decision("cudnnConvolutionBackwardData", /*executes=*/true, reason, Direction::kDataGrad,
                            dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real_cudnn().cudnnConvolutionBackwardData, handle, alpha, wDesc, w, dyDesc, dy,
                                 convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dxDesc, dx);
    }
    // The API's const inputs are only read: the data gradient writes dx alone.
    params.filter = const_cast<void*>(w);
    params.y = const_cast<void*>(dy);
    params.x = dx;
    params.residual = *static_cast<const float*>(beta) != 0.0f ? dx : nullptr;
    return dwshim::run_routed(&params, alpha, beta, workSpace, stream);
}

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                                           const cudnnTensorDescriptor_t xDesc, const void* x,
                                                           const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                                           size_t workSpaceSizeInBytes, const void* beta,
                                                           const cudnnFilterDescriptor_t dwDesc, void* dw) {
    dwshim::DepthwiseParams params;
    cudaStream_t stream = nullptr;
    const RouteReason reason = dwshim::check_execution(
        dwshim::decide(Direction::kFilterGrad, handle, xDesc, dwDesc, convDesc, dyDesc, &params), handle,
        alpha != nullptr && beta != nullptr && x != nullptr && dy != nullptr && dw != nullptr,
        dwshim::valid_algo(algo), params, workSpace, workSpaceSizeInBytes, &stream);
    dwshim::report_decision("cudnnConvolutionBackwardFilter", /*executes=*/true, reason, Direction::kFilterGrad,
                            dwshim::described(params));
    if (reason != RouteReason::kRouted) {
        return dwshim::call_real(real_cudnn().cudnnConvolutionBackwardFilter, handle, alpha, xDesc, x, dyDesc, dy,
                                 convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dwDesc, dw);
    }
    // The API's const inputs are only read: the filter gradient writes dw alone.
    params.x = const_cast<void*>(x);
    params.y = const_cast<void*>(dy);
    params.filter = dw;
    params.residual = *static_cast<const float*>(beta) != 0.0f ? dw : nullptr;
    return dwshim::run_routed(&params, alpha, beta, workSpace, stream);
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
    cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
    return dwshim::workspace_query("cudnnGetConvolutionBackwardDataWorkspaceSize", Direction::kDataGrad, handle,
                                   dxDesc, wDesc, convDesc, dyDesc, algo, sizeInBytes, [&] {
                                       return dwshim::call_real(
                                           real_cudnn().cudnnGetConvolutionBackwardDataWorkspaceSize, handle, wDesc,
                                           dyDesc, convDesc, dxDesc, algo, sizeInBytes);
                                   });
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,
    cudnnConvolutionBwdFilterAlgo_t algo, size_t* sizeInBytes) {
    return dwshim::workspace_query("cudnnGetConvolutionBackwardFilterWorkspaceSize", Direction::kFilterGrad,
                                   handle, xDesc, gradDesc, convDesc, dyDesc, algo, sizeInBytes, [&] {
                                       return dwshim::call_real(
                                           real_cudnn().cudnnGetConvolutionBackwardFilterWorkspaceSize, handle,
                                           xDesc, dyDesc, convDesc, gradDesc, algo, sizeInBytes);
                                   });
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc, const cudnnTensorDescriptor_t diffDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnGetConvolutionBackwardDataAlgorithm_v7, handle, filterDesc, diffDesc,
                          convDesc, gradDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnGetConvolutionBackwardDataAlgorithm_v7", Direction::kDataGrad, status,
                                       handle, gradDesc, filterDesc, convDesc, diffDesc, returnedAlgoCount,
                                       perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardDataAlgorithm, handle, wDesc, dyDesc, convDesc,
                          dxDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnFindConvolutionBackwardDataAlgorithm", Direction::kDataGrad, status,
                                       handle, dxDesc, wDesc, convDesc, dyDesc, returnedAlgoCount, perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnTensorDescriptor_t dyDesc,
    const void* dy, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, void* dx,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status = dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardDataAlgorithmEx, handle,
                                                   wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requestedAlgoCount,
                                                   returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    return dwshim::adjust_algo_results("cudnnFindConvolutionBackwardDataAlgorithmEx", Direction::kDataGrad, status,
                                       handle, dxDesc, wDesc, convDesc, dyDesc, returnedAlgoCount, perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnTensorDescriptor_t diffDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnGetConvolutionBackwardFilterAlgorithm_v7, handle, srcDesc, diffDesc,
                          convDesc, gradDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnGetConvolutionBackwardFilterAlgorithm_v7", Direction::kFilterGrad,
                                       status, handle, srcDesc, gradDesc, convDesc, diffDesc, returnedAlgoCount,
                                       perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardFilterAlgorithm, handle, xDesc, dyDesc, convDesc,
                          dwDesc, requestedAlgoCount, returnedAlgoCount, perfResults);
    return dwshim::adjust_algo_results("cudnnFindConvolutionBackwardFilterAlgorithm", Direction::kFilterGrad, status,
                                       handle, xDesc, dwDesc, convDesc, dyDesc, returnedAlgoCount, perfResults);
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t dyDesc,
    const void* y, const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, void* dw,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    if (handle == nullptr) return dwshim::kNullHandleStatus;
    const cudnnStatus_t status = dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardFilterAlgorithmEx, handle,
                                                   xDesc, x, dyDesc, y, convDesc, dwDesc, dw, requestedAlgoCount,
                                                   returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    return dwshim::adjust_algo_results("cudnnFindConvolutionBackwardFilterAlgorithmEx", Direction::kFilterGrad,
                                       status, handle, xDesc, dwDesc, convDesc, dyDesc, returnedAlgoCount,
                                       perfResults);
}
