#include "conv_description.h"

#include "kernels/depthwise.h"

namespace dwshim {
namespace {

// The compute types cuDNN pairs with each storage type; fp32 arithmetic meets or exceeds all of them, and
// every math type (TF32 or fp16 tensor-op conversions allowed or not), which is why the math type is not read.
bool compute_type_allowed(cudnnDataType_t data, cudnnDataType_t compute) {
    switch (data) {
        case CUDNN_DATA_FLOAT:
        case CUDNN_DATA_BFLOAT16:
            return compute == CUDNN_DATA_FLOAT;
        case CUDNN_DATA_HALF:
            return compute == CUDNN_DATA_FLOAT || compute == CUDNN_DATA_HALF;
        default:
            return false;
    }
}

}  // namespace

bool to_dtype(cudnnDataType_t data, DType* dtype) {
    switch (data) {
        case CUDNN_DATA_FLOAT:
            *dtype = DType::kFloat;
            return true;
        case CUDNN_DATA_HALF:
            *dtype = DType::kHalf;
            return true;
        case CUDNN_DATA_BFLOAT16:
            *dtype = DType::kBFloat16;
            return true;
        default:
            return false;
    }
}

RouteReason params_from_description(const ConvDescription& conv, DepthwiseParams* params) {
    DepthwiseParams& p = *params;
    p.n = conv.x_dims[0];
    p.c = conv.x_dims[1];
    p.h = conv.x_dims[2];
    p.w = conv.x_dims[3];
    p.k = conv.w_dims[0];
    p.r = conv.w_dims[2];
    p.s = conv.w_dims[3];
    p.p = conv.y_dims[2];
    p.q = conv.y_dims[3];
    p.pad_h = conv.pad_before[0];
    p.pad_w = conv.pad_before[1];
    p.stride_h = conv.stride[0];
    p.stride_w = conv.stride[1];
    p.dil_h = conv.dilation[0];
    p.dil_w = conv.dilation[1];
    p.flip = conv.flip;
    for (int d = 0; d < 4; ++d) {
        p.x_stride[d] = conv.x_strides[d];
        p.y_stride[d] = conv.y_strides[d];
    }

    if (conv.x_type != conv.y_type || conv.x_type != conv.w_type || !to_dtype(conv.x_type, &p.dtype)) {
        return RouteReason::kDataType;
    }
    if (!compute_type_allowed(conv.x_type, conv.compute_type)) return RouteReason::kComputeType;
    if (conv.groups != p.c || conv.w_dims[1] != 1 || p.c < 1 || p.k % p.c != 0) return RouteReason::kNotDepthwise;
    p.multiplier = p.k / p.c;

    const int64_t expected_p =
        conv_output_size(p.h, conv.pad_before[0], conv.pad_after[0], p.r, p.dil_h, p.stride_h);
    const int64_t expected_q =
        conv_output_size(p.w, conv.pad_before[1], conv.pad_after[1], p.s, p.dil_w, p.stride_w);
    if (conv.y_dims[0] != p.n || conv.y_dims[1] != p.k || p.p != expected_p || p.q != expected_q) {
        return RouteReason::kShapeMismatch;
    }
    return can_implement(p, nullptr) ? RouteReason::kRouted : RouteReason::kKernelCannotImplement;
}

}  // namespace dwshim
