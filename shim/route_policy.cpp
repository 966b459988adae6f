#include "route_policy.h"

#include "kernels/depthwise_forward.h"
#include "settings.h"

namespace dwshim {
namespace {

// Each rule below is read off one suite run on an H100 with cuDNN 9.19 and PyTorch 2.11: dwshim's kernel against
// cuDNN through the same API (bench/results/2026-11-25f-h100-suite-*.csv, the run after the latest kernel
// changes). For the backend API "cuDNN" is the faster of the heuristic plan and the plan PyTorch picks. cuDNN's
// legacy API is far slower than its backend engines for depthwise convolutions, so the two APIs get different
// answers.

bool reduced_precision(const DepthwiseParams& p) {
    return p.dtype != DType::kFloat;
}

bool nchw_rows_faster(Api api, const DepthwiseParams& p) {
    // Legacy: faster in every suite case (mbv2_56 f16 0.062 vs 0.125 ms, effnet_k5s2 f16 0.062 vs 0.142).
    if (api == Api::kLegacy) return true;
    // PyTorch's own NCHW kernel: faster in every suite case (mbv2_56 f32 0.067 vs 0.153, effnet_k5s2 bf16 0.065
    // vs 0.120, convnext7 bf16 0.467 vs 1.773).
    if (api == Api::kTorchNative) return true;
    // Backend, fp32: faster in every suite case (mbv2_56 0.067 vs 0.085, mbv2_s2 0.117 vs 0.149, convnext7 0.495
    // vs 1.746).
    if (!reduced_precision(p)) return true;
    // Backend, reduced precision: faster at 7x7 (convnext7 f16 0.454 vs 0.564), with a channel multiplier (mult2
    // f16 0.106 vs 0.299) and on rows of 112 columns (mbv2_s2 f16 0.083 vs 0.089); cuDNN's engines win on rows
    // of 56 (mbv2_56 f16 0.062 vs 0.053, effnet_k5s2 f16 0.062 vs 0.060). The width threshold lies between.
    return p.r == 7 || p.multiplier > 1 || p.w >= 64;
}

bool nhwc_vec_faster(Api api, const DepthwiseParams& p) {
    // Legacy: faster in every suite case (KB84 f32 3.00 vs 60.8 ms, mbv2_s2 f16 0.076 vs 0.095, effnet_k5s2 f16
    // 0.061 vs 0.079, convnext7 f16 0.63 vs 10.5).
    if (api == Api::kLegacy) return true;
    // PyTorch sends channels-last depthwise convolutions to cuDNN, so its own kernel was never measured on them.
    if (api != Api::kBackend) return false;
    // Backend ("cuDNN": the faster of its heuristic plan and PyTorch's): 7x7 wins only in fp32 (convnext7 0.48 vs
    // 0.96 ms; fp16 0.63 vs 0.35). Large 3x3 stride-1 inputs win in every dtype (KB84, 2^30 elements: f32 3.00
    // vs 3.24, f16 1.62 vs 1.89, bf16 1.56 vs 1.86). Smaller 3x3 win in bf16 (mbv2_56 0.039 vs 0.047, mbv2_s2
    // 0.073 vs 0.079) and tie or lose in fp16 and fp32 (mbv2_56 f16 0.045 vs 0.044, mbv2_s2 f32 0.145 vs
    // 0.109); 5x5 ties or loses in every dtype (effnet_k5s2 bf16 0.062 vs 0.061, f16 0.061 vs 0.058).
    const int64_t x_elements = p.n * p.c * p.h * p.w;
    if (p.r == 7) return p.dtype == DType::kFloat;
    if (p.r == 3 && p.stride_h == 1 && x_elements >= (int64_t{1} << 28)) return true;
    return p.dtype == DType::kBFloat16 && p.r == 3;
}

}  // namespace

RouteReason route_if_faster(Api api, const DepthwiseParams& params) {
    if (settings().route_all) return RouteReason::kRouted;
    bool faster = false;
    switch (select_path(params)) {
        // One thread per output. Its one suite case (mult2 NHWC: 1.41 ms vs 1.50 backend) is no reason to route
        // everything else it takes (dilation, odd strides), unmeasured and 2-5% of copy bandwidth.
        case KernelPath::kGeneric:
            faster = false;
            break;
        case KernelPath::kNchwVec:  // KB84 f32 2.93 ms vs 9.22 legacy / 4.36 backend / 10.20 PyTorch (2026-11-25f)
            faster = true;
            break;
        case KernelPath::kNchwRows:
            faster = nchw_rows_faster(api, params);
            break;
        case KernelPath::kNhwcVec:
            faster = nhwc_vec_faster(api, params);
            break;
        case KernelPath::kLargeFilter:  // replk31: 2.36-2.41 ms vs cuDNN 10.9-12.4 NCHW / 75.1 NHWC, PyTorch 6.8-8.1
            faster = true;
            break;
    }
    return faster ? RouteReason::kRouted : RouteReason::kNotFaster;
}

}  // namespace dwshim
