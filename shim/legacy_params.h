#pragma once

#include <cudnn.h>

#include "interpose/real_cudnn.h"
#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

// Reads the legacy descriptors through the real cuDNN's getters into `params` (everything but the pointers and
// alpha/beta) and says whether such a call can be routed. Anything that is not kRouted is forwarded untouched,
// so a malformed call gets whatever status the real cuDNN gives it.
RouteReason params_from_legacy(const RealCudnn& real, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                               cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                               DepthwiseParams* params);

// For cudnnConvolutionBiasActivationForward: checks that z has y's sizes, strides and type, that the bias is
// [1, k, 1, 1] of y's type, and that the activation is identity, ReLU or clipped ReLU; fills the activation.
RouteReason epilogue_from_legacy(const RealCudnn& real, cudnnTensorDescriptor_t z_desc,
                                 cudnnTensorDescriptor_t bias_desc, cudnnActivationDescriptor_t activation_desc,
                                 DepthwiseParams* params);

// The routing decision of the legacy API for one direction: DWSHIM_DISABLE, then params_from_legacy with the
// real cuDNN, then the measured routing policy (route_policy.h). The descriptors are the same in every
// direction: x (or dx), w (or dw), the convolution, y (or dy).
RouteReason route_legacy(Direction direction, cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                         cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                         DepthwiseParams* params);

}  // namespace dwshim
