#include "backend_trace.h"

#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "conv_description.h"
#include "first_sight.h"
#include "kernels/depthwise.h"
#include "route_policy.h"

namespace dwshim {
namespace backend {
namespace {

// Bytes per element of the attribute types dwshim interprets; 0 for the rest (their values are not kept).
size_t element_size(cudnnBackendAttributeType_t type) {
    switch (type) {
        case CUDNN_TYPE_INT64:
        case CUDNN_TYPE_DOUBLE:
            return 8;
        case CUDNN_TYPE_FLOAT:
            return sizeof(float);
        case CUDNN_TYPE_BOOLEAN:
            return sizeof(bool);
        case CUDNN_TYPE_DATA_TYPE:
            return sizeof(cudnnDataType_t);
        case CUDNN_TYPE_CONVOLUTION_MODE:
            return sizeof(cudnnConvolutionMode_t);
        case CUDNN_TYPE_TENSOR_REORDERING_MODE:
            return sizeof(cudnnBackendTensorReordering_t);
        case CUDNN_TYPE_POINTWISE_MODE:
            return sizeof(cudnnPointwiseMode_t);
        case CUDNN_TYPE_NAN_PROPOGATION:
            return sizeof(cudnnNanPropagation_t);
        case CUDNN_TYPE_BACKEND_DESCRIPTOR:
            return sizeof(cudnnBackendDescriptor_t);
        case CUDNN_TYPE_VOID_PTR:
            return sizeof(void*);
        case CUDNN_TYPE_HANDLE:
            return sizeof(cudnnHandle_t);
        default:
            return 0;
    }
}

struct Attribute {
    cudnnBackendAttributeType_t type;
    int64_t count;
    std::vector<unsigned char> bytes;  // empty when the type is not interpreted

    template <typename T>
    bool read(cudnnBackendAttributeType_t expected, std::vector<T>* out) const {
        if (type != expected || sizeof(T) != element_size(type) || bytes.size() != count * sizeof(T)) return false;
        out->resize(count);
        if (count > 0) std::memcpy(out->data(), bytes.data(), bytes.size());
        return true;
    }
    template <typename T>
    bool read_one(cudnnBackendAttributeType_t expected, T* out) const {
        if (type != expected || sizeof(T) != element_size(type) || count != 1 || bytes.size() != sizeof(T)) {
            return false;
        }
        std::memcpy(out, bytes.data(), sizeof(T));
        return true;
    }
};

struct Record {
    cudnnBackendDescriptorType_t type;
    std::map<cudnnBackendAttributeName_t, Attribute> attributes;
    std::shared_ptr<const Trace> trace;  // set once finalized (or filled by cuDNN)
    PlanRoute route;                     // EXECUTION_PLAN only
};

std::mutex g_mutex;
std::unordered_map<cudnnBackendDescriptor_t, Record>& records() {
    static auto* map = new std::unordered_map<cudnnBackendDescriptor_t, Record>();  // outlives exit-time calls
    return *map;
}

const Record* find(cudnnBackendDescriptor_t desc) {
    const auto it = records().find(desc);
    return it == records().end() ? nullptr : &it->second;
}

// The trace of the descriptor a descriptor-typed attribute points to, or null.
std::shared_ptr<const Trace> linked_trace(const Record& record, cudnnBackendAttributeName_t name) {
    const auto it = record.attributes.find(name);
    cudnnBackendDescriptor_t target = nullptr;
    if (it == record.attributes.end() || !it->second.read_one(CUDNN_TYPE_BACKEND_DESCRIPTOR, &target)) {
        return nullptr;
    }
    const Record* linked = find(target);
    return linked != nullptr ? linked->trace : nullptr;
}

bool only_attributes(const Record& record, std::initializer_list<cudnnBackendAttributeName_t> allowed) {
    for (const auto& entry : record.attributes) {
        bool listed = false;
        for (cudnnBackendAttributeName_t name : allowed) listed = listed || entry.first == name;
        if (!listed) return false;
    }
    return true;
}

template <typename T>
bool read_attr(const Record& r, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, T* out) {
    const auto it = r.attributes.find(name);
    return it != r.attributes.end() && it->second.read_one(type, out);
}

template <typename T>
bool read_array(const Record& r, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                std::vector<T>* out) {
    const auto it = r.attributes.find(name);
    return it != r.attributes.end() && it->second.read(type, out);
}

std::shared_ptr<const Trace> trace_tensor(const Record& r) {
    TensorInfo t;
    if (!read_attr(r, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &t.uid) ||
        !read_attr(r, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &t.dtype) ||
        !read_array(r, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, &t.dims) ||
        !read_array(r, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, &t.strides) ||
        t.dims.size() != t.strides.size()) {
        return nullptr;
    }
    bool is_virtual = false, by_value = false;
    int64_t vector_count = 1;
    cudnnBackendTensorReordering_t reordering = CUDNN_TENSOR_REORDERING_NONE;
    const bool readable =
        (!r.attributes.count(CUDNN_ATTR_TENSOR_IS_VIRTUAL) ||
         read_attr(r, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &is_virtual)) &&
        (!r.attributes.count(CUDNN_ATTR_TENSOR_IS_BY_VALUE) ||
         read_attr(r, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, &by_value)) &&
        (!r.attributes.count(CUDNN_ATTR_TENSOR_VECTOR_COUNT) ||
         read_attr(r, CUDNN_ATTR_TENSOR_VECTOR_COUNT, CUDNN_TYPE_INT64, &vector_count)) &&
        (!r.attributes.count(CUDNN_ATTR_TENSOR_REORDERING_MODE) ||
         read_attr(r, CUDNN_ATTR_TENSOR_REORDERING_MODE, CUDNN_TYPE_TENSOR_REORDERING_MODE, &reordering));
    t.is_virtual = is_virtual;
    t.plain = readable && !by_value && vector_count == 1 &&
              reordering == CUDNN_TENSOR_REORDERING_NONE &&
              only_attributes(r, {CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_ATTR_TENSOR_DATA_TYPE,
                                  CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_ATTR_TENSOR_STRIDES,
                                  CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_ATTR_TENSOR_IS_BY_VALUE,
                                  CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_ATTR_TENSOR_VECTOR_COUNT,
                                  CUDNN_ATTR_TENSOR_VECTORIZED_DIMENSION, CUDNN_ATTR_TENSOR_REORDERING_MODE});
    auto trace = std::make_shared<Trace>();
    trace->tensor = std::move(t);
    return trace;
}

std::shared_ptr<const Trace> trace_convolution(const Record& r) {
    ConvInfo c;
    if (!only_attributes(r, {CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_ATTR_CONVOLUTION_CONV_MODE,
                             CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_ATTR_CONVOLUTION_DILATIONS,
                             CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS,
                             CUDNN_ATTR_CONVOLUTION_POST_PADDINGS}) ||
        !read_attr(r, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &c.compute) ||
        !read_attr(r, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, &c.mode) ||
        !read_attr(r, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, &c.spatial_dims) ||
        !read_array(r, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, &c.dilations) ||
        !read_array(r, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, &c.filter_strides) ||
        !read_array(r, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, &c.pre_paddings) ||
        !read_array(r, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, &c.post_paddings)) {
        return nullptr;
    }
    auto trace = std::make_shared<Trace>();
    trace->conv = std::move(c);
    return trace;
}

// A real-valued attribute (scaling factor, clip bound) set as float or double; `fallback` when not set.
bool read_scale(const Record& r, cudnnBackendAttributeName_t name, double fallback, double* out) {
    const auto it = r.attributes.find(name);
    if (it == r.attributes.end()) {
        *out = fallback;
        return true;
    }
    float f;
    if (it->second.read_one(CUDNN_TYPE_FLOAT, &f)) {
        *out = f;
        return true;
    }
    return it->second.read_one(CUDNN_TYPE_DOUBLE, out);
}

// The attribute names of a convolution operation's tensors, scales and convolution, per direction.
struct ConvOpAttributes {
    cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
};

ConvOpAttributes conv_op_attributes(Direction direction) {
    switch (direction) {
        case Direction::kDataGrad:
            return {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
                    CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
                    CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA};
        case Direction::kFilterGrad:
            return {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
                    CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
                    CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,     CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA};
        case Direction::kForward:
            break;
    }
    return {CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
            CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
            CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,     CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA};
}

std::shared_ptr<const Trace> trace_conv_op(const Record& r, Direction direction) {
    const ConvOpAttributes names = conv_op_attributes(direction);
    const auto x = linked_trace(r, names.x);
    const auto w = linked_trace(r, names.w);
    const auto y = linked_trace(r, names.y);
    const auto conv = linked_trace(r, names.conv);
    ConvOpInfo op;
    op.direction = direction;
    if (!x || !x->tensor || !w || !w->tensor || !y || !y->tensor || !conv || !conv->conv ||
        !read_scale(r, names.alpha, 1.0, &op.alpha) || !read_scale(r, names.beta, 0.0, &op.beta) ||
        !only_attributes(r, {names.alpha, names.beta, names.conv, names.w, names.x, names.y})) {
        return nullptr;
    }
    op.x = *x->tensor;
    op.w = *w->tensor;
    op.y = *y->tensor;
    op.conv = *conv->conv;
    auto trace = std::make_shared<Trace>();
    trace->conv_op = std::move(op);
    return trace;
}

std::shared_ptr<const Trace> trace_pointwise(const Record& r) {
    PointwiseInfo pw;
    cudnnDataType_t math = CUDNN_DATA_FLOAT;
    cudnnNanPropagation_t nan = CUDNN_NOT_PROPAGATE_NAN;
    pw.has_upper_clip = r.attributes.count(CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP) != 0;
    if (!only_attributes(r, {CUDNN_ATTR_POINTWISE_MODE, CUDNN_ATTR_POINTWISE_MATH_PREC,
                             CUDNN_ATTR_POINTWISE_NAN_PROPAGATION, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP,
                             CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE}) ||
        !read_attr(r, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &pw.mode) ||
        (r.attributes.count(CUDNN_ATTR_POINTWISE_MATH_PREC) &&
         (!read_attr(r, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &math) || math != CUDNN_DATA_FLOAT)) ||
        (r.attributes.count(CUDNN_ATTR_POINTWISE_NAN_PROPAGATION) &&
         !read_attr(r, CUDNN_ATTR_POINTWISE_NAN_PROPAGATION, CUDNN_TYPE_NAN_PROPOGATION, &nan)) ||
        !read_scale(r, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, 0.0, &pw.relu_lower) ||
        !read_scale(r, CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, 0.0, &pw.relu_upper) ||
        !read_scale(r, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE, 0.0, &pw.relu_slope)) {
        return nullptr;
    }
    pw.propagate_nan = nan == CUDNN_PROPAGATE_NAN;
    auto trace = std::make_shared<Trace>();
    trace->pointwise = pw;
    return trace;
}

std::shared_ptr<const Trace> trace_pointwise_op(const Record& r) {
    const auto pw = linked_trace(r, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR);
    const auto x = linked_trace(r, CUDNN_ATTR_OPERATION_POINTWISE_XDESC);
    const auto y = linked_trace(r, CUDNN_ATTR_OPERATION_POINTWISE_YDESC);
    const bool has_b = r.attributes.count(CUDNN_ATTR_OPERATION_POINTWISE_BDESC) != 0;
    const auto b = has_b ? linked_trace(r, CUDNN_ATTR_OPERATION_POINTWISE_BDESC) : nullptr;
    PointwiseOpInfo op;
    if (!pw || !pw->pointwise || !x || !x->tensor || !y || !y->tensor || (has_b && (!b || !b->tensor)) ||
        !read_scale(r, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, 1.0, &op.alpha1) ||
        !read_scale(r, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, 1.0, &op.alpha2) ||
        !only_attributes(r, {CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_ATTR_OPERATION_POINTWISE_XDESC,
                             CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_ATTR_OPERATION_POINTWISE_YDESC,
                             CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2})) {
        return nullptr;
    }
    op.pointwise = *pw->pointwise;
    op.x = *x->tensor;
    op.y = *y->tensor;
    if (has_b) op.b = *b->tensor;
    auto trace = std::make_shared<Trace>();
    trace->pointwise_op = std::move(op);
    return trace;
}

std::shared_ptr<const Trace> trace_graph(const Record& r) {
    auto trace = std::make_shared<Trace>();
    trace->graph = true;
    std::vector<cudnnBackendDescriptor_t> ops;
#if CUDNN_MAJOR >= 9  // graphs with dynamic shapes (new in cuDNN 9) are forwarded
    bool dynamic_shapes = false;
    const bool understood =
        read_array(r, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, &ops) &&
        (!r.attributes.count(CUDNN_ATTR_OPERATIONGRAPH_IS_DYNAMIC_SHAPE_ENABLED) ||
         read_attr(r, CUDNN_ATTR_OPERATIONGRAPH_IS_DYNAMIC_SHAPE_ENABLED, CUDNN_TYPE_BOOLEAN, &dynamic_shapes)) &&
        !dynamic_shapes &&
        only_attributes(r, {CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_ATTR_OPERATIONGRAPH_HANDLE,
                            CUDNN_ATTR_OPERATIONGRAPH_IS_DYNAMIC_SHAPE_ENABLED});
#else
    const bool understood = read_array(r, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, &ops) &&
                            only_attributes(r, {CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_ATTR_OPERATIONGRAPH_HANDLE});
#endif
    trace->graph_understood = understood;
    read_attr(r, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &trace->graph_handle);
    for (cudnnBackendDescriptor_t op : ops) {
        const Record* record = find(op);
        trace->graph_ops.push_back(record != nullptr ? record->trace : nullptr);
    }
    return trace;
}

// Engines, configurations, heuristics and plans carry the trace of the graph (or config) they were built on.
std::shared_ptr<const Trace> trace_derived(const Record& r, cudnnBackendAttributeName_t link) {
    const auto linked = linked_trace(r, link);
    return linked && linked->graph ? linked : nullptr;
}

std::shared_ptr<const Trace> trace_of(const Record& r) {
    switch (r.type) {
        case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
            return trace_tensor(r);
        case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR:
            return trace_convolution(r);
        case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
            return trace_conv_op(r, Direction::kForward);
        case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
            return trace_conv_op(r, Direction::kDataGrad);
        case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
            return trace_conv_op(r, Direction::kFilterGrad);
        case CUDNN_BACKEND_POINTWISE_DESCRIPTOR:
            return trace_pointwise(r);
        case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
            return trace_pointwise_op(r);
        case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR:
            return trace_graph(r);
        case CUDNN_BACKEND_ENGINE_DESCRIPTOR:
            return trace_derived(r, CUDNN_ATTR_ENGINE_OPERATION_GRAPH);
        case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
            return trace_derived(r, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH);
        case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
            return trace_derived(r, CUDNN_ATTR_ENGINECFG_ENGINE);
        case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
            // A plan deserialised from JSON was not built from descriptors dwshim saw.
            return r.attributes.count(CUDNN_ATTR_EXECUTION_PLAN_JSON_REPRESENTATION)
                       ? nullptr
                       : trace_derived(r, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG);
        default:
            return nullptr;
    }
}

bool is_derived_type(cudnnBackendDescriptorType_t type) {
    return type == CUDNN_BACKEND_ENGINE_DESCRIPTOR || type == CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR ||
           type == CUDNN_BACKEND_ENGINECFG_DESCRIPTOR || type == CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR;
}

bool copy_dims(const std::vector<int64_t>& from, int64_t to[4]) {
    if (from.size() != 4) return false;
    for (int d = 0; d < 4; ++d) to[d] = from[d];
    return true;
}


// Same sizes, and the same strides wherever a dimension has more than one element.
bool same_layout(const TensorInfo& a, const TensorInfo& b) {
    if (a.dims != b.dims || a.strides.size() != b.strides.size()) return false;
    for (size_t d = 0; d < a.dims.size(); ++d) {
        if (a.dims[d] > 1 && a.strides[d] != b.strides[d]) return false;
    }
    return true;
}

// The epilogue a chain of pointwise ops after the convolution amounts to: a residual add and a bias add (in
// either order) and then an optional ReLU, each at most once. Fills `route` and returns the final output.
const TensorInfo* fuse_epilogue(const ConvOpInfo& conv, std::vector<const PointwiseOpInfo*> ops,
                                PlanRoute* route) {
    const TensorInfo* current = &conv.y;
    const TensorInfo* residual = nullptr;
    const TensorInfo* bias = nullptr;
    DepthwiseParams& p = route->params;
    while (!ops.empty()) {
        if (!current->is_virtual || p.activation != Activation::kIdentity) return nullptr;
        auto it = ops.begin();
        while (it != ops.end() && (*it)->x.uid != current->uid && (!(*it)->b || (*it)->b->uid != current->uid)) ++it;
        if (it == ops.end()) return nullptr;
        const PointwiseOpInfo& op = **it;
        ops.erase(it);
        const bool chain_is_x = op.x.uid == current->uid;
        if (op.pointwise.mode == CUDNN_POINTWISE_ADD && op.b) {
            const TensorInfo& other = chain_is_x ? *op.b : op.x;
            const double chain_scale = chain_is_x ? op.alpha1 : op.alpha2;
            const double other_scale = chain_is_x ? op.alpha2 : op.alpha1;
            const bool bias_shaped = other.dims.size() == 4 && other.dims[0] == 1 && other.dims[2] == 1 &&
                                     other.dims[3] == 1 && other.dims[1] == conv.y.dims[1];
            if (chain_scale != 1.0 || other.is_virtual || !other.plain) return nullptr;
            if (bias_shaped && bias == nullptr && other_scale == 1.0 &&
                (other.strides[1] == 1 || other.dims[1] == 1)) {
                bias = &other;
            } else if (other.dims == conv.y.dims && residual == nullptr) {  // adds commute
                residual = &other;
                p.residual_scale = static_cast<float>(other_scale);
            } else {
                return nullptr;
            }
        } else if (op.pointwise.mode == CUDNN_POINTWISE_RELU_FWD && !op.b && chain_is_x && op.alpha1 == 1.0 &&
                   op.pointwise.relu_lower == 0.0 && op.pointwise.relu_slope == 0.0) {
            p.activation = op.pointwise.has_upper_clip ? Activation::kClippedRelu : Activation::kRelu;
            p.clip = static_cast<float>(op.pointwise.relu_upper);
            p.propagate_nan = op.pointwise.propagate_nan;
        } else {
            return nullptr;
        }
        if (op.y.dims != conv.y.dims) return nullptr;
        current = &op.y;
    }
    if (current->is_virtual || !current->plain) return nullptr;
    // Extra tensors are read with the output's type and, for the residual, the output's strides.
    if (bias != nullptr && bias->dtype != current->dtype) return nullptr;
    if (residual != nullptr && (residual->dtype != current->dtype || !same_layout(*residual, *current))) {
        return nullptr;
    }
    route->bias_uid = bias != nullptr ? bias->uid : 0;
    route->residual_uid = residual != nullptr ? residual->uid : 0;
    return current;
}

}  // namespace

PlanRoute route_from_trace(const Trace* trace) {
    PlanRoute route;
    if (trace == nullptr || !trace->graph) return route;  // kUntracedPlan
    route.reason = RouteReason::kNotSingleConv;
    const ConvOpInfo* op = nullptr;
    std::vector<const PointwiseOpInfo*> pointwise;
    for (const auto& traced : trace->graph_ops) {
        if (traced && traced->conv_op && op == nullptr) {
            op = &*traced->conv_op;
        } else if (traced && traced->pointwise_op) {
            pointwise.push_back(&*traced->pointwise_op);
        } else {
            return route;
        }
    }
    if (!trace->graph_understood || op == nullptr) return route;
    route.params.direction = op->direction;
    // The tensor the operation writes: y after the forward epilogue, dx or dw for a gradient (fused with nothing).
    const TensorInfo* out = nullptr;
    if (op->direction == Direction::kForward) {
        if (!op->x.plain || !op->w.plain || op->x.is_virtual || op->w.is_virtual ||
            (op->beta != 0.0 && !pointwise.empty())) {
            return route;
        }
        out = fuse_epilogue(*op, pointwise, &route);
        if (out == nullptr || out->uid == op->x.uid || out->uid == op->w.uid) return route;
    } else {
        out = op->direction == Direction::kDataGrad ? &op->x : &op->w;
        for (const TensorInfo* t : {&op->x, &op->w, &op->y}) {
            if (!t->plain || t->is_virtual) return route;
        }
        if (!pointwise.empty() || op->x.uid == op->w.uid || op->x.uid == op->y.uid || op->w.uid == op->y.uid) {
            return route;
        }
    }
    if (op->beta != 0.0) {  // beta blends in the written tensor's previous contents
        route.residual_uid = out->uid;
        route.params.residual_scale = static_cast<float>(op->beta);
    }
    const TensorInfo& y = op->direction == Direction::kForward ? *out : op->y;

    route.reason = RouteReason::kNot2d;
    ConvDescription conv;
    const ConvInfo& c = op->conv;
    if (c.spatial_dims != 2 || c.dilations.size() != 2 || c.filter_strides.size() != 2 ||
        c.pre_paddings.size() != 2 || c.post_paddings.size() != 2 || !copy_dims(op->x.dims, conv.x_dims) ||
        !copy_dims(op->x.strides, conv.x_strides) || !copy_dims(op->w.dims, conv.w_dims) ||
        !copy_dims(y.dims, conv.y_dims) || !copy_dims(y.strides, conv.y_strides)) {
        return route;
    }
    // A depthwise filter [k][1][r][s] is read packed; with one channel, NCHW and NHWC strides both are.
    const TensorInfo& w = op->w;
    if (w.dims[1] == 1 &&
        (w.strides[3] != 1 || w.strides[2] != w.dims[3] || (w.dims[0] > 1 && w.strides[0] != w.dims[2] * w.dims[3]))) {
        route.reason = RouteReason::kFilterFormat;
        return route;
    }
    conv.x_type = op->x.dtype;
    conv.w_type = w.dtype;
    conv.y_type = y.dtype;
    conv.compute_type = c.compute;
    for (int i = 0; i < 2; ++i) {
        conv.pad_before[i] = c.pre_paddings[i];
        conv.pad_after[i] = c.post_paddings[i];
        conv.stride[i] = c.filter_strides[i];
        conv.dilation[i] = c.dilations[i];
    }
    // The backend API has no group count: it follows from the channel counts.
    conv.groups = w.dims[1] > 0 && conv.x_dims[1] % w.dims[1] == 0 ? conv.x_dims[1] / w.dims[1] : 0;
    conv.flip = c.mode == CUDNN_CONVOLUTION;
    route.reason = params_from_description(conv, &route.params);
    if (route.reason == RouteReason::kRouted) route.reason = route_if_faster(Api::kBackend, route.params);
    route.params.alpha = static_cast<float>(op->alpha);
    route.x_uid = op->x.uid;
    route.w_uid = w.uid;
    route.y_uid = y.uid;
    return route;
}

void on_create(cudnnBackendDescriptor_t desc, cudnnBackendDescriptorType_t type) {
    std::lock_guard<std::mutex> lock(g_mutex);
    Record& record = records()[desc];
    record = Record{};
    record.type = type;
}

void on_destroy(cudnnBackendDescriptor_t desc) {
    std::lock_guard<std::mutex> lock(g_mutex);
    records().erase(desc);
}

void on_set(cudnnBackendDescriptor_t desc, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
            int64_t count, const void* elements) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto it = records().find(desc);
    if (it == records().end()) return;
    Attribute& attribute = it->second.attributes[name];
    attribute.type = type;
    attribute.count = count;
    const size_t size = element_size(type);
    attribute.bytes.clear();
    if (size > 0 && count > 0 && elements != nullptr) {
        const auto* first = static_cast<const unsigned char*>(elements);
        attribute.bytes.assign(first, first + size * static_cast<size_t>(count));
    }
}

void on_finalize(cudnnBackendDescriptor_t desc) {
    PlanRoute route;
    cudnnHandle_t handle = nullptr;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        const auto it = records().find(desc);
        if (it == records().end()) return;
        Record& record = it->second;
        record.trace = trace_of(record);
        if (record.type != CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR) return;
        record.route = route = route_from_trace(record.trace.get());
        // The plan's handle, else its graph's (callers set both to the one they execute on).
        if (!read_attr(record, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &handle) && record.trace) {
            handle = record.trace->graph_handle;
        }
    }
    // Measured without the lock: the real cuDNN may call back into the descriptors dwshim records.
    if (!measure_backend_first_sight(handle, desc, route)) return;
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto it = records().find(desc);
    if (it != records().end()) it->second.route = route_from_trace(it->second.trace.get());
}

void on_get_descriptors(cudnnBackendDescriptor_t source, int64_t count, const cudnnBackendDescriptor_t* outputs) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const Record* from = find(source);
    if (from == nullptr || !is_derived_type(from->type) || !from->trace || outputs == nullptr) return;
    const std::shared_ptr<const Trace> trace = from->trace;
    for (int64_t i = 0; i < count; ++i) {
        const auto it = records().find(outputs[i]);
        if (it == records().end()) continue;
        it->second.trace = trace;
        if (it->second.type == CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR) it->second.route = route_from_trace(trace.get());
    }
}

PlanRoute plan_route(cudnnBackendDescriptor_t plan) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const Record* record = find(plan);
    return record != nullptr && record->type == CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR ? record->route
                                                                                      : PlanRoute{};
}

PlanRoute graph_route(cudnnBackendDescriptor_t graph) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const Record* record = find(graph);
    return route_from_trace(record != nullptr ? record->trace.get() : nullptr);
}

RouteReason variant_pointers(cudnnBackendDescriptor_t variant_pack, PlanRoute* route) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const Record* record = find(variant_pack);
    if (record == nullptr || record->type != CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR) return RouteReason::kVariantPack;
#if CUDNN_MAJOR >= 9  // shape overrides (new in cuDNN 9) are forwarded
    for (auto name : {CUDNN_ATTR_VARIANT_PACK_OVERRIDE_UNIQUE_IDS, CUDNN_ATTR_VARIANT_PACK_OVERRIDE_SHAPES,
                      CUDNN_ATTR_VARIANT_PACK_OVERRIDE_STRIDES}) {
        if (record->attributes.count(name)) return RouteReason::kVariantPack;
    }
#endif
    const auto uids = record->attributes.find(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
    const auto pointers = record->attributes.find(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS);
    if (uids == record->attributes.end() || pointers == record->attributes.end() ||
        uids->second.type != CUDNN_TYPE_INT64 || pointers->second.type != CUDNN_TYPE_VOID_PTR ||
        uids->second.count != pointers->second.count ||
        uids->second.bytes.size() != static_cast<size_t>(uids->second.count) * sizeof(int64_t) ||
        pointers->second.bytes.size() != static_cast<size_t>(pointers->second.count) * sizeof(void*)) {
        return RouteReason::kVariantPack;
    }
    constexpr int kTensors = 5;
    const int64_t wanted[kTensors] = {route->x_uid, route->w_uid, route->y_uid, route->bias_uid, route->residual_uid};
    void* found[kTensors] = {};
    for (int64_t i = 0; i < uids->second.count; ++i) {
        int64_t uid;
        void* pointer;
        std::memcpy(&uid, uids->second.bytes.data() + i * sizeof(int64_t), sizeof(uid));
        std::memcpy(&pointer, pointers->second.bytes.data() + i * sizeof(void*), sizeof(pointer));
        for (int t = 0; t < kTensors; ++t) {
            if (wanted[t] != 0 && uid == wanted[t]) found[t] = pointer;
        }
    }
    for (int t = 0; t < kTensors; ++t) {
        if (wanted[t] != 0 && found[t] == nullptr) return RouteReason::kVariantPack;
    }
    route->params.x = found[0];
    route->params.filter = found[1];
    route->params.y = found[2];
    route->params.bias = found[3];
    route->params.residual = found[4];
    route->workspace = nullptr;
    const auto workspace = record->attributes.find(CUDNN_ATTR_VARIANT_PACK_WORKSPACE);
    if (workspace != record->attributes.end() &&
        !workspace->second.read_one(CUDNN_TYPE_VOID_PTR, &route->workspace)) {
        return RouteReason::kVariantPack;
    }
    if (workspace_bytes(route->params) > 0 && route->workspace == nullptr) return RouteReason::kVariantPack;
    return RouteReason::kRouted;
}

int64_t routed_plan_workspace(cudnnBackendDescriptor_t plan) {
    const PlanRoute route = plan_route(plan);
    return route.reason == RouteReason::kRouted ? static_cast<int64_t>(workspace_bytes(route.params)) : 0;
}

}  // namespace backend
}  // namespace dwshim
