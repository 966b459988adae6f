#include "route_policy.h"

#include "kernels/depthwise_forward.h"
#include "settings.h"

namespace dwshim {
namespace {

// Each rule below is read off one suite run on an H100 with cuDNN 9.19 and PyTorch 2.11: dwshim's kernel against
// cuDNN through the same API (bench/results/2026-11-25-h100-suite-*.csv; the NHWC and NCHW-vector rules from the
// run after their latest kernel change, 2026-11-25e-h100-suite-*.csv). For the backend API "cuDNN" is the faster
// of the heuristic plan and the plan PyTorch picks. cuDNN's legacy API is far slower than its backend engines for
// depthwise convolutions, so the two APIs get different answers.

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
    // Legacy: faster in every suite case (KB84 f32 3.04 vs 60.5 ms, mbv2_s2 f16 0.078 vs 0.110, effnet_k5s2 f16
    // 0.063 vs 0.091, convnext7 f16 0.64 vs 10.5).
    if (api == Api::kLegacy) return true;
    // PyTorch sends channels-last depthwise convolutions to cuDNN, so its own kernel was never measured on them.
    if (api != Api::kBackend) return false;
    // Backend ("cuDNN": the faster of its heuristic plan and PyTorch's): 7x7 wins only in fp32 (convnext7 0.49 vs
    // 0.98 ms; fp16 0.64 vs 0.35). Large 3x3 stride-1 inputs win in every dtype (KB84, 2^30 elements: f32 3.04
    // vs 3.27, f16 1.69 vs 1.93, bf16 1.57 vs 1.91). Smaller 3x3 and 5x5 win in bf16 (mbv2_56 0.044 vs 0.054,
    // mbv2_s2 0.075 vs 0.086, effnet_k5s2 0.063 vs 0.068) and tie or lose in fp16 and fp32 (mbv2_56 f16 0.050 vs
    // 0.049, effnet_k5s2 f16 0.063 vs 0.062, mbv2_s2 f32 0.145 vs 0.111).
    const int64_t x_elements = p.n * p.c * p.h * p.w;
    if (p.r == 7) return p.dtype == DType::kFloat;
    if (p.r == 3 && p.stride_h == 1 && x_elements >= (int64_t{1} << 28)) return true;
    return p.dtype == DType::kBFloat16;
}

}  // namespace

RouteReason route_if_faster(Api api, const DepthwiseParams& params) {
    if (settings().route_all) return RouteReason::kRouted;
    bool faster = false;
    switch (select_path(params)) {
        case KernelPath::kGeneric:  // one thread per output: slower than cuDNN's backend engines on the suite
            faster = false;
            break;
        case KernelPath::kNchwVec:  // KB84 f32 3.15 ms vs 9.20 legacy / 4.38 backend / 10.15 PyTorch (2026-11-25e)
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
