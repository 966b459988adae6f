// The backend API cannot be read back (graph ops and variant packs answer NOT_SUPPORTED), so dwshim records
// what callers set on the descriptors it sees created, and at each Finalize turns that into an immutable trace
// passed along by value: tensors and convolutions into operations, operations into a graph, a graph into the
// engines, configurations, heuristics and plans built on it.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {
namespace backend {

struct TensorInfo {
    int64_t uid = 0;
    cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
    std::vector<int64_t> dims, strides;
    bool is_virtual = false;
    bool plain = true;  // by reference, not vectorized or reordered, nothing set that dwshim does not know
};

struct ConvInfo {
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int64_t spatial_dims = 0;
    std::vector<int64_t> dilations, filter_strides, pre_paddings, post_paddings;
};

// One convolution operation of any direction; x, w and y keep their forward roles (dx, dw and dy for gradients).
struct ConvOpInfo {
    Direction direction = Direction::kForward;
    TensorInfo x, w, y;
    ConvInfo conv;
    double alpha = 1.0, beta = 0.0;
};

struct PointwiseInfo {
    cudnnPointwiseMode_t mode = CUDNN_POINTWISE_ADD;
    double relu_lower = 0.0, relu_upper = 0.0, relu_slope = 0.0;
    bool has_upper_clip = false;
    bool propagate_nan = false;
};

struct PointwiseOpInfo {
    PointwiseInfo pointwise;
    TensorInfo x, y;
    std::optional<TensorInfo> b;
    double alpha1 = 1.0, alpha2 = 1.0;
};

struct Trace {
    std::optional<TensorInfo> tensor;              // TENSOR
    std::optional<ConvInfo> conv;                  // CONVOLUTION
    std::optional<ConvOpInfo> conv_op;             // OPERATION_CONVOLUTION_FORWARD / BACKWARD_DATA / _FILTER
    std::optional<PointwiseInfo> pointwise;        // POINTWISE
    std::optional<PointwiseOpInfo> pointwise_op;   // OPERATION_POINTWISE over traced descriptors
    bool graph = false;                            // an OPERATIONGRAPH, or something built on one
    bool graph_understood = false;                 // every attribute of the graph was understood
    std::vector<std::shared_ptr<const Trace>> graph_ops;  // null where dwshim could not trace the op
    cudnnHandle_t graph_handle = nullptr;          // the graph's, where its caller set one
};

// How a plan is executed: by dwshim (reason kRouted) with these params, or by the real cuDNN. Pointers come
// from the variant pack by UID; a zero UID means the tensor is not used.
struct PlanRoute {
    RouteReason reason = RouteReason::kUntracedPlan;
    DepthwiseParams params;
    int64_t x_uid = 0, w_uid = 0, y_uid = 0, bias_uid = 0, residual_uid = 0;
    void* workspace = nullptr;  // the variant pack's, at least the plan's reported workspace size
};

// The decision for a plan (or a graph) with this trace; `trace` may be null.
PlanRoute route_from_trace(const Trace* trace);

// Thread-safe record of every backend descriptor created through dwshim. The on_* calls follow a successful
// real call and may allocate; plan_route() and variant_pointers() do not, so Execute stays allocation-free.
void on_create(cudnnBackendDescriptor_t desc, cudnnBackendDescriptorType_t type);
void on_destroy(cudnnBackendDescriptor_t desc);
void on_set(cudnnBackendDescriptor_t desc, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
            int64_t count, const void* elements);
void on_finalize(cudnnBackendDescriptor_t desc);
// cuDNN filled `outputs` from `source` (heuristic results, a plan's configuration, ...): they share its trace.
void on_get_descriptors(cudnnBackendDescriptor_t source, int64_t count, const cudnnBackendDescriptor_t* outputs);

PlanRoute plan_route(cudnnBackendDescriptor_t plan);
PlanRoute graph_route(cudnnBackendDescriptor_t graph);
// Fills the route's data and workspace pointers from the variant pack, or says kVariantPack when it cannot
// supply them.
RouteReason variant_pointers(cudnnBackendDescriptor_t variant_pack, PlanRoute* route);

// The workspace a plan that dwshim routes needs (cudnnBackendGetAttribute reports at least this for the plan's
// CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, so the caller's variant pack holds enough); 0 for other descriptors.
int64_t routed_plan_workspace(cudnnBackendDescriptor_t plan);

}  // namespace backend
}  // namespace dwshim
