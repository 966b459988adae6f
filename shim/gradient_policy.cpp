// Where dwshim's gradients were measured faster than the real cuDNN's for the same call through the same API, on
// an H200 with cuDNN 9.19 and PyTorch 2.11: dwshim against cuDNN legacy (its Find's best) and cuDNN backend (the
// first heuristic plan) in one process (bench/results/2026-12-01b-h200-gradients-cudnn.csv, the numbers quoted,
// ms), PyTorch's convolution_backward (2026-12-01a-h200-gradients-pytorch.csv); run 2026-12-01c repeats both in
// one call with the same kernels and agrees. The NHWC filter gradient's tile kernel was measured in runs
// 2026-12-01e and f (2026-12-01f-h200-wgrad-{cudnn,pytorch}.csv, both in one call). For the backend API the
// competitor is the faster of the heuristic plan and the plan PyTorch builds, since dwshim-run replaces whichever
// plan the program built. A class of calls is routed only where every suite case of it wins; cases that tie or
// lose keep the real cuDNN. PyTorch's own NCHW kernels (Api::kTorchNative) are not replaced for the gradients yet.
#include "gradient_policy.h"

#include "kernels/depthwise_backward.h"
#include "kernels/depthwise_forward.h"

namespace dwshim {
namespace {

bool channels_innermost(const int64_t strides[4]) {
    return strides[kC] < strides[kW];
}

constexpr int64_t kLargeInput = int64_t{1} << 28;  // x elements of KB84 (2^30) and larger
// The smallest suite input (mbv2_56: 32 x 144 x 56 x 56). Below it nothing was measured, and a training step of
// mobilenet_v3_large (batch 64, channels_last bf16, run 2026-12-01c) took 1.4% more GPU time with its smaller
// depthwise layers routed by the rules below: they are routed only from this size on.
constexpr int64_t kSmallestMeasured = int64_t{32} * 144 * 56 * 56;

int64_t x_elements(const DepthwiseParams& p) {
    return p.n * p.c * p.h * p.w;
}

// Stride 1, one filter per channel: the forward kernels compute it (data_grad_as_forward).
bool forward_shaped_data_grad_faster(Api api, const DepthwiseParams& forward) {
    switch (select_path(forward)) {
        case KernelPath::kNhwcVec:
            // Legacy: every case (KB84 f32 2.17 vs 50.1, mbv2_56 f16 0.044 vs 0.072, convnext7 bf16 0.68 vs
            // 10.2). Backend: every case but small fp16 3x3 (mbv2_56 f16 0.043 vs 0.042 heuristic plan; KB84 f16
            // 1.57 vs 51.3 and PyTorch 3.44; convnext7 f16 0.64 vs 10.1 and PyTorch 0.94; bf16 mbv2_56 0.040 vs
            // PyTorch 0.066).
            return api == Api::kLegacy || forward.dtype != DType::kHalf || forward.r == 7 ||
                   x_elements(forward) >= kLargeInput;
        case KernelPath::kNchwVec:
        case KernelPath::kNchwRows:
            // fp32 everywhere (KB84 3.24 vs 13.7 legacy / 13.6 backend / 18.8 PyTorch; mbv2_56 0.062 vs 0.196;
            // convnext7 0.45 vs 3.03). 2-byte types: legacy everywhere (KB84 f16 2.98 vs 14.3, mbv2_56 bf16
            // 0.063 vs 0.232); backend only at 7x7 (convnext7 f16 0.40 vs 0.57), it wins at 3x3 (KB84 f16 2.98
            // vs 2.44, mbv2_56 f16 0.061 vs 0.053).
            return forward.dtype == DType::kFloat || api == Api::kLegacy || forward.r == 7;
        case KernelPath::kLargeFilter:
            // replk31: 2.36-2.42 ms vs 18-23 legacy, 22.3-22.7 backend (NCHW), 74.6-75.1 (NHWC), PyTorch 13-31.
            return true;
        case KernelPath::kGeneric:
            break;  // dilation and other shapes the forward fast paths skip: not measured
    }
    return false;
}

}  // namespace

bool data_grad_faster(Api api, const DepthwiseParams& p) {
    if (api == Api::kTorchNative || x_elements(p) < kSmallestMeasured) return false;
    DepthwiseParams forward;
    if (data_grad_as_forward(p, &forward)) return forward_shaped_data_grad_faster(api, forward);
    // The generic gather kernel (strides, multipliers). It wins only through the legacy API on channels-last
    // data in fp32 or at 5x5 (mbv2_s2 f32 0.88 vs 0.97, effnet_k5s2 bf16 0.59 vs 0.94, mult2 f32 1.18 vs 1.40);
    // NCHW loses (mbv2_s2 f32 1.05 vs 0.76, mult2 f32 1.18 vs 0.40), and so does the backend API against
    // PyTorch's plans (effnet_k5s2 f32 0.58 vs 0.30).
    return api == Api::kLegacy && channels_innermost(p.x_stride) && (p.dtype == DType::kFloat || p.r >= 5);
}

bool filter_grad_faster(Api api, const DepthwiseParams& p) {
    if (api == Api::kTorchNative || x_elements(p) < kSmallestMeasured) return false;
    const bool nhwc = channels_innermost(p.y_stride);
    if (!filter_grad_strip_applies(p)) {
        // The generic kernel: only replk31 fp32 NHWC was measured faster (76.8 vs 221.4 legacy and backend,
        // PyTorch 221.7); NCHW and 2-byte types lose (replk31 f32 NCHW 64.8 vs 18.9, bf16 NHWC 78.8 vs 31.9).
        return p.dtype == DType::kFloat && nhwc && p.r > 7 && p.s > 7;
    }
    // A channel multiplier: every case (mult2 f32 0.150 vs 1.20 backend / 0.51 PyTorch, bf16 NHWC 0.202 vs 3.66).
    if (p.multiplier > 1) return true;
    if (p.dtype == DType::kFloat) {
        // NCHW: every case (KB84 3.97 vs 45.4 / 65.3 / PyTorch 16.1, mbv2_56 0.085 vs 0.135, effnet_k5s2 0.111
        // vs 0.226, convnext7 0.71 vs 4.77). NHWC (the tile kernel, run 2026-12-01f): every suite case through the
        // legacy API (KB84 2.41 vs 135.1, mbv2_56 0.068 vs 0.110, effnet_k5s2 0.176 vs 0.180); through the backend
        // 7x7 (convnext7 0.62 vs 11.5), 3x3 at stride 2 (mbv2_s2 0.120 vs 0.189) and large inputs (KB84 2.41 vs
        // 69.8), not small 3x3 at stride 1 (mbv2_56 0.068 vs 0.070, 0.064 in run 2026-12-01e: a tie) or 5x5 at
        // stride 2 (effnet_k5s2 0.176 vs 0.159).
        // Legacy: only the filter and stride pairs the suite measured (5x5 at stride 1 and 7x7 at stride 2 were
        // not).
        const bool measured = p.r == 3 || (p.r == 5 && p.stride_h == 2) || (p.r == 7 && p.stride_h == 1);
        return !nhwc || (api == Api::kLegacy && measured) || p.r == 7 || (p.r == 3 && p.stride_h == 2) ||
               x_elements(p) >= kLargeInput;
    }
    if (api == Api::kLegacy) {
        // The legacy API's 2-byte gradients are slow: NCHW every case (KB84 f16 4.87 vs 45.3, effnet_k5s2 f16
        // 0.131 vs 0.134, convnext7 bf16 0.83 vs 4.21); NHWC bf16 every case (run 2026-12-01f: mbv2_56 0.092 vs
        // 0.636, mbv2_s2 0.165 vs 1.153, effnet_k5s2 0.292 vs 0.679, KB84 3.25 vs 55.2) and fp16 at stride 1
        // at 7x7 or on large 3x3 inputs (convnext7 0.82 vs 4.51, KB84 3.27 vs 55.3), not small 3x3 (mbv2_56 f16
        // 0.093 vs 0.090) nor at stride 2 (mbv2_s2 f16 0.163 vs 0.113, effnet_k5s2 0.291 vs 0.125); 5x5 at stride
        // 1 was not measured.
        return !nhwc || p.dtype == DType::kBFloat16 ||
               (p.stride_h == 1 && (p.r == 7 || (p.r == 3 && x_elements(p) >= kLargeInput)));
    }
    // Backend, 2-byte types: NCHW 3x3 at stride 2 (mbv2_s2 f16 0.155 vs 0.203), in bf16 (mbv2_56 0.099 vs 0.113)
    // or on large inputs (KB84 f16 4.90 vs 5.73); cuDNN wins small fp16 3x3 (mbv2_56 0.101 vs 0.094), 5x5 and 7x7
    // (effnet_k5s2 bf16 0.131 vs 0.100, convnext7 f16 0.83 vs 0.37). NHWC: PyTorch's plans win every case
    // (run 2026-12-01f: KB84 bf16 3.25 vs 2.51, mbv2_56 bf16 0.092 vs 0.058, convnext7 bf16 0.81 vs 0.33).
    return !nhwc && p.r == 3 &&
           (p.stride_h == 2 || p.dtype == DType::kBFloat16 || x_elements(p) >= kLargeInput);
}

}  // namespace dwshim
