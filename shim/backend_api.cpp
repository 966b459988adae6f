// The backend (graph) API: descriptors are recorded as callers build them (backend_trace.h), and
// cudnnBackendExecute runs our kernel for plans whose graph is one supported depthwise convolution: a forward
// (with the fused epilogues), a data gradient or a filter gradient.
// With DWSHIM_DISABLE nothing is recorded and every call is forwarded.
#include <cudnn.h>

#include <algorithm>

#include "backend_trace.h"
#include "interpose/export.h"
#include "interpose/real_cudnn.h"
#include "kernels/depthwise.h"
#include "report.h"
#include "settings.h"
#include "test_hooks.h"

using dwshim::real_cudnn;
using dwshim::RouteReason;
namespace backend = dwshim::backend;

DWSHIM_EXPORT cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType,
                                                         cudnnBackendDescriptor_t* descriptor) {
    // cuDNN 9.19 writes through a null `descriptor` (SIGSEGV, tests/cpu/test_bad_input.cpp): answer BAD_PARAM.
    if (descriptor == nullptr) return CUDNN_STATUS_BAD_PARAM;
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnBackendCreateDescriptor, descriptorType, descriptor);
    if (status == CUDNN_STATUS_SUCCESS && !dwshim::settings().disabled) {
        backend::on_create(*descriptor, descriptorType);
    }
    return status;
}

DWSHIM_EXPORT cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor) {
    // Forget it first: once the real call returns, cuDNN may hand the same address to another thread.
    backend::on_destroy(descriptor);
    return dwshim::call_real(real_cudnn().cudnnBackendDestroyDescriptor, descriptor);
}

DWSHIM_EXPORT cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor,
                                                     cudnnBackendAttributeName_t attributeName,
                                                     cudnnBackendAttributeType_t attributeType,
                                                     int64_t elementCount, const void* arrayOfElements) {
    const cudnnStatus_t status = dwshim::call_real(real_cudnn().cudnnBackendSetAttribute, descriptor, attributeName,
                                                   attributeType, elementCount, arrayOfElements);
    if (status == CUDNN_STATUS_SUCCESS) {
        backend::on_set(descriptor, attributeName, attributeType, elementCount, arrayOfElements);
    }
    return status;
}

DWSHIM_EXPORT cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor,
                                                     cudnnBackendAttributeName_t attributeName,
                                                     cudnnBackendAttributeType_t attributeType,
                                                     int64_t requestedElementCount, int64_t* elementCount,
                                                     void* arrayOfElements) {
    const cudnnStatus_t status =
        dwshim::call_real(real_cudnn().cudnnBackendGetAttribute, descriptor, attributeName, attributeType,
                          requestedElementCount, elementCount, arrayOfElements);
    if (status == CUDNN_STATUS_SUCCESS && attributeType == CUDNN_TYPE_BACKEND_DESCRIPTOR && elementCount != nullptr) {
        backend::on_get_descriptors(descriptor, std::min(*elementCount, requestedElementCount),
                                    static_cast<const cudnnBackendDescriptor_t*>(arrayOfElements));
    }
    // A plan dwshim executes asks for at least the workspace dwshim's kernel needs.
    if (status == CUDNN_STATUS_SUCCESS && attributeName == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE &&
        attributeType == CUDNN_TYPE_INT64 && requestedElementCount >= 1 && arrayOfElements != nullptr &&
        !dwshim::settings().disabled) {
        int64_t* size = static_cast<int64_t*>(arrayOfElements);
        *size = std::max(*size, backend::routed_plan_workspace(descriptor));
    }
    return status;
}

DWSHIM_EXPORT cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor) {
    const cudnnStatus_t status = dwshim::call_real(real_cudnn().cudnnBackendFinalize, descriptor);
    if (status == CUDNN_STATUS_SUCCESS) backend::on_finalize(descriptor);
    return status;
}

DWSHIM_EXPORT cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
                                                cudnnBackendDescriptor_t variantPack) {
    const dwshim::RealCudnn& real = real_cudnn();
    backend::PlanRoute route;
    route.reason = RouteReason::kDisabled;
    if (!dwshim::settings().disabled) route = backend::plan_route(executionPlan);
    cudaStream_t stream = nullptr;
    if (route.reason == RouteReason::kRouted) {
        route.reason = backend::variant_pointers(variantPack, &route);
    }
    if (route.reason == RouteReason::kRouted &&
        (handle == nullptr || real.cudnnGetStream == nullptr ||
         real.cudnnGetStream(handle, &stream) != CUDNN_STATUS_SUCCESS)) {
        route.reason = RouteReason::kBadArgument;
    }
    dwshim::report_decision("cudnnBackendExecute", /*executes=*/true, route.reason, route.params.direction,
                            route.params.n > 0 ? &route.params : nullptr);
    if (route.reason != RouteReason::kRouted) {
        return dwshim::call_real(real.cudnnBackendExecute, handle, executionPlan, variantPack);
    }
    return dwshim::run_depthwise(route.params, route.workspace, stream) == cudaSuccess
               ? CUDNN_STATUS_SUCCESS
               : CUDNN_STATUS_EXECUTION_FAILED;
}

DWSHIM_EXPORT int dwshim_route_backend_graph(cudnnBackendDescriptor_t graph, dwshim::DepthwiseParams* params) {
    const backend::PlanRoute route = backend::graph_route(graph);
    *params = route.params;
    return static_cast<int>(route.reason);
}
