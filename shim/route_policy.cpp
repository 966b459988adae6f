#include "route_policy.h"

#include "gradient_policy.h"
#include "kernels/forward/forward.h"
#include "kernels/forward/nhwc_mma.h"
#include "kernels/forward/toeplitz_2byte.h"
#include "settings.h"
#include "tuned_routes.h"

namespace dwshim {
namespace {

// Each rule below is read off the suite runs on an H100 with cuDNN 9.19 and PyTorch 2.11 after the latest kernel
// changes: dwshim's kernel against cuDNN through the same API (bench/results/2026-11-25g-h100-suite-*.csv, the
// numbers quoted; 2026-11-25f-* is the run before the last two tuning steps). A case is routed only where both
// runs agree that dwshim is faster. For the backend API "cuDNN" is the faster of the heuristic plan and the plan
// PyTorch picks. cuDNN's legacy API is far slower than its backend engines for depthwise convolutions, so the two
// APIs get different answers.

bool reduced_precision(const DepthwiseParams& p) {
    return p.dtype != DType::kFloat;
}

// The smallest model layer the rows kernel was measured on (c184_14x14: 64 x 184 x 14 x 14). Below it lie batch-1
// and small-spatial inputs, where it loses in every dtype (issue 15's classes file, H200 run 2026-12-03s,
// bench/results/2026-12-03s-h200-classes-fwd-*: dwshim vs cuDNN legacy / backend / PyTorch, tail_b1s, 1 x 144 x 56
// x 56, f32 0.0093 vs 0.0078 / 0.0078 / 0.0082; tail_b1k3 f16 0.0064 vs 0.0044 / 0.0044): its few blocks each walk
// a whole band. tail_b8 (8 x 576 x 7 x 7) wins in fp32 (0.0071 vs 0.0091 / 0.0091 / 0.0076), but no gate between
// the two was measured.
constexpr int64_t kSmallestRowsLayer = int64_t{64} * 184 * 14 * 14;

bool nchw_rows_faster(Api api, const DepthwiseParams& p) {
    if (x_elements(p) < kSmallestRowsLayer) return false;
    // Asymmetric filters and unequal strides win everywhere, against every path and in every dtype (run
    // 2026-12-03s: kb83, 3x1, f32 0.369 vs 1.33 / 6.33 / 1.45; kb85, 3x7, f16 0.602 vs 2.47 / 2.47; k1x7 f32 0.027
    // vs 0.039 / 0.039 / 0.054, the closest; k7x1 bf16 0.017 vs 0.060 / 0.060 / 0.070; k5x1 f16 0.033 vs 0.115;
    // stride 2 x 1 f32 0.045 vs 0.070 / 0.058 / 0.079, stride 1 x 2 bf16 0.037 vs 0.066 / 0.066 / 0.071; run
    // 2026-12-03u, the other three shapes: k1x3 f32 0.057 vs 0.136 / 0.136 / 0.157, k1x5 bf16 0.052 vs 0.086 /
    // 0.086 / 0.110, k7x3 f16 0.069 vs 0.301 / 0.301): every asymmetric shape the rows kernel instantiates, at
    // stride 1, from the smallest input measured. Unequal strides of other filters stay with cuDNN.
    if (p.r != p.s) return p.stride_h == 1 && p.stride_w == 1 && x_elements(p) >= kSmallestAsymmetric;
    if (p.stride_h != p.stride_w) return p.r == 3 && p.stride_h * p.stride_w == 2;
    // Legacy: faster in every suite case (mbv2_56 f16 0.062 vs 0.154 ms, effnet_k5s2 f16 0.063 vs 0.168).
    if (api == Api::kLegacy) return true;
    // PyTorch's own NCHW kernel: faster in every suite case (mbv2_56 f32 0.069 vs 0.166, effnet_k5s2 bf16 0.066
    // vs 0.126, convnext7 bf16 0.408 vs 1.787) and, on the H200, on every depthwise layer of four torchvision
    // models in fp32 and bf16 (runs 2026-12-03g and h, bench/results/2026-12-03[gh]-h200-models-nchw-fwd-*: the
    // closest c576_14x14_k3s2 f32 0.0183 vs 0.0214, c1152_7x7_k3s1 bf16 0.025 vs 0.037).
    if (api == Api::kTorchNative) return true;
    // Backend, fp32: faster in every suite case (mbv2_56 0.069 vs 0.088, mbv2_s2 0.119 vs 0.151, convnext7 0.455
    // vs 1.751).
    if (!reduced_precision(p)) return true;
    // Backend, reduced precision: faster at 7x7 (convnext7 f16 0.401 vs 0.566), with a channel multiplier (mult2
    // f16 0.107 vs 0.297) and at stride 2 on rows of 112 columns (mbv2_s2 f16 0.085 vs 0.091); cuDNN's engines win
    // on rows of 56 (mbv2_56 f16 0.062 vs 0.054, effnet_k5s2 f16 0.063 vs 0.060). The width threshold lies
    // between. At stride 1 rows of 112 lose too: H200 run 2026-12-03h against run g's heuristic plans, bf16
    // c32_112x112_k3s1 0.094 vs 0.069, c16_112x112_k3s1 0.052 vs 0.037 (c96_112x112_k3s2 wins, 0.096 vs 0.110;
    // every 7x7 layer wins, c96_56x56_k7s1 0.164 vs 0.216, c768_7x7_k7s1 0.046 vs 0.054).
    return p.r == 7 || p.multiplier > 1 || (p.w >= 64 && p.stride_h == 2);
}

bool nhwc_vec_faster(Api api, const DepthwiseParams& p) {
    const bool large = x_elements(p) >= kLargeInput;
    // Legacy: faster in every suite case on the H100 (KB84 f32 3.00 vs 60.8 ms, convnext7 f16 0.64 vs 10.6) but
    // for fp16 on small inputs on the H200 (2026-12-02g, GPU time): a tie at 3x3 stride 1 (mbv2_56 0.0289 vs
    // 0.0288) and slower at 5x5 (effnet_k5s2 0.0487 vs 0.0458); fp16 3x3 at stride 2 still wins (mbv2_s2 0.052 vs
    // 0.058), as do 7x7 (k7s2 0.125 vs 2.09) and large inputs (KB84 1.23 vs 58.5).
    if (api == Api::kLegacy) {
        if (p.dtype != DType::kHalf) return true;
        return p.r == 7 || (p.r == 3 && p.stride_h == 2) || large;
    }
    // PyTorch sends channels-last depthwise convolutions to cuDNN, so its own kernel was never measured on them.
    if (api != Api::kBackend) return false;
    // Backend ("cuDNN": the faster of its heuristic plan and PyTorch's): 7x7 wins only in fp32 (convnext7 0.48 vs
    // 0.97 ms; fp16 0.64 vs 0.36). Large 3x3 stride-1 inputs win in every dtype (KB84, 2^30 elements: f32 3.00
    // vs 3.31, f16 1.55 vs 1.90, bf16 1.50 vs 1.94). Smaller 3x3 win in bf16 (mbv2_56 0.041 vs 0.061, mbv2_s2
    // 0.075 vs 0.089). The rest tie or win in one run only: fp16 3x3 (mbv2_56 0.047 vs 0.047; mbv2_s2 0.077 vs
    // 0.081, 0.076 vs 0.075 in the f run), fp32 3x3 (mbv2_s2 0.145 vs 0.133; mbv2_56 0.066 vs 0.081, 0.064 vs
    // 0.058 in f) and 5x5 (effnet_k5s2 bf16 0.062 vs 0.064, 0.062 vs 0.061 in f).
    // 7x7 at stride 2 wins in every dtype on the H200 (2026-12-02g, k7s2: f16 0.125 vs 0.163, bf16 0.120 vs 0.164).
    // 2-byte 7x7 at stride 1 (run 2026-12-04mm, the model layers, against PyTorch's plan, the faster one): wins on
    // rows of 28 and 14 (c192_28x28_k7s1 bf16 0.073 vs 0.086, f16 0.069 vs 0.084; c384_14x14_k7s1 bf16 0.0437 vs
    // 0.0454, f16 0.0424 vs 0.0441), ties on 7 x 7 images (c768_7x7 f16 0.0285 vs 0.0288) and loses on rows of 56
    // (c96_56x56 bf16 0.146 vs 0.142; run 2026-12-03r, convnext7 bf16 0.351 vs 0.343). The tensor-core kernel
    // (forward/nhwc_mma.cu, output rows of 28 or more, 16-channel groups) wins there in bf16 (run 2026-12-04ss
    // against run rr's and run r's PyTorch plans: c96_56x56 0.093 vs 0.142, c192_28x28 0.065 vs 0.086, convnext7
    // 0.233 vs 0.343), routed on output rows of 28 to 56 columns, the widths measured and those between them.
    // Its fp16 build was timed only in its first version (run rr: c96_56x56 f16 0.138 vs 0.139, c192_28x28 0.053
    // vs 0.084): fp16 on its shapes, rows of 28 included, stays with PyTorch until measured.
    // The small-plane kernel (forward/nhwc_planes.cu: fp32 rows of 7 to 28, 2-byte rows of 7 to 14) wins every
    // layer it takes in every dtype (run 2026-12-04zf, dwshim vs cuDNN legacy / backend / PyTorch's plan:
    // c384_14x14_k7s1 bf16 0.0282 vs 0.845 / 0.809 / 0.0456, f32 0.0313 vs 0.834 / 0.796 / 0.101; c768_7x7_k7s1
    // f16 0.0239 vs 0.319 / 0.301 / 0.0290, the closest; c192_28x28_k7s1 f32 0.062 vs 1.89 / 1.81 / 0.187; its
    // first form won them all too, run zd), on the widths and from the smallest layer measured.
    if (p.r == 7) {
        if (nhwc_mma_shape_applies(p)) return p.dtype == DType::kBFloat16 && p.q <= 56;
        if (nhwc_planes_measured(p, x_elements(p))) return true;
        return p.dtype == DType::kFloat || p.stride_h == 2 || (p.w >= 14 && p.w <= 28);
    }
    // 2-byte 5x5 at stride 1 on the small-plane kernel (run 2026-12-04zh, against the faster of cuDNN's plan and
    // PyTorch's): wins on rows of 14 (c480_14x14 f16 0.0236 vs 0.0268, c672_14x14 f16 0.0313 vs 0.0348, the
    // closest; bf16 0.0318 vs 0.0395) and loses on 7 x 7 images (c960_7x7 bf16 0.0199 vs 0.0185, c1152_7x7 0.0231
    // vs 0.0218).
    if (p.r == 5 && nhwc_planes_measured(p, x_elements(p))) return p.q == 14;
    // 2-byte 5x5 at stride 2 wins every case (run 2026-12-04mm: c72_56x56_k5s2 bf16 0.022 vs 0.032, c672_14x14_k5s2
    // f16 0.0193 vs 0.0208, the closest; run 2026-12-03r, effnet_k5s2 f16 0.0458 vs 0.0496).
    if (p.r == 5 && p.stride_h == 2) return reduced_precision(p);
    if (p.r == 3 && p.stride_h == 1 && large) return true;
    // Smaller bf16 3x3, H200 run 2026-12-02i (the suite's NHWC cases and the depthwise layers of four torchvision
    // models, bench/models.csv, against the faster of cuDNN's plan and PyTorch's): wins at stride 2 on inputs 56
    // columns wide or more (c64_112x112 0.042 vs 0.050 ms, mbv2_s2 0.052 vs 0.059, c144_56x56 0.030 vs 0.034) and
    // at stride 1 on rows of 112 with 32 channels or more (c32_112x112 0.045 vs 0.050); loses on narrower inputs
    // (c240_28x28_k3s2 0.0156 vs 0.0148, c72_56x56_k3s1 0.044 vs 0.032, c200_14x14_k3s1 0.0118 vs 0.0096) and
    // at 16 channels (c16_112x112 0.0288 vs 0.0277). mbv2_56 wins (0.0295 vs 0.0331) where c144_56x56, the same
    // rows at batch 64, loses (0.065 vs 0.057): rows of 56 at stride 1 stay with cuDNN.
    if (p.dtype != DType::kBFloat16 || p.r != 3) return false;
    return p.stride_h == 2 ? p.w >= 56 : p.w >= 112 && p.c >= 32;
}

// The generic kernel, one thread per output, 1-8% of copy bandwidth. It beats cuDNN's legacy algorithms on fp32
// channels-last inputs with a channel multiplier (runs 2026-12-03r and s: mult2 1.41 vs 1.76 ms, mult4 1.06 vs
// 1.34, mult2k5 0.53 vs 0.73); 2-byte ones lose (mult4 f16 1.06 vs 0.69), and so do dilated inputs (dil2 f32 0.62
// vs 0.58) and unequal strides (stride21 f16 0.32 vs 0.32). Against the backend only the heuristic plan was timed
// (1.06-1.30x), not PyTorch's plan: not routed there. Only the measured shapes: 3x3 with multipliers 2 and 4, 5x5
// with 2.
bool generic_faster(Api api, const DepthwiseParams& p) {
    const bool measured = p.r == p.s && ((p.r == 3 && (p.multiplier == 2 || p.multiplier == 4)) ||
                                         (p.r == 5 && p.multiplier == 2));
    const bool plain_geometry = measured && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1;
    return api == Api::kLegacy && p.dtype == DType::kFloat && p.multiplier > 1 && plain_geometry &&
           p.x_stride[kC] < p.x_stride[kW] && x_elements(p) >= int64_t{16} * 64 * 56 * 56;
}

bool forward_faster(Api api, const DepthwiseParams& params) {
    bool faster = false;
    switch (select_path(params)) {
        case KernelPath::kGeneric:
            faster = generic_faster(api, params);
            break;
        case KernelPath::kNchwVec:  // KB84 f32 2.92 ms vs 9.26 legacy / 4.38 backend / 10.18 PyTorch (2026-11-25g)
            faster = true;
            break;
        case KernelPath::kNchwRows:
            faster = nchw_rows_faster(api, params);
            break;
        case KernelPath::kNhwcVec:
            faster = nhwc_vec_faster(api, params);
            break;
        case KernelPath::kLargeFilter:
            faster = large_filter_faster(params);
            break;
    }
    return faster;
}

}  // namespace

// The square filters measured: the classes file's k9, k11, k13, k15, k19 and k25 (runs 2026-12-03s, u and v) and
// the suite's replk31. Sizes between them won by the same wide margins (3-40x) but were not timed: they stay with
// what they call.
bool measured_large_filter(const DepthwiseParams& p) {
    constexpr int64_t kMeasured[] = {9, 11, 13, 15, 19, 25, 31};
    bool measured = false;
    for (const int64_t size : kMeasured) measured = measured || p.r == size;
    return p.r == p.s && measured;
}

// Channels-last: every case against every path (replk31 2.39 ms vs cuDNN 75.6 / 75.0, run 2026-12-03r; k9 to k15
// in the classes file, run 2026-12-03s: k13 f32 0.570 vs 3.60 / 3.54, k9 bf16 0.299 vs 4.13 / 4.04). NCHW on planes
// 56 wide (replk31 2.36 vs 10.9 / 10.9 / 6.79; k9 f16 0.195 vs 0.666 / 0.666; k15 bf16 0.337 vs 1.64 / 1.64 / 1.24);
// on k13's 28-wide planes the FMA kernel loses in fp32 (0.567 vs 0.554 / 0.554 / 0.496) and to PyTorch in bf16
// (0.566 vs 0.545), but the fp16/bf16 tensor-core forward wins there (run 2026-12-04za: 0.191 vs 0.608 / 0.610 /
// 0.550 in fp16, 0.191 vs 0.615 / 0.615 / 0.544 in bf16), from that class's size on. Other narrow planes stay with
// what they call.
bool large_filter_faster(const DepthwiseParams& forward) {
    const bool tensor_cores_on_k13 = forward.r == 13 && forward.w >= 28 &&
                                     x_elements(forward) >= kSmallestLargeFilter && toeplitz_2byte_applies(forward);
    return measured_large_filter(forward) &&
           (forward.x_stride[kC] < forward.x_stride[kW] || forward.w >= 56 || tensor_cores_on_k13);
}

RouteReason route_if_faster(Api api, const DepthwiseParams& params) {
    record_problem(api, params);
    if (settings().route_all) return RouteReason::kRouted;
    switch (tuned_route(api, params)) {
        case TunedRoute::kFaster:
            return RouteReason::kRouted;
        case TunedRoute::kSlower:
            return RouteReason::kTunedSlower;
        case TunedRoute::kUnknown:
            break;
    }
    bool faster = false;
    switch (params.direction) {
        case Direction::kForward:
            faster = forward_faster(api, params);
            break;
        case Direction::kDataGrad:
            faster = data_grad_faster(api, params);
            break;
        case Direction::kFilterGrad:
            faster = filter_grad_faster(api, params);
            break;
    }
    return faster ? RouteReason::kRouted : RouteReason::kNotFaster;
}

}  // namespace dwshim
