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
#include "tuned_routes.h"

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

// The caller the _if_faster entry points stand in for: PyTorch's own CUDA depthwise kernels.
constexpr Api kTorchNative = Api::kTorchNative;

// The tensors of a direct call: the direction's output is the one non-const pointer it writes.
struct DirectTensors {
    const void* x = nullptr;
    const void* filter = nullptr;
    const void* bias = nullptr;
    const void* y = nullptr;
    void* output = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 0;
};

// Sizes checked and read, and whether dwshim computes them (for the caller that `replaces` names, where it is
// not null, whether it was measured faster there).
RouteReason decide_direct(Direction direction, const Api* replaces, int dtype, const int64_t x_sizes[4],
                          const int64_t x_strides[4], const int64_t geometry[8], const int64_t y_sizes[4],
                          const int64_t y_strides[4], DepthwiseParams* params) {
    if (x_sizes == nullptr || x_strides == nullptr || geometry == nullptr || y_sizes == nullptr ||
        y_strides == nullptr) {
        return RouteReason::kBadArgument;
    }
    params->direction = direction;
    if (!fill_params(dtype, x_sizes, x_strides, geometry, y_sizes, y_strides, params)) {
        return RouteReason::kShapeMismatch;
    }
    if (!can_implement(*params, nullptr)) return RouteReason::kKernelCannotImplement;
    return replaces != nullptr ? route_if_faster(*replaces, *params) : RouteReason::kRouted;
}

int status_of(RouteReason reason) {
    switch (reason) {
        case RouteReason::kRouted:
            return DWSHIM_OK;
        case RouteReason::kBadArgument:
            return DWSHIM_BAD_ARGUMENT;
        case RouteReason::kNotFaster:
        case RouteReason::kTunedSlower:
            return DWSHIM_NOT_FASTER;
        default:
            return DWSHIM_CANNOT_IMPLEMENT;
    }
}

// Every executing C entry point: `direction` says which of the tensors is written; alpha and beta scale the result
// and the output's previous content.
int conv2d_direct(const char* entry, Direction direction, const Api* replaces, int dtype, const int64_t x_sizes[4],
                  const int64_t x_strides[4], const int64_t geometry[8], const int64_t y_sizes[4],
                  const int64_t y_strides[4], const DirectTensors& t, float alpha, float beta, void* stream) {
    DepthwiseParams params;
    const bool inputs_given = direction == Direction::kForward    ? t.x != nullptr && t.filter != nullptr
                              : direction == Direction::kDataGrad ? t.y != nullptr && t.filter != nullptr
                                                                  : t.x != nullptr && t.y != nullptr;
    RouteReason reason = inputs_given && t.output != nullptr
                             ? decide_direct(direction, replaces, dtype, x_sizes, x_strides, geometry, y_sizes,
                                             y_strides, &params)
                             : RouteReason::kBadArgument;
    if (reason == RouteReason::kRouted && t.workspace_bytes < workspace_bytes(params)) {
        reason = RouteReason::kBadArgument;
    }
    report_decision(entry, /*executes=*/true, reason, direction, reason == RouteReason::kBadArgument ? nullptr
                                                                                                     : &params);
    if (reason != RouteReason::kRouted) return status_of(reason);
    // The const inputs are only read: each direction writes its output alone.
    params.x = direction == Direction::kDataGrad ? t.output : const_cast<void*>(t.x);
    params.filter = direction == Direction::kFilterGrad ? t.output : const_cast<void*>(t.filter);
    params.y = direction == Direction::kForward ? t.output : const_cast<void*>(t.y);
    params.bias = t.bias;
    params.alpha = alpha;
    params.residual_scale = beta;
    params.residual = beta != 0.0f ? t.output : nullptr;
    return run_depthwise(params, t.workspace, static_cast<cudaStream_t>(stream)) == cudaSuccess
               ? DWSHIM_OK
               : DWSHIM_LAUNCH_FAILED;
}

int conv2d_forward(const char* entry, const Api* replaces, int dtype, const int64_t x_sizes[4],
                   const int64_t x_strides[4], const void* x, const void* filter, const void* bias,
                   const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4], void* y,
                   float alpha, float beta, void* stream) {
    DirectTensors t;
    t.x = x;
    t.filter = filter;
    t.bias = bias;
    t.output = y;
    return conv2d_direct(entry, Direction::kForward, replaces, dtype, x_sizes, x_strides, geometry, y_sizes,
                         y_strides, t, alpha, beta, stream);
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
    return dwshim::conv2d_forward("aten::_conv_depthwise2d", &dwshim::kTorchNative, dtype, x_sizes, x_strides, x,
                                  filter, bias, geometry, y_sizes, y_strides, y, alpha, beta, stream);
}

namespace dwshim {
namespace {

int backward_data(const char* entry, const Api* replaces, int dtype, const int64_t x_sizes[4],
                  const int64_t x_strides[4], void* dx, const void* filter, const int64_t geometry[8],
                  const int64_t y_sizes[4], const int64_t y_strides[4], const void* dy, float alpha, float beta,
                  void* stream) {
    DirectTensors t;
    t.filter = filter;
    t.y = dy;
    t.output = dx;
    return conv2d_direct(entry, Direction::kDataGrad, replaces, dtype, x_sizes, x_strides, geometry, y_sizes,
                         y_strides, t, alpha, beta, stream);
}

int backward_filter(const char* entry, const Api* replaces, int dtype, const int64_t x_sizes[4],
                    const int64_t x_strides[4], const void* x, void* dfilter, const int64_t geometry[8],
                    const int64_t y_sizes[4], const int64_t y_strides[4], const void* dy, float alpha, float beta,
                    void* workspace, size_t workspace_bytes, void* stream) {
    DirectTensors t;
    t.x = x;
    t.y = dy;
    t.output = dfilter;
    t.workspace = workspace;
    t.workspace_bytes = workspace_bytes;
    return conv2d_direct(entry, Direction::kFilterGrad, replaces, dtype, x_sizes, x_strides, geometry, y_sizes,
                         y_strides, t, alpha, beta, stream);
}

}  // namespace
}  // namespace dwshim

DWSHIM_EXPORT int dwshim_conv2d_backward_data(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                              void* dx, const void* filter, const int64_t geometry[8],
                                              const int64_t y_sizes[4], const int64_t y_strides[4], const void* dy,
                                              float alpha, float beta, void* stream) {
    return dwshim::backward_data("dwshim_conv2d_backward_data", nullptr, dtype, x_sizes, x_strides, dx, filter,
                                 geometry, y_sizes, y_strides, dy, alpha, beta, stream);
}

DWSHIM_EXPORT int dwshim_conv2d_backward_data_if_faster(int dtype, const int64_t x_sizes[4],
                                                        const int64_t x_strides[4], void* dx, const void* filter,
                                                        const int64_t geometry[8], const int64_t y_sizes[4],
                                                        const int64_t y_strides[4], const void* dy, float alpha,
                                                        float beta, void* stream) {
    return dwshim::backward_data("aten::convolution_backward (input)", &dwshim::kTorchNative, dtype, x_sizes,
                                 x_strides, dx, filter, geometry, y_sizes, y_strides, dy, alpha, beta, stream);
}

DWSHIM_EXPORT int dwshim_conv2d_backward_filter_workspace_size(int dtype, const int64_t x_sizes[4],
                                                               const int64_t x_strides[4], const int64_t geometry[8],
                                                               const int64_t y_sizes[4], const int64_t y_strides[4],
                                                               size_t* bytes) {
    dwshim::DepthwiseParams params;
    const dwshim::RouteReason reason =
        bytes == nullptr ? dwshim::RouteReason::kBadArgument
                         : dwshim::decide_direct(dwshim::Direction::kFilterGrad, nullptr, dtype, x_sizes, x_strides,
                                                 geometry, y_sizes, y_strides, &params);
    if (reason == dwshim::RouteReason::kRouted) *bytes = dwshim::workspace_bytes(params);
    return dwshim::status_of(reason);
}

DWSHIM_EXPORT int dwshim_conv2d_backward_filter(int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                                const void* x, void* dfilter, const int64_t geometry[8],
                                                const int64_t y_sizes[4], const int64_t y_strides[4],
                                                const void* dy, float alpha, float beta, void* workspace,
                                                size_t workspace_bytes, void* stream) {
    return dwshim::backward_filter("dwshim_conv2d_backward_filter", nullptr, dtype, x_sizes, x_strides, x, dfilter,
                                   geometry, y_sizes, y_strides, dy, alpha, beta, workspace, workspace_bytes,
                                   stream);
}

DWSHIM_EXPORT int dwshim_conv2d_backward_filter_if_faster(int dtype, const int64_t x_sizes[4],
                                                          const int64_t x_strides[4], const void* x, void* dfilter,
                                                          const int64_t geometry[8], const int64_t y_sizes[4],
                                                          const int64_t y_strides[4], const void* dy, float alpha,
                                                          float beta, void* workspace, size_t workspace_bytes,
                                                          void* stream) {
    return dwshim::backward_filter("aten::convolution_backward (weight)", &dwshim::kTorchNative, dtype, x_sizes,
                                   x_strides, x, dfilter, geometry, y_sizes, y_strides, dy, alpha, beta, workspace,
                                   workspace_bytes, stream);
}

DWSHIM_EXPORT int dwshim_conv2d_if_faster_query(int dtype, int op, const int64_t x_sizes[4],
                                                const int64_t x_strides[4], const int64_t geometry[8],
                                                const int64_t y_sizes[4], const int64_t y_strides[4],
                                                size_t* workspace_bytes) {
    if (op < 0 || op > static_cast<int>(dwshim::Direction::kFilterGrad)) return DWSHIM_BAD_ARGUMENT;
    dwshim::DepthwiseParams params;
    const dwshim::RouteReason reason =
        dwshim::decide_direct(static_cast<dwshim::Direction>(op), &dwshim::kTorchNative, dtype, x_sizes, x_strides,
                              geometry, y_sizes, y_strides, &params);
    if (reason == dwshim::RouteReason::kRouted && workspace_bytes != nullptr) {
        *workspace_bytes = dwshim::workspace_bytes(params);
    }
    return dwshim::status_of(reason);
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

DWSHIM_EXPORT int dwshim_tune_record_torch_native(int dtype, int op, const int64_t x_sizes[4],
                                                  const int64_t x_strides[4], const int64_t geometry[8],
                                                  const int64_t y_sizes[4], const int64_t y_strides[4],
                                                  double dwshim_ms, double torch_ms) {
    if (op < 0 || op > static_cast<int>(dwshim::Direction::kFilterGrad)) return DWSHIM_BAD_ARGUMENT;
    dwshim::DepthwiseParams params;
    const dwshim::RouteReason reason = dwshim::decide_direct(static_cast<dwshim::Direction>(op), nullptr, dtype,
                                                             x_sizes, x_strides, geometry, y_sizes, y_strides,
                                                             &params);
    if (reason != dwshim::RouteReason::kRouted) return dwshim::status_of(reason);
    return dwshim::record_tuned_route(dwshim::kTorchNative, params, dwshim_ms, torch_ms) ? DWSHIM_OK
                                                                                          : DWSHIM_CANNOT_IMPLEMENT;
}

DWSHIM_EXPORT int dwshim_tune_record(int api, const dwshim::DepthwiseParams* params, double dwshim_ms,
                                     double replaced_ms) {
    if (params == nullptr || api < 0 || api > static_cast<int>(dwshim::Api::kTorchNative)) return 0;
    return dwshim::record_tuned_route(static_cast<dwshim::Api>(api), *params, dwshim_ms, replaced_ms) ? 1 : 0;
}

DWSHIM_EXPORT int dwshim_route_sizes(int api, int dtype, const int64_t x_sizes[4], const int64_t x_strides[4],
                                     const int64_t geometry[8], const int64_t y_sizes[4], const int64_t y_strides[4],
                                     dwshim::DepthwiseParams* params) {
    if (api < 0 || api > static_cast<int>(dwshim::Api::kTorchNative)) {
        return static_cast<int>(dwshim::RouteReason::kBadArgument);
    }
    const dwshim::Api replaces = static_cast<dwshim::Api>(api);
    return static_cast<int>(dwshim::decide_direct(params->direction, &replaces, dtype, x_sizes, x_strides, geometry,
                                                  y_sizes, y_strides, params));
}
