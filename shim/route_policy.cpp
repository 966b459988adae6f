#include "route_policy.h"

#include "kernels/depthwise_forward.h"
#include "settings.h"

namespace dwshim {
namespace {

// Each rule below is read off one suite run on an H100 with cuDNN 9.19 and PyTorch 2.11
// (bench/results/2026-11-25-h100-suite-*.csv; the NHWC rules from 2026-11-25b-h100-suite-*.csv): dwshim's kernel against cuDNN through the same API. For the
// backend API "cuDNN" is the faster of the heuristic plan and the plan PyTorch picks. cuDNN's legacy API is far
// slower than its backend engines for depthwise convolutions, so the two APIs get different answers.

bool reduced_precision(const DepthwiseParams& p) {
    return p.dtype != DType::kFloat;
}

bool nchw_rows_faster(Api api, const DepthwiseParams& p) {
    // Legacy: faster in every suite case (mbv2_56 f16 0.084 vs 0.160 ms, effnet_k5s2 f16 0.125 vs 0.145).
    if (api == Api::kLegacy) return true;
    // PyTorch's kernel: faster (mbv2_56 f32 0.090 vs 0.154, convnext7 bf16 0.617 vs 1.774) except reduced
    // precision 5x5 and larger at stride 2, where it ties (effnet_k5s2 bf16 0.125 vs 0.122).
    if (api == Api::kTorchNative) return !(reduced_precision(p) && p.r >= 5 && p.stride_h > 1);
    // Backend, reduced precision: cuDNN's engines win (convnext7 f16 0.564 vs 0.611, mbv2_s2 0.092 vs 0.132)
    // except with a channel multiplier (mult2 f16 0.128 vs 0.296).
    if (reduced_precision(p)) return p.multiplier > 1;
    // Backend, fp32: faster (convnext7 0.577 vs 1.757, mbv2_s2 0.127 vs 0.152, effnet_k5s2 0.091 vs 0.126)
    // except 3x3 stride-1 rows narrower than a block, where it ties (mbv2_56: 0.090 vs 0.088).
    return !(p.r == 3 && p.stride_h == 1 && p.q < 64);
}

bool nhwc_vec_faster(Api api, const DepthwiseParams& p) {
    // Legacy: faster (KB84 f32 3.02 vs 60.8 ms, mbv2_56 f16 0.054 vs 0.065, effnet_k5s2 f16 0.074 vs 0.080) except
    // fp16 3x3 at stride 2, where cuDNN's algorithm 1 wins (mbv2_s2 f16 0.110 vs 0.106).
    if (api == Api::kLegacy) return !(p.dtype == DType::kHalf && p.r == 3 && p.stride_h > 1);
    // PyTorch sends channels-last depthwise convolutions to cuDNN, so its own kernel was never measured on them.
    if (api != Api::kBackend) return false;
    // Backend, fp16/bf16: cuDNN's engines win everywhere (KB84 f16 2.30 vs 1.89 ms, convnext7 f16 0.78 vs 0.35).
    if (reduced_precision(p)) return false;
    // Backend, fp32: faster at 7x7 (convnext7 0.44 vs 0.96 ms) and for large 3x3 stride-1 inputs (KB84, 2^30
    // elements: 3.00 vs 3.27 ms); small 3x3 and 5x5 lose or tie (mbv2_56 0.064 vs 0.059, mbv2_s2 0.134 vs 0.110,
    // effnet_k5s2 0.081 vs 0.085).
    const int64_t x_elements = p.n * p.c * p.h * p.w;
    return p.r == 7 || (p.r == 3 && p.stride_h == 1 && x_elements >= (int64_t{1} << 28));
}

}  // namespace

RouteReason route_if_faster(Api api, const DepthwiseParams& params) {
    if (settings().route_all) return RouteReason::kRouted;
    bool faster = false;
    switch (select_path(params)) {
        case KernelPath::kGeneric:  // one thread per output: slower than cuDNN's backend engines on the suite
            faster = false;
            break;
        case KernelPath::kNchwVec:  // KB84 f32 3.15 ms vs 9.24 legacy / 4.36 backend / 10.16 PyTorch (2026-11-25d)
            faster = true;
            break;
        case KernelPath::kNchwRows:
            faster = nchw_rows_faster(api, params);
            break;
        case KernelPath::kNhwcVec:
            faster = nhwc_vec_faster(api, params);
            break;
        case KernelPath::kLargeFilter:  // replk31: 2.37-2.42 ms vs cuDNN 11.0-12.4 NCHW / 75.1-75.9 NHWC, PyTorch 6.8-8.1
            faster = true;
            break;
    }
    return faster ? RouteReason::kRouted : RouteReason::kNotFaster;
}

}  // namespace dwshim
