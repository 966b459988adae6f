#include "legacy_params.h"

#include "kernels/depthwise_forward.h"
#include "settings.h"

namespace dwshim {
namespace {

struct Tensor4d {
    cudnnDataType_t dtype;
    int dims[4];
    int strides[4];
};

RouteReason read_tensor(const RealCudnn& real, cudnnTensorDescriptor_t desc, Tensor4d* t) {
    int nb_dims = 0;
    int dims[CUDNN_DIM_MAX];
    int strides[CUDNN_DIM_MAX];
    if (real.cudnnGetTensorNdDescriptor(desc, CUDNN_DIM_MAX, &t->dtype, &nb_dims, dims, strides) !=
        CUDNN_STATUS_SUCCESS) {
        return RouteReason::kBadArgument;
    }
    if (nb_dims != 4) return RouteReason::kNot2d;
    for (int d = 0; d < 4; ++d) {
        t->dims[d] = dims[d];
        t->strides[d] = strides[d];
    }
    return RouteReason::kRouted;
}

// The compute types cuDNN pairs with each storage type; all of them are met (or exceeded) by fp32 arithmetic.
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

}  // namespace

RouteReason params_from_legacy(const RealCudnn& real, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                               cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                               DepthwiseParams* params) {
    if (real.cudnnGetTensorNdDescriptor == nullptr || real.cudnnGetFilterNdDescriptor == nullptr ||
        real.cudnnGetConvolutionNdDescriptor == nullptr || real.cudnnGetConvolutionGroupCount == nullptr) {
        return RouteReason::kNoRealCudnn;
    }
    if (x_desc == nullptr || w_desc == nullptr || conv_desc == nullptr || y_desc == nullptr) {
        return RouteReason::kBadArgument;
    }
    Tensor4d x{}, y{};
    RouteReason reason = read_tensor(real, x_desc, &x);
    if (reason == RouteReason::kRouted) reason = read_tensor(real, y_desc, &y);
    if (reason != RouteReason::kRouted) return reason;

    cudnnDataType_t w_dtype;
    cudnnTensorFormat_t w_format;
    int w_nb_dims = 0;
    int w_dims[CUDNN_DIM_MAX];
    if (real.cudnnGetFilterNdDescriptor(w_desc, CUDNN_DIM_MAX, &w_dtype, &w_format, &w_nb_dims, w_dims) !=
        CUDNN_STATUS_SUCCESS) {
        return RouteReason::kBadArgument;
    }
    if (w_nb_dims != 4) return RouteReason::kNot2d;

    int spatial = 0;
    int pad[CUDNN_DIM_MAX], stride[CUDNN_DIM_MAX], dilation[CUDNN_DIM_MAX];
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
    int groups = 0;
    if (real.cudnnGetConvolutionNdDescriptor(conv_desc, CUDNN_DIM_MAX - 2, &spatial, pad, stride, dilation, &mode,
                                             &compute) != CUDNN_STATUS_SUCCESS ||
        real.cudnnGetConvolutionGroupCount(conv_desc, &groups) != CUDNN_STATUS_SUCCESS) {
        return RouteReason::kBadArgument;
    }
    if (spatial != 2) return RouteReason::kNot2d;

    DepthwiseParams& p = *params;
    p.n = x.dims[0];
    p.c = x.dims[1];
    p.h = x.dims[2];
    p.w = x.dims[3];
    p.k = w_dims[0];
    p.r = w_dims[2];
    p.s = w_dims[3];
    p.p = y.dims[2];
    p.q = y.dims[3];
    p.pad_h = pad[0];
    p.pad_w = pad[1];
    p.stride_h = stride[0];
    p.stride_w = stride[1];
    p.dil_h = dilation[0];
    p.dil_w = dilation[1];
    p.flip = mode == CUDNN_CONVOLUTION;
    for (int d = 0; d < 4; ++d) {
        p.x_stride[d] = x.strides[d];
        p.y_stride[d] = y.strides[d];
    }

    if (x.dtype != y.dtype || x.dtype != w_dtype || !to_dtype(x.dtype, &p.dtype)) return RouteReason::kDataType;
    if (!compute_type_allowed(x.dtype, compute)) return RouteReason::kComputeType;
    // With one input channel per group, both filter formats store [k][r][s] the same way.
    if (w_format != CUDNN_TENSOR_NCHW && w_format != CUDNN_TENSOR_NHWC) return RouteReason::kFilterFormat;
    if (groups != x.dims[1] || w_dims[1] != 1 || p.c < 1 || p.k % p.c != 0) return RouteReason::kNotDepthwise;
    p.multiplier = p.k / p.c;

    const int64_t expected_p = conv_output_size(p.h, p.pad_h, p.pad_h, p.r, p.dil_h, p.stride_h);
    const int64_t expected_q = conv_output_size(p.w, p.pad_w, p.pad_w, p.s, p.dil_w, p.stride_w);
    if (y.dims[0] != x.dims[0] || y.dims[1] != p.k || p.p != expected_p || p.q != expected_q) {
        return RouteReason::kShapeMismatch;
    }
    return can_implement(p, nullptr) ? RouteReason::kRouted : RouteReason::kKernelCannotImplement;
}

RouteReason route_legacy(cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                         cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                         DepthwiseParams* params) {
    if (settings().disabled) return RouteReason::kDisabled;
    return params_from_legacy(real_cudnn(), x_desc, w_desc, conv_desc, y_desc, params);
}

}  // namespace dwshim
