// dwshim's own exported entry points: a direct convolution call (used by the Python package) and
// introspection for tests and tools.
#include "dwshim.h"

#include "interpose/export.h"
#include "interpose/real_cudnn.h"
#include "kernels/depthwise.h"
#include "legacy_params.h"
#include "report.h"
#include "route_policy.h"
#include "test_hooks.h"

namespace dwshim {
namespace {

bool fill_params(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4], const int64_t geometry[8],
                 const int64_t y_sizes[4], const int64_t y_strides[4], DepthwiseParams* p) {
    if (dtype < DWSHIM_FLOAT || dtype > DWSHIM_BFLOAT16) return false;
    p->dtype = static_cast<DType>(dtype);
    p->n = x_sizes[kN];
    p->c = x_sizes[kC];
    p->h = x_sizes[kH];
    p->w = x_sizes[kW];
    p->k = y_sizes[kC];
    p->p = y_sizes[kH];
    p->q = y_sizes[kW];
    p->r = geometry[0];
    p->s = geometry[1];
    p->stride_h = geometry[2];
    p->stride_w = geometry[3];
    p->pad_h = geometry[4];
    p->pad_w = geometry[5];
    p->dil_h = geometry[6];
    p->dil_w = geometry[7];
    p->multiplier = p->c > 0 ? p->k / p->c : 0;
    for (int d = 0; d < 4; ++d) {
        p->x_stride[d] = x_strides[d];
        p->y_stride[d] = y_strides[d];
    }
    return y_sizes[kN] == p->n &&
           p->p == conv_output_size(p->h, p->pad_h, p->pad_h, p->r, p->dil_h, p->stride_h) &&
           p->q == conv_output_size(p->w, p->pad_w, p->pad_w, p->s, p->dil_w, p->stride_w);
}

}  // namespace
}  // namespace dwshim

namespace dwshim {
namespace {

// Both C entry points; `replaces` says which implementation the caller would otherwise run (null: any).
int conv2d_forward(const char* entry, const Api* replaces, int dtype, const int64_t x_sizes[4],
                   const int64_t x_strides[4], const void* x, const void* filter, const void* bias,
                   const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4], void* y,
                   float alpha, float beta, void* stream) {
    if (x_sizes == nullptr || x_strides == nullptr || geometry == nullptr || y_sizes == nullptr ||
        y_strides == nullptr || x == nullptr || filter == nullptr || y == nullptr) {
        report_decision(entry, /*executes=*/true, RouteReason::kBadArgument, Direction::kForward, nullptr);
        return DWSHIM_BAD_ARGUMENT;
    }
    DepthwiseParams params;
    RouteReason reason = RouteReason::kRouted;
    if (!fill_params(dtype, x_sizes, x_strides, geometry, y_sizes, y_strides, &params)) {
        reason = RouteReason::kShapeMismatch;
    } else if (!can_implement(params, nullptr)) {
        reason = RouteReason::kKernelCannotImplement;
    } else if (replaces != nullptr) {
        reason = route_if_faster(*replaces, params);
    }
    report_decision(entry, /*executes=*/true, reason, Direction::kForward, &params);
    if (reason == RouteReason::kNotFaster) return DWSHIM_NOT_FASTER;
    if (reason != RouteReason::kRouted) return DWSHIM_CANNOT_IMPLEMENT;
    params.x = const_cast<void*>(x);  // only read: the forward direction writes y alone
    params.filter = const_cast<void*>(filter);
    params.bias = bias;
    params.y = y;
    params.alpha = alpha;
    params.residual_scale = beta;
    params.residual = beta != 0.0f ? y : nullptr;
    return run_depthwise(params, nullptr, static_cast<cudaStream_t>(stream)) == cudaSuccess ? DWSHIM_OK
                                                                                           : DWSHIM_LAUNCH_FAILED;
}

}  // namespace
}  // namespace dwshim

DWSHIM_EXPORT int dwshim_conv2d_forward(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                        const void* x, const void* filter, const void* bias,
                                        const int64_t geometry[8], const int64_t y_sizes[4],
                                        const int64_t y_strides[4], void* y, float alpha, float beta,
                                        void* stream) {
    return dwshim::conv2d_forward("dwshim_conv2d_forward", nullptr, dtype, x_sizes, x_strides, x, filter, bias,
                                  geometry, y_sizes, y_strides, y, alpha, beta, stream);
}

DWSHIM_EXPORT int dwshim_conv2d_forward_if_faster(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                                  const void* x, const void* filter, const void* bias,
                                                  const int64_t geometry[8], const int64_t y_sizes[4],
                                                  const int64_t y_strides[4], void* y, float alpha, float beta,
                                                  void* stream) {
    const dwshim::Api torch_native = dwshim::Api::kTorchNative;
    return dwshim::conv2d_forward("aten::_conv_depthwise2d", &torch_native, dtype, x_sizes, x_strides, x, filter,
                                  bias, geometry, y_sizes, y_strides, y, alpha, beta, stream);
}

DWSHIM_EXPORT const char* dwshim_real_cudnn_path(void) {
    return dwshim::real_cudnn().path.c_str();
}

DWSHIM_EXPORT uint64_t dwshim_decision_count(int reason) {
    if (reason < 0 || reason >= static_cast<int>(dwshim::RouteReason::kCount)) return 0;
    return dwshim::decisions_with(static_cast<dwshim::RouteReason>(reason));
}

DWSHIM_EXPORT const char* dwshim_reason_text(int reason) {
    if (reason < 0 || reason >= static_cast<int>(dwshim::RouteReason::kCount)) return nullptr;
    return dwshim::route_reason_text(static_cast<dwshim::RouteReason>(reason));
}

DWSHIM_EXPORT int dwshim_route_legacy(cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                                      cudnnConvolutionDescriptor_t conv_desc, cudnnTensorDescriptor_t y_desc,
                                      dwshim::DepthwiseParams* params) {
    return static_cast<int>(dwshim::route_legacy(params->direction, x_desc, w_desc, conv_desc, y_desc, params));
}
