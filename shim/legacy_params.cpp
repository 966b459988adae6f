#include "legacy_params.h"

#include "conv_description.h"
#include "route_policy.h"
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

    if (w_format != CUDNN_TENSOR_NCHW && w_format != CUDNN_TENSOR_NHWC) {
        return RouteReason::kFilterFormat;  // with one input channel per group, both store [k][r][s] alike
    }

    ConvDescription conv;
    conv.x_type = x.dtype;
    conv.w_type = w_dtype;
    conv.y_type = y.dtype;
    conv.compute_type = compute;
    for (int d = 0; d < 4; ++d) {
        conv.x_dims[d] = x.dims[d];
        conv.x_strides[d] = x.strides[d];
        conv.w_dims[d] = w_dims[d];
        conv.y_dims[d] = y.dims[d];
        conv.y_strides[d] = y.strides[d];
    }
    for (int i = 0; i < 2; ++i) {
        conv.pad_before[i] = conv.pad_after[i] = pad[i];  // the legacy API pads symmetrically
        conv.stride[i] = stride[i];
        conv.dilation[i] = dilation[i];
    }
    conv.groups = groups;
    conv.flip = mode == CUDNN_CONVOLUTION;
    return params_from_description(conv, params);
}

RouteReason epilogue_from_legacy(const RealCudnn& real, cudnnTensorDescriptor_t z_desc,
                                 cudnnTensorDescriptor_t bias_desc, cudnnActivationDescriptor_t activation_desc,
                                 DepthwiseParams* params) {
    DepthwiseParams& p = *params;
    Tensor4d z{}, bias{};
    if (z_desc == nullptr || bias_desc == nullptr || activation_desc == nullptr ||
        real.cudnnGetActivationDescriptor == nullptr || read_tensor(real, z_desc, &z) != RouteReason::kRouted ||
        read_tensor(real, bias_desc, &bias) != RouteReason::kRouted) {
        return RouteReason::kBadArgument;
    }
    DType z_type, bias_type;
    const int64_t y_dims[4] = {p.n, p.k, p.p, p.q};
    for (int d = 0; d < 4; ++d) {
        if (z.dims[d] != y_dims[d] || z.strides[d] != p.y_stride[d]) return RouteReason::kEpilogue;
    }
    if (!to_dtype(z.dtype, &z_type) || z_type != p.dtype || !to_dtype(bias.dtype, &bias_type) ||
        bias_type != p.dtype || bias.dims[0] != 1 || bias.dims[1] != p.k || bias.dims[2] != 1 || bias.dims[3] != 1 ||
        (p.k > 1 && bias.strides[1] != 1)) {
        return RouteReason::kEpilogue;
    }
    cudnnActivationMode_t mode;
    cudnnNanPropagation_t nan;
    double coef = 0.0;
    if (real.cudnnGetActivationDescriptor(activation_desc, &mode, &nan, &coef) != CUDNN_STATUS_SUCCESS) {
        return RouteReason::kBadArgument;
    }
    switch (mode) {
        case CUDNN_ACTIVATION_IDENTITY:
            p.activation = Activation::kIdentity;
            break;
        case CUDNN_ACTIVATION_RELU:
            p.activation = Activation::kRelu;
            break;
        case CUDNN_ACTIVATION_CLIPPED_RELU:
            p.activation = Activation::kClippedRelu;
            p.clip = static_cast<float>(coef);
            break;
        default:
            return RouteReason::kEpilogue;
    }
    p.propagate_nan = nan == CUDNN_PROPAGATE_NAN;
    return RouteReason::kRouted;
}

RouteReason route_legacy(Direction direction, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                         cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                         DepthwiseParams* params) {
    params->direction = direction;
    if (settings().disabled) return RouteReason::kDisabled;
    const RouteReason reason = params_from_legacy(real_cudnn(), x_desc, w_desc, conv_desc, y_desc, params);
    return reason == RouteReason::kRouted ? route_if_faster(Api::kLegacy, *params) : reason;
}

}  // namespace dwshim
