#include "backend_graph.h"

namespace dwtest {
namespace {

cudnnBackendDescriptor_t create(cudnnBackendDescriptorType_t type) {
    cudnnBackendDescriptor_t d = nullptr;
    CHECK_CUDNN(cudnnBackendCreateDescriptor(type, &d));
    return d;
}

void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
         int64_t count, const void* values) {
    CHECK_CUDNN(cudnnBackendSetAttribute(d, name, type, count, values));
}

cudnnBackendDescriptor_t make_tensor(int64_t uid, cudnnDataType_t dtype, const int64_t dims[4],
                                     const int64_t strides[4], bool is_virtual) {
    cudnnBackendDescriptor_t t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t alignment = 16;
    if (is_virtual) set(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual);
    set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dtype);
    set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
    CHECK_CUDNN(cudnnBackendFinalize(t));
    return t;
}

}  // namespace

cudnnBackendDescriptor_t make_backend_tensor(int64_t uid, cudnnDataType_t dtype, const int64_t dims[4],
                                             const int64_t strides[4]) {
    return make_tensor(uid, dtype, dims, strides, false);
}

BackendConv::BackendConv(const ConvCase& cc) : cc_(cc) {
    p = cc.p();
    q = cc.q();
    x_layout = make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w);
    y_layout = make_layout(cc.layout, cc.n, cc.k(), p, q);
    int64_t dims[4], strides[4];
    for (int d = 0; d < 4; ++d) {
        dims[d] = x_layout.dims[d];
        strides[d] = x_layout.strides[d];
    }
    x = keep(make_backend_tensor(kXUid, cc.dtype, dims, strides));
    for (int d = 0; d < 4; ++d) {
        dims[d] = y_layout.dims[d];
        strides[d] = y_layout.strides[d];
    }
    y = keep(make_backend_tensor(kYUid, cc.dtype, dims, strides));
    const bool fused = cc.bias || cc.activation != 0;
    cudnnBackendDescriptor_t conv_out = y;
    if (fused) conv_out = keep(make_tensor(201, CUDNN_DATA_FLOAT, dims, strides, true));
    const int64_t w_dims[4] = {cc.k(), 1, cc.kh, cc.kw};
    const int64_t w_strides[4] = {int64_t{cc.kh} * cc.kw, int64_t{cc.kh} * cc.kw, cc.kw, 1};
    w = keep(make_backend_tensor(kWUid, cc.dtype, w_dims, w_strides));

    conv = keep(create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR));
    const cudnnDataType_t compute = cc.dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    const int64_t spatial = 2;
    const int64_t pre[2] = {cc.pad_h, cc.pad_w};
    const int64_t post[2] = {cc.pad_h + cc.post_pad_extra, cc.pad_w + cc.post_pad_extra};
    const int64_t stride[2] = {cc.stride_h, cc.stride_w};
    const int64_t dilation[2] = {cc.dil_h, cc.dil_w};
    set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &cc.mode);
    set(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial);
    set(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre);
    set(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post);
    set(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
    set(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilation);
    CHECK_CUDNN(cudnnBackendFinalize(conv));

    if (cc.direction == dwshim::Direction::kDataGrad) {
        op = keep(create(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR));
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_TYPE_FLOAT, 1, &cc.alpha);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, CUDNN_TYPE_FLOAT, 1, &cc.beta);
    } else if (cc.direction == dwshim::Direction::kFilterGrad) {
        op = keep(create(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR));
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_TYPE_FLOAT, 1, &cc.alpha);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, CUDNN_TYPE_FLOAT, 1, &cc.beta);
    } else {
        op = keep(create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv_out);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &cc.alpha);
        const float conv_beta = fused ? 0.0f : cc.beta;
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &conv_beta);
    }
    CHECK_CUDNN(cudnnBackendFinalize(op));
    ops.push_back(op);
    if (!fused) return;

    cudnnBackendDescriptor_t current = conv_out;
    if (cc.beta != 0.0f) {
        cudnnBackendDescriptor_t z = keep(make_backend_tensor(kResidualUid, cc.dtype, dims, strides));
        cudnnBackendDescriptor_t out = keep(make_tensor(203, CUDNN_DATA_FLOAT, dims, strides, true));
        ops.push_back(make_pointwise(CUDNN_POINTWISE_ADD, current, z, out, cc.beta));
        current = out;
    }
    if (cc.bias) {
        const int64_t bias_dims[4] = {1, cc.k(), 1, 1}, bias_strides[4] = {cc.k(), 1, 1, 1};
        cudnnBackendDescriptor_t bias = keep(make_backend_tensor(kBiasUid, cc.dtype, bias_dims, bias_strides));
        cudnnBackendDescriptor_t out = cc.activation != 0 ? keep(make_tensor(202, CUDNN_DATA_FLOAT, dims, strides, true))
                                                          : y;
        ops.push_back(make_pointwise(CUDNN_POINTWISE_ADD, current, bias, out));
        current = out;
    }
    if (cc.activation != 0) ops.push_back(make_pointwise(CUDNN_POINTWISE_RELU_FWD, current, nullptr, y));
}

cudnnBackendDescriptor_t BackendConv::make_pointwise(cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t in,
                                                     cudnnBackendDescriptor_t second, cudnnBackendDescriptor_t out,
                                                     float second_scale) {
    cudnnBackendDescriptor_t pointwise = keep(create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR));
    const cudnnDataType_t precision = CUDNN_DATA_FLOAT;
    set(pointwise, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    set(pointwise, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &precision);
    if (mode == CUDNN_POINTWISE_RELU_FWD && cc_.activation == 2) {
        const double clip = cc_.clip;
        set(pointwise, CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, 1, &clip);
    }
    CHECK_CUDNN(cudnnBackendFinalize(pointwise));
    cudnnBackendDescriptor_t op_desc = keep(create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR));
    set(op_desc, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pointwise);
    set(op_desc, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &in);
    if (second != nullptr) set(op_desc, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &second);
    set(op_desc, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &out);
    if (second_scale != 1.0f) set(op_desc, CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, CUDNN_TYPE_FLOAT, 1, &second_scale);
    CHECK_CUDNN(cudnnBackendFinalize(op_desc));
    return op_desc;
}

cudnnBackendDescriptor_t BackendConv::make_second_op() {
    int64_t dims[4], strides[4];
    for (int d = 0; d < 4; ++d) {
        dims[d] = y_layout.dims[d];
        strides[d] = y_layout.strides[d];
    }
    cudnnBackendDescriptor_t y2 = keep(make_backend_tensor(kYUid + 1, cc_.dtype, dims, strides));
    cudnnBackendDescriptor_t op2 = keep(create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
    set(op2, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    set(op2, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
    set(op2, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y2);
    set(op2, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
    CHECK_CUDNN(cudnnBackendFinalize(op2));
    return op2;
}

cudnnBackendDescriptor_t BackendConv::make_graph(const std::vector<cudnnBackendDescriptor_t>& ops,
                                                 cudnnHandle_t handle) {
    cudnnBackendDescriptor_t graph = keep(create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
    if (handle != nullptr) set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<int64_t>(ops.size()),
        ops.data());
    return cudnnBackendFinalize(graph) == CUDNN_STATUS_SUCCESS ? graph : nullptr;
}

cudnnBackendDescriptor_t BackendConv::make_plan(cudnnHandle_t handle, cudnnBackendDescriptor_t graph,
                                                int64_t* workspace) {
    cudnnBackendDescriptor_t heuristics = keep(create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR));
    const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    set(heuristics, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    set(heuristics, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    CHECK_CUDNN(cudnnBackendFinalize(heuristics));
    int64_t count = 0;
    CHECK_CUDNN(cudnnBackendGetAttribute(heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                         &count, nullptr));
    std::vector<cudnnBackendDescriptor_t> configs(count);
    for (auto& config : configs) config = keep(create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    CHECK_CUDNN(cudnnBackendGetAttribute(heuristics, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         count, &count, configs.data()));
    for (int64_t i = 0; i < count; ++i) {
        cudnnBackendDescriptor_t plan = keep(create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR));
        set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
        set(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &configs[i]);
        if (cudnnBackendFinalize(plan) != CUDNN_STATUS_SUCCESS) continue;
        int64_t returned = 0;
        CHECK_CUDNN(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1,
                                             &returned, workspace));
        return plan;
    }
    return nullptr;
}

cudnnBackendDescriptor_t BackendConv::make_variant_pack(void* x_data, void* w_data, void* y_data, void* workspace,
                                                        void* bias, void* residual) {
    cudnnBackendDescriptor_t pack = keep(create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR));
    std::vector<int64_t> uids = {kXUid, kWUid, kYUid};
    std::vector<void*> pointers = {x_data, w_data, y_data};
    if (bias != nullptr) {
        uids.push_back(kBiasUid);
        pointers.push_back(bias);
    }
    if (residual != nullptr) {
        uids.push_back(kResidualUid);
        pointers.push_back(residual);
    }
    const int64_t count = static_cast<int64_t>(uids.size());
    set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, count, uids.data());
    set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, count, pointers.data());
    set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    CHECK_CUDNN(cudnnBackendFinalize(pack));
    return pack;
}

cudnnBackendDescriptor_t BackendConv::keep(cudnnBackendDescriptor_t d) {
    owned_.push_back(d);
    return d;
}

BackendConv::~BackendConv() {
    for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) cudnnBackendDestroyDescriptor(*it);
}

}  // namespace dwtest
