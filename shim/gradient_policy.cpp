// Where dwshim's gradients were measured faster than the real cuDNN's for the same call through the same API, on
// an H200 with cuDNN 9.19 and PyTorch 2.11: dwshim against cuDNN legacy (its Find's best) and cuDNN backend (the
// first heuristic plan) in one process (bench/results/2026-12-01b-h200-gradients-cudnn.csv, the numbers quoted,
// ms), PyTorch's convolution_backward (2026-12-01a-h200-gradients-pytorch.csv); run 2026-12-01c repeats both in
// one call with the same kernels and agrees. Run 2026-12-02b (2026-12-02b-h200-gradients-nhwc-*.csv) measured
// the NHWC gradients again with the NHWC filter gradient's ring kernel, timing GPU work alone (earlier runs
// counted host work that left the GPU idle), and its numbers replace the earlier ones where quoted. For the
// backend API the competitor is the faster of the heuristic plan and the plan PyTorch builds, since dwshim-run
// replaces whichever plan the program built. A class of calls is routed only where every measured case of it
// wins; cases that tie or lose keep the real cuDNN. PyTorch's own NCHW kernels (Api::kTorchNative, the gradients
// dwshim's C++ hook sees in aten::convolution_backward) were measured in run 2026-12-03a on the depthwise layers of
// four torchvision models (bench/results/2026-12-03a-h200-models-nchw-grads-*.csv, fp32 and bf16).
#include "gradient_policy.h"

#include "kernels/data_grad/data_grad.h"
#include "kernels/data_grad/nchw_stride2.h"
#include "kernels/data_grad/nhwc_stride2.h"
#include "kernels/filter_grad/filter_grad.h"
#include "kernels/filter_grad/large_filter.h"
#include "kernels/filter_grad/nchw.h"
#include "kernels/filter_grad/nhwc.h"
#include "kernels/forward/forward.h"
#include "kernels/forward/nchw_quads.h"
#include "kernels/forward/nhwc_planes.h"

namespace dwshim {
namespace {

bool channels_innermost(const int64_t strides[4]) {
    return strides[kC] < strides[kW];
}

// The smallest suite input (mbv2_56: 32 x 144 x 56 x 56). Below it nothing was measured, and a training step of
// mobilenet_v3_large (batch 64, channels_last bf16, run 2026-12-01c) took 1.4% more GPU time with its smaller
// depthwise layers routed by the rules below: they are routed only from this size on.
constexpr int64_t kSmallestMeasured = int64_t{32} * 144 * 56 * 56;
// Channels-last bf16 data gradients on the NHWC kernels were measured on smaller inputs too, the depthwise layers
// of four torchvision models (bench/models.csv, run 2026-12-02i, against the faster of cuDNN's plan and
// PyTorch's): they win from 64 x 960 x 7 x 7 on (c960_7x7_k3s1 0.0112 vs 0.0162 ms, c1152_7x7_k5s1 0.030 vs
// 0.035, c120_28x28_k5s1 0.036 vs 0.045) and tie below (c200_14x14_k3s1 0.0119 vs 0.0118, c184_14x14 0.0116 vs
// 0.0113). fp32 loses on 14 x 14 rows above that size (c672_14x14_k3s1 0.034 vs 0.030), fp16 on most layers
// (c240_28x28_k5s1 0.062 vs 0.043).
constexpr int64_t kSmallestBf16ChannelsLastDataGrad = int64_t{64} * 960 * 7 * 7;
// The smallest model layer measured against PyTorch's own NCHW gradients and cuDNN's NCHW filter gradients
// (c184_14x14: 64 x 184 x 14 x 14).
constexpr int64_t kSmallestModelLayer = int64_t{64} * 184 * 14 * 14;
// The smallest stride-2 model layer the NCHW data-gradient window kernel was measured on (c576_14x14_k3s2).
constexpr int64_t kSmallestNchwStride2 = int64_t{64} * 576 * 14 * 14;
// The smallest layers the NHWC small-plane kernel was measured on: c768_7x7_k7s1 at 7 x 7, c960_7x7_k5s1 at 5 x 5.
constexpr int64_t kSmallestNhwcPlanes7 = int64_t{64} * 768 * 7 * 7;
constexpr int64_t kSmallestNhwcPlanes5 = int64_t{64} * 960 * 7 * 7;
// The quads kernel's rows of 256+ columns, where its 2-byte data gradients were measured faster than cuDNN's
// backend plan (its 3x3 rows of 128 were not measured against it; its narrow planes tie, mbv2_56 f16 0.0488 vs
// 0.0493 ms in run 2026-12-04jj).
constexpr int64_t kWideQuadRow = 256;


// PyTorch's own NCHW depthwise gradients (fp32 and bf16), run 2026-12-03a, dwshim / PyTorch in ms.
bool torch_native_square_layer(const DepthwiseParams& p) {
    return p.multiplier == 1 && p.r == p.s && x_elements(p) >= kSmallestModelLayer;
}

// Stride 1 wins in both dtypes (c184_14x14_k3s1 f32 0.023 vs 0.039, c480_14x14_k5s1 f32 0.083 vs 0.106,
// c96_56x56_k7s1 bf16 0.162 vs 0.867), 7 x 7 images since the rows path packs narrow planes (run 2026-12-03g,
// bench/results/2026-12-03g-h200-variants-narrow-planes.txt: c1152_7x7_k3s1 f32 0.026 vs 0.058, c960_7x7_k5s1
// bf16 0.040 vs 0.059, c768_7x7_k7s1 f32 0.047 vs 0.107; before, 0.083, 0.116 and 0.136 lost). Stride 2 wins on
// the NCHW window kernel only (data_grad_faster; the generic gather kernel lost: c64_112x112_k3s2 f32 0.92 vs 0.80).
bool torch_native_data_grad_faster(const DepthwiseParams& p, bool forward_shaped, const DepthwiseParams& forward) {
    if (!forward_shaped || !torch_native_square_layer(p)) return false;
    const KernelPath path = select_path(forward);
    return path == KernelPath::kNchwVec || path == KernelPath::kNchwRows;
}

// Both gradients of large filters on the large-filter kernels (the data gradient on the forward's, at stride 1; the
// filter gradient on the tensors or on packed NCHW copies of channels-last ones) win every measured case in every
// dtype, layout and API, dwshim vs cuDNN legacy / backend / PyTorch. Data gradient: run 2026-12-03u, k13 on 28-wide
// NCHW planes, where the forward loses, f32 0.568 vs 1.10 / 1.10 / 0.699; k9 NHWC bf16 0.301 vs 4.04 / 4.03; k15 NCHW
// f16 0.338 vs 2.96 / 2.97; run 2026-12-03r, replk31: f32 2.36 vs 12.90 PyTorch, bf16 2.36 vs 14.35. Filter gradient:
// run 2026-12-03u, k9 to k15 (k13 NCHW f32 0.577 vs 1.94 / 5.34 / 1.55, the closest k13 NHWC bf16 0.603 vs 1.77 /
// 1.77; k15 NHWC f32 0.713 vs 27.3 / 12.1); run 2026-12-03r, replk31: NCHW f32 3.46 vs 19.0 / 43.3 / 32.0, bf16 3.48
// vs 31.7 / 31.7 / 32.5; NHWC f32 3.68 vs 221.5 / 221.5 / 221.9, f16 3.67 vs 31.7 / 31.7 / 31.7. One filter per
// channel only.
bool large_filter_grad_faster(const DepthwiseParams& p) {
    return p.multiplier == 1 && measured_large_filter(p) && x_elements(p) >= kSmallestLargeFilter;
}

// The NCHW strip kernel wins every layer in both dtypes (c16_112x112_k3s1 f32 0.074 vs 0.475, c184_14x14_k3s1
// bf16 0.040 vs 0.049, c1152_7x7_k5s1 f32 0.151 vs 0.363, c96_56x56_k7s1 bf16 0.346 vs 1.311) but 3x3 at stride 2
// on rows of 28 (c240_28x28_k3s2 f32 0.069 vs 0.063, bf16 0.062 vs 0.063); 3x3 at stride 2 wins on rows of 112
// (c64_112x112_k3s2 bf16 0.142 vs 0.232).
// Run 2026-12-03q agrees with the rows kernels (c184_14x14_k3s1 f32 0.016 vs 0.048; c192_28x28_k3s2 bf16 0.053 vs
// 0.052 stays with PyTorch). A channel multiplier wins too (run 2026-12-03r, mult2 at stride 1: f32 0.079 vs 0.492,
// bf16 0.088 vs 0.496).
// Asymmetric NCHW filters on the rows kernel (run 2026-12-03cc, bench/classes.csv: dwshim vs cuDNN legacy / backend
// / PyTorch's kernel, ms): every shape and dtype wins from the smallest input measured (kb83 f32 0.268 vs 2.09 /
// 2.09 / 9.99, kb85 bf16 0.485 vs 6.77 / 6.79 / 3.88, k7x1 f16 0.022 vs 0.049 / 0.048, k1x3 f32 0.066 vs 0.136 /
// 0.135 / 0.094, the closest against PyTorch) but 7x3 in fp16, a tie (0.113 vs 0.117 / 0.117).
bool asymmetric_filter_grad_faster(const DepthwiseParams& p) {
    const bool tie = p.r == 7 && p.s == 3 && p.dtype == DType::kHalf;
    return p.multiplier == 1 && filter_grad_nchw_rows_applies(p) && x_elements(p) >= kSmallestAsymmetric && !tie;
}

bool torch_native_filter_grad_faster(const DepthwiseParams& p) {
    if (filter_grad_large_applies(p)) return large_filter_grad_faster(p);
    if (p.r != p.s) return asymmetric_filter_grad_faster(p);
    if (x_elements(p) < kSmallestModelLayer) return false;
    if (channels_innermost(p.y_stride) || !filter_grad_strip_applies(p)) return false;
    if (p.multiplier > 1) return p.multiplier == 2 && p.r == 3 && p.stride_h == 1;  // mult2's shape only
    return !(p.r == 3 && p.stride_h == 2 && p.w < 56);
}

// Stride 1, one filter per channel: the forward kernels compute it (data_grad_as_forward).
bool forward_shaped_data_grad_faster(Api api, const DepthwiseParams& forward) {
    const KernelPath path = select_path(forward);
    switch (path) {
        case KernelPath::kNhwcVec: {
            // GPU time, run 2026-12-02b (dwshim vs cuDNN legacy / backend plan / PyTorch's plan). fp16 only at
            // 7x7 or on large inputs (KB84 1.55 vs 51.3 / 51.3 / 3.42, convnext7 0.63 vs 10.1 / 10.1 / 0.91):
            // cuDNN's legacy fp16 algorithms win small 3x3 and 5x5 (mbv2_56 0.040 vs 0.029, k5s1 0.163 vs
            // 0.078). bf16 every case (mbv2_56 0.035 vs 0.370 / 0.370 / 0.050, k5s1 0.169 vs 1.74 / 1.74 / 0.177).
            // fp32 every case through the legacy API (mbv2_56 0.050 vs 0.458); through the backend but small 3x3,
            // a tie with PyTorch's plan (mbv2_56 0.050 vs 0.049; k5s1 0.122 vs 0.184, convnext7 0.48 vs 1.02).
            const bool large = x_elements(forward) >= kLargeInput;
            if (forward.dtype == DType::kHalf) return forward.r == 7 || large;
            return api == Api::kLegacy || forward.dtype == DType::kBFloat16 || forward.r != 3 || large;
        }
        case KernelPath::kNchwVec:
        case KernelPath::kNchwRows:
            // fp32 everywhere (KB84 3.24 vs 13.7 legacy / 13.6 backend / 18.8 PyTorch; mbv2_56 0.062 vs 0.196;
            // convnext7 0.45 vs 3.03). 2-byte types: legacy everywhere (KB84 f16 2.98 vs 14.3, mbv2_56 bf16
            // 0.063 vs 0.232); backend at 7x7 (convnext7 f16 0.40 vs 0.57) and on rows of 256+ columns, since the
            // quads kernel took them (KB84 f16 and bf16 1.66 ms, run 2026-12-03l, against the backend's 2.44 /
            // 2.48 and PyTorch's f16 plan 2.47, runs 2026-12-01b, 2026-12-03k and 2026-12-01a); it wins at 3x3 on
            // narrower rows (mbv2_56 f16 0.061 vs 0.053).
            if (forward.dtype == DType::kFloat || api == Api::kLegacy || forward.r == 7) return true;
            return path == KernelPath::kNchwRows && nchw_quads_applies(forward) && forward.q >= kWideQuadRow;
        case KernelPath::kLargeFilter:
            break;  // decided in data_grad_faster
        case KernelPath::kGeneric:
            break;  // dilation and other shapes the forward fast paths skip: not measured
    }
    return false;
}

}  // namespace

bool nhwc_planes_measured(const DepthwiseParams& forward, int64_t elements) {
    const bool measured_width = forward.q == 7 || forward.q == 14 || forward.q == 28;
    const int64_t smallest = forward.r == 7 ? kSmallestNhwcPlanes7 : kSmallestNhwcPlanes5;
    return nhwc_planes_shape_applies(forward) && measured_width && elements >= smallest;
}

bool data_grad_faster(Api api, const DepthwiseParams& p) {
    // The NCHW stride-2 window kernel (data_grad/nchw_stride2.cu), run 2026-12-03e on the stride-2 depthwise
    // layers of four torchvision models (bench/results/2026-12-03e-h200-models-nchw-dgrad-*.csv): every layer in
    // fp32 and bf16 wins against cuDNN legacy, cuDNN backend and PyTorch's own kernel alike (dwshim vs legacy /
    // backend / PyTorch: c64_112x112_k3s2 f32 0.074 vs 0.659 / 0.659 / 0.795, c72_56x56_k5s2 bf16 0.037 vs 0.537 /
    // 0.537 / 0.323, the closest c576_14x14_k3s2 f32 0.059 vs 0.105 / 0.105 / 0.112); fp16 likewise in run
    // 2026-12-03f (2026-12-03f-h200-models-nchw-dgrad-f16-*.csv: c144_56x56_k5s2 0.072 vs 1.072 / 1.074 / 0.627
    // PyTorch's cuDNN plan, the closest c576_14x14_k3s2 0.052 vs 0.108 / 0.108 / 0.108). Every API alike.
    if (data_grad_nchw_s2_applies(p)) return x_elements(p) >= kSmallestNchwStride2;
    DepthwiseParams forward;
    const bool forward_shaped = data_grad_as_forward(p, &forward);
    if (forward_shaped) {
        // Shape classes measured through every API, PyTorch's own kernels included. Asymmetric NCHW filters at
        // stride 1 win everywhere on the rows kernel (run 2026-12-03u, dwshim vs cuDNN legacy / backend / PyTorch:
        // kb83 f32 0.369 vs 1.58 / 1.58 / 1.46, kb85 bf16 0.644 vs 3.85 / 3.85 / 3.07, the closest k1x5 bf16 0.051
        // vs 0.101 / 0.101 / 0.099 and k1x7 f32 0.027 vs 0.052 / 0.052 / 0.046).
        const KernelPath path = select_path(forward);
        if (path == KernelPath::kLargeFilter) return large_filter_grad_faster(p);
        // Stride 1 (data_grad_as_forward): every asymmetric shape the rows kernel instantiates was measured.
        if (path == KernelPath::kNchwRows && forward.r != forward.s) return x_elements(p) >= kSmallestAsymmetric;
    }
    if (api == Api::kTorchNative) return torch_native_data_grad_faster(p, forward_shaped, forward);
    // The NHWC small-plane forward at 7 x 7, every layer it takes in every dtype through both APIs (run 2026-12-04zf,
    // dwshim vs cuDNN legacy / backend / PyTorch's plan: c384_14x14_k7s1 f16 0.0280 vs 0.810 / 0.810 / 0.0845,
    // c768_7x7_k7s1 f32 0.0271 vs 0.289 / 0.288 / 0.0607, the closest; c192_28x28_k7s1 f32 0.062 vs 1.81 / 1.81 /
    // 0.19), and at 5 x 5 in bf16 (run 2026-12-04zh: c960_7x7_k5s1 0.0198 vs 0.243 / 0.243 / 0.0303, the closest),
    // on the widths and from the smallest layer measured. Its fp16 5 x 5 ties or loses against cuDNN's fp16
    // algorithms (c672_14x14 0.0314 vs 0.0315 legacy, c1152_7x7 0.0229 vs 0.0209) and keeps the rules below.
    const bool planes_win = forward_shaped && (forward.r == 7 || p.dtype == DType::kBFloat16);
    if (planes_win && nhwc_planes_measured(forward, x_elements(p))) return true;
    // The two kernels the model layers ran on: the NHWC forward path (stride 1) and the NHWC stride-2 strip
    // kernel. Every other kernel keeps the suite's size gate.
    const bool layer_kernel =
        forward_shaped ? select_path(forward) == KernelPath::kNhwcVec : data_grad_nhwc_s2_applies(p);
    // fp16 on the stride-2 strip kernel too (run 2026-12-04mm, every layer, the smallest c576_14x14_k3s2: 0.0195 vs
    // 0.155 legacy / 0.155 backend / 0.027 PyTorch's plan).
    const bool measured_small = layer_kernel && (p.dtype == DType::kBFloat16 ||
                                                 (p.dtype == DType::kHalf && !forward_shaped));
    if (x_elements(p) < (measured_small ? kSmallestBf16ChannelsLastDataGrad : kSmallestMeasured)) return false;
    if (forward_shaped) return forward_shaped_data_grad_faster(api, forward);
    // The NHWC stride-2 strip kernel, run 2026-12-02d (2026-12-02d-h200-dgrad-nhwc-s2-*.csv): every case on both
    // APIs (dwshim / cuDNN legacy / backend plan / PyTorch's plan: mbv2_s2 f16 0.088 vs 0.882 / 0.882 / 0.186,
    // effnet_k5s2 bf16 0.165 vs 0.914 / 0.915 / 0.178, k7s2 f32 0.436 vs 2.62 / 2.62 / 1.02).
    if (data_grad_nhwc_s2_applies(p)) return true;
    // The generic gather kernel (strides, multipliers). It wins only through the legacy API on channels-last
    // data in fp32 or at 5x5 (mbv2_s2 f32 0.88 vs 0.97, effnet_k5s2 bf16 0.59 vs 0.94, mult2 f32 1.18 vs 1.40);
    // NCHW loses (mult2 f32 1.18 vs 0.40; mbv2_s2 f32 lost too, 1.05 vs 0.76, before the window kernel took it),
    // and so does the backend API against PyTorch's plans (effnet_k5s2 f32 0.58 vs 0.30).
    return api == Api::kLegacy && channels_innermost(p.x_stride) && (p.dtype == DType::kFloat || p.r >= 5);
}

// The NHWC ring kernel (one filter per channel, channels pairing into 32-bit words), GPU time in run 2026-12-02b
// (dwshim vs cuDNN legacy / backend plan / PyTorch's plan; every filter size at strides 1 and 2). Legacy: every
// case (KB84 bf16 1.23 vs 55.2, effnet_k5s2 f16 0.070 vs 0.090, k5s1 f32 0.126 vs 0.146, k7s2 bf16 0.194 vs
// 5.11) but small fp32 3x3 at stride 1 (mbv2_56 0.061 vs 0.058) and fp16 3x3 at stride 2 (mbv2_s2 0.064 vs
// 0.048). Backend: fp32 every case (KB84 2.32 vs 69.2 / 134.8, k5s1 0.126 vs 0.149 / 0.147, convnext7 0.50 vs
// 11.5 / 34.7) but small 3x3 at stride 1 (mbv2_56 0.061 vs 0.061 / 0.058); 2-byte 3x3 at stride 1 (KB84 f16
// 1.26 vs 13.6 / 2.38, mbv2_56 f16 0.037 vs 0.056 / 0.053, bf16 0.037 vs 0.276 / 0.040), bf16 3x3 at stride 2
// (mbv2_s2 0.067 vs 0.639 / 0.078) and fp16 5x5 at stride 2 (effnet_k5s2 0.070 vs 0.093 / 0.090). PyTorch's plans
// win fp16 3x3 at stride 2 (mbv2_s2 0.064 vs 0.049), bf16 5x5 at stride 2 (effnet_k5s2 0.068 vs 0.046) and
// 2-byte 7x7 (run 2026-12-02i: convnext7 bf16 0.318 vs 0.296, k7s2 0.192 vs 0.154). 2-byte 5x5 at stride 1 wins
// since the input-row walk (run 2026-12-02i: k5s1 bf16 0.101 vs 0.115, f16 0.102 vs 0.109; before, 0.138 vs 0.116).
// The model layers at batch 64 (run 2026-12-04mm, bench/results/2026-12-04mm-h200-models-nhwc-*) split two 2-byte
// classes: 5x5 at stride 2 wins on rows of 14 in both types and APIs (c672_14x14_k5s2 bf16 0.038 vs 0.359 legacy /
// 0.282 backend / 0.285 PyTorch's plan) and loses on rows of 56 in fp16 through both APIs and in bf16 through the
// backend (c144_56x56_k5s2 f16 0.090 vs 0.060 / 0.060, c72_56x56_k5s2 bf16 0.055 vs 0.037 PyTorch's; bf16's legacy
// algorithms stay slow there, 0.055 vs 0.43); fp16 3x3 at stride 1 loses on c144_56x56 (0.063 vs 0.050 PyTorch's,
// where mbv2_56, the same rows at batch 32, won), on rows of 28 (c192_28x28 0.038 vs 0.030) and on 7 x 7 images, and
// wins on rows of 112 (c16_112x112 0.036 vs 0.044, c32_112x112 0.051 vs 0.053) and large inputs.
// The image-tile kernel's layers (run 2026-12-04pp, bench/results/2026-12-04pp-h200-models-nhwc-wgrad-*; 2-byte 5x5
// and 7x7 at stride 1): rows of 14 win through both APIs (c384_14x14_k7s1 bf16 0.038 vs 0.521 legacy / 0.119 backend /
// 0.044 PyTorch's plan; c480_14x14_k5s1 f16 0.034 vs 0.039 / 0.041 / 0.039; c672_14x14_k5s1 bf16 0.047 vs 0.050
// PyTorch's, the closest); rows of 28 (c240_28x28_k5s1 bf16 0.059 vs 0.052) and 7 x 7 images (c768_7x7_k7s1 bf16
// 0.031 vs 0.030) lose to PyTorch's plans. Rows between 14 and 28 columns were not measured, and the crossover lies
// somewhere among them: only rows of 14 are routed.
bool image_tile_rows(const DepthwiseParams& p) {
    return filter_grad_nhwc_images_applies(p) && p.w == 14;
}

bool ring_filter_grad_faster(Api api, const DepthwiseParams& p) {
    if (image_tile_rows(p)) return true;
    const bool s1 = p.stride_h == 1, small = x_elements(p) < kLargeInput;
    if (p.dtype == DType::kFloat) return !(p.r == 3 && s1 && small);
    const bool bf16 = p.dtype == DType::kBFloat16;
    if (p.r == 5 && !s1) return p.w <= 14 || (bf16 && api == Api::kLegacy);
    if (p.r == 3 && s1 && !bf16) return !small || p.w >= 112;
    if (api == Api::kLegacy) return !(p.r == 3 && !s1 && !bf16);
    return p.r == 3 ? s1 || bf16 : p.r == 5 && s1;
}

// Channels-last classes measured on model layers smaller than the suite's (run 2026-12-04mm, from c16_112x112_k3s1,
// 64 x 16 x 112 x 112): 2-byte 3x3 on rows of 112 (c16_112x112_k3s1 bf16 0.036 vs 0.507 legacy / 0.826 backend /
// 0.066 PyTorch's plan), 5x5 at stride 2 on rows of 14 (c672_14x14_k5s2, above), and the image-tile kernel's rows
// (run 2026-12-04pp, from c384_14x14_k7s1, above).
bool ring_layer_class(const DepthwiseParams& p) {
    if (p.dtype == DType::kFloat) return false;
    return (p.r == 3 && p.w >= 112) || (p.r == 5 && p.stride_h == 2 && p.w <= 14) || image_tile_rows(p);
}

// NCHW filter gradients on the strip and rows kernels, one filter per channel: the suite and the depthwise layers of
// four torchvision models (bench/models.csv, batch 64) in runs 2026-12-03q and r (bench/results/2026-12-03[qr]-*),
// dwshim against cuDNN legacy (its Find's best) / the backend's heuristic plan / PyTorch's (its cuDNN plan in
// fp16), in ms. A class is routed where every measured case of it wins by 3% or more.
bool nchw_filter_grad_faster(Api api, const DepthwiseParams& p) {
    // Stride 2 on rows of 14 or fewer loses in every dtype and API (c576_14x14_k3s2 f32 0.072 vs 0.037 / 0.037,
    // c672_14x14_k5s2 bf16 0.154 vs 0.104 / 0.028).
    if (p.stride_h == 2 && p.w < 28) return false;
    // fp32 wins every other case on both APIs (KB84 2.05 vs 45.4 / 65.2, c1152_7x7_k3s1 0.034 vs 0.067 / 0.073,
    // c192_28x28_k3s2 0.063 vs 0.077 / 0.067, c768_7x7_k7s1 0.059 vs 0.224 / 0.224, mult2 0.079 vs 1.42 / 1.18).
    if (p.dtype == DType::kFloat) return true;
    const bool bf16 = p.dtype == DType::kBFloat16, s1 = p.stride_h == 1;
    // The legacy API's 2-byte algorithms are slow (KB84 f16 2.16 vs 45.7, convnext7 bf16 0.55 vs 3.93,
    // c960_7x7_k3s1 f16 0.031 vs 0.061) but at fp16 5x5 on rows wider than 14: stride 2 loses (effnet_k5s2 0.128
    // vs 0.099, c144_56x56_k5s2 0.174 vs 0.130), rows of 28 tie (c240_28x28_k5s1 0.103 vs 0.102).
    if (api == Api::kLegacy) return bf16 || p.r != 5 || (s1 && p.w <= 14);
    // The backend's 2-byte plans are fast. 3x3 at stride 1 wins on rows of 28 or more (mbv2_56 f16 0.056 vs 0.088
    // / 0.086, c192_28x28 f16 0.041 vs 0.074, KB84 f16 2.16 vs 5.73) and in bf16 on rows of 14 (c384_14x14 0.024
    // vs 0.026); fp16 ties there (c480_14x14 0.0291 vs 0.0293, c384_14x14 0.0238 vs 0.0232), 7 x 7 images lose
    // (c960_7x7 bf16 0.031 vs 0.021). 3x3 at stride 2 wins on rows of 56 or more (c144_56x56_k3s2 f16 0.106 vs
    // 0.114, mbv2_s2 bf16 0.151 vs 0.209 PyTorch's) and loses on rows of 28 (c240_28x28_k3s2 bf16 0.062 vs 0.034).
    // 5x5 and 7x7 at stride 1, on the long bands (run 2026-12-04kk): 5x5 wins on rows of 14 or more in both types
    // (c480_14x14_k5s1 f16 0.041 vs 0.050, c240_28x28 f16 0.068 vs 0.104, c672_14x14 bf16 0.049 vs 0.084), 7x7
    // on rows of 28 or more (convnext7 f16 0.309 vs 0.370, c192_28x28_k7s1 f16 0.079 vs 0.104) and ties or loses
    // on 14 (c384_14x14_k7s1 f16 0.053 vs 0.049, bf16 0.0537 vs 0.0533); 7 x 7 images lose (c1152_7x7_k5s1 f16
    // 0.052 vs 0.031, c768_7x7_k7s1 0.054 vs 0.032). Stride 2 loses (effnet_k5s2 bf16 0.127 vs 0.096).
    if (p.r == 3) return s1 ? p.w >= 28 || (bf16 && p.w >= 14) : p.w >= 56;
    if (!s1) return false;
    return p.r == 5 ? p.w >= 14 : p.w >= 28;
}

bool filter_grad_faster(Api api, const DepthwiseParams& p) {
    if (api == Api::kTorchNative) return torch_native_filter_grad_faster(p);
    if (filter_grad_large_filter_applies(p)) return large_filter_grad_faster(p);
    if (p.r != p.s) return asymmetric_filter_grad_faster(p);
    // The generic kernel (dilation, other strides): not measured faster.
    if (!filter_grad_strip_applies(p)) return false;
    const bool nhwc = channels_innermost(p.y_stride);
    if (!nhwc && p.multiplier == 1) return x_elements(p) >= kSmallestModelLayer && nchw_filter_grad_faster(api, p);
    if (filter_grad_nhwc_ring_applies(p)) {
        const int64_t smallest = ring_layer_class(p) ? kSmallestModelLayer : kSmallestMeasured;
        return x_elements(p) >= smallest && ring_filter_grad_faster(api, p);
    }
    if (x_elements(p) < kSmallestMeasured) return false;
    // A channel multiplier: every case (mult2 f32 0.150 vs 1.20 backend / 0.51 PyTorch, bf16 NHWC 0.202 vs 3.66).
    if (p.multiplier > 1) return true;
    // The NHWC tile kernel with one filter per channel serves only 2-byte tensors whose channels do not pair into
    // 32-bit words (odd channel counts): one channel per thread, not measured.
    return false;
}

}  // namespace dwshim
