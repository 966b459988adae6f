// The legacy API's gradients: cudnnConvolutionBackwardData / BackwardFilter and the queries callers make before
// them (PyTorch's benchmark mode calls the Find functions). A routed configuration runs dwshim's kernel whatever
// algorithm the caller picked; the data gradient needs no workspace, the filter gradient a small one for its
// partial sums, which the workspace queries and the algorithm lists report.
#include <cudnn.h>

#include "interpose/export.h"
#include "legacy_entry.h"

using dwshim::Direction;
using dwshim::real_cudnn;

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha,
                                                         const cudnnFilterDescriptor_t wDesc, const void* w,
                                                         const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                         const cudnnConvolutionDescriptor_t convDesc,
                                                         cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                                         size_t workSpaceSizeInBytes, const void* beta,
                                                         const cudnnTensorDescriptor_t dxDesc, void* dx) {
    return dwshim::execute("cudnnConvolutionBackwardData", Direction::kDataGrad, handle, alpha, beta, dxDesc, dx,
                           wDesc, w, convDesc, dyDesc, dy, algo, workSpace, workSpaceSizeInBytes, [&] {
                               return dwshim::call_real(real_cudnn().cudnnConvolutionBackwardData, handle, alpha,
                                                        wDesc, w, dyDesc, dy, convDesc, algo, workSpace,
                                                        workSpaceSizeInBytes, beta, dxDesc, dx);
                           });
}

DWSHIM_EXPORT cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                                           const cudnnTensorDescriptor_t xDesc, const void* x,
                                                           const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                                           size_t workSpaceSizeInBytes, const void* beta,
                                                           const cudnnFilterDescriptor_t dwDesc, void* dw) {
    return dwshim::execute("cudnnConvolutionBackwardFilter", Direction::kFilterGrad, handle, alpha, beta, xDesc, x,
                           dwDesc, dw, convDesc, dyDesc, dy, algo, workSpace, workSpaceSizeInBytes, [&] {
                               return dwshim::call_real(real_cudnn().cudnnConvolutionBackwardFilter, handle, alpha,
                                                        xDesc, x, dyDesc, dy, convDesc, algo, workSpace,
                                                        workSpaceSizeInBytes, beta, dwDesc, dw);
                           });
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
    return dwshim::algo_query("cudnnGetConvolutionBackwardDataAlgorithm_v7", Direction::kDataGrad, handle, gradDesc,
                              filterDesc, convDesc, diffDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnGetConvolutionBackwardDataAlgorithm_v7,
                                                           handle, filterDesc, diffDesc, convDesc, gradDesc,
                                                           requestedAlgoCount, returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    return dwshim::algo_query("cudnnFindConvolutionBackwardDataAlgorithm", Direction::kDataGrad, handle, dxDesc, wDesc,
                              convDesc, dyDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardDataAlgorithm,
                                                           handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount,
                                                           returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnTensorDescriptor_t dyDesc,
    const void* dy, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, void* dx,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    return dwshim::algo_query("cudnnFindConvolutionBackwardDataAlgorithmEx", Direction::kDataGrad, handle, dxDesc,
                              wDesc, convDesc, dyDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardDataAlgorithmEx,
                                                           handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx,
                                                           requestedAlgoCount, returnedAlgoCount, perfResults,
                                                           workSpace, workSpaceSizeInBytes);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc, const cudnnTensorDescriptor_t diffDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    return dwshim::algo_query("cudnnGetConvolutionBackwardFilterAlgorithm_v7", Direction::kFilterGrad, handle, srcDesc,
                              gradDesc, convDesc, diffDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnGetConvolutionBackwardFilterAlgorithm_v7,
                                                           handle, srcDesc, diffDesc, convDesc, gradDesc,
                                                           requestedAlgoCount, returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount,
    int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    return dwshim::algo_query("cudnnFindConvolutionBackwardFilterAlgorithm", Direction::kFilterGrad, handle, xDesc,
                              dwDesc, convDesc, dyDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardFilterAlgorithm,
                                                           handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount,
                                                           returnedAlgoCount, perfResults);
                              });
}

DWSHIM_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x, const cudnnTensorDescriptor_t dyDesc,
    const void* y, const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, void* dw,
    const int requestedAlgoCount, int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults,
    void* workSpace, size_t workSpaceSizeInBytes) {
    return dwshim::algo_query("cudnnFindConvolutionBackwardFilterAlgorithmEx", Direction::kFilterGrad, handle, xDesc,
                              dwDesc, convDesc, dyDesc, returnedAlgoCount, perfResults, [&] {
                                  return dwshim::call_real(real_cudnn().cudnnFindConvolutionBackwardFilterAlgorithmEx,
                                                           handle, xDesc, x, dyDesc, y, convDesc, dwDesc, dw,
                                                           requestedAlgoCount, returnedAlgoCount, perfResults,
                                                           workSpace, workSpaceSizeInBytes);
                              });
}
