// The data gradient dx = conv_transpose(dy, filter). With stride 1 and one filter per channel it is itself a
// forward depthwise convolution of dy with the rotated filter (leading padding dil * (r - 1) - pad), so it runs
// on the forward fast paths; stride 2 on channels-innermost data with aligned channel vectors runs on a strip
// kernel (data_grad/nhwc_stride2.cu), on data with contiguous rows (NCHW) on a window kernel
// (data_grad/nchw_stride2.cu); everything else (other strides, channel multipliers, dilation) runs on the
// generic kernel below: one thread per dx element, gathering the dy elements whose windows cover it.
#include "kernels/data_grad/data_grad.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/data_grad/nchw_stride2.h"
#include "kernels/data_grad/nhwc_stride2.h"
#include "kernels/forward/forward.h"

namespace dwshim {

bool data_grad_as_forward(const DepthwiseParams& g, DepthwiseParams* f) {
    if (g.stride_h != 1 || g.stride_w != 1 || g.multiplier != 1) return false;
    *f = g;
    f->direction = Direction::kForward;
    f->c = g.k;
    f->h = g.p;
    f->w = g.q;
    f->k = g.c;
    f->p = g.h;
    f->q = g.w;
    f->pad_h = g.dil_h * (g.r - 1) - g.pad_h;
    f->pad_w = g.dil_w * (g.s - 1) - g.pad_w;
    f->flip = !g.flip;
    for (int d = 0; d < 4; ++d) {
        f->x_stride[d] = g.y_stride[d];
        f->y_stride[d] = g.x_stride[d];
    }
    f->x = g.y;
    f->y = g.x;
    f->bias = nullptr;
    return f->pad_h >= 0 && f->pad_w >= 0;
}

namespace {

// Calls visit(o, f) for each filter row (or column) f whose placement covers input index i, with o the output
// index of that placement: o = (i + pad - f * dil) / stride, whole and inside [0, out). kStride > 0 fixes the
// stride at compile time (2: shifts instead of divisions), 0 reads it from `stride`.
template <int kStride, typename Visit>
__device__ __forceinline__ void for_each_cover(int i, int pad, int filter, int dil, int stride, int out,
                                               Visit&& visit) {
    const int s = kStride > 0 ? kStride : stride;
    for (int f = 0; f < filter; ++f) {
        const int span = i + pad - f * dil;
        if (span < 0) break;  // spans only shrink as f grows
        if (span % s != 0) continue;
        const int o = span / s;
        if (o < out) visit(o, f);
    }
}

// One thread per dx element; coordinates in 32-bit integers (the launch checks they fit), offsets in 64-bit.
template <DType D, int kStride>
__global__ void depthwise_data_grad_generic_kernel(DepthwiseParams prm, bool channels_innermost) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    const T* dy = static_cast<const T*>(prm.y);
    const T* filter = static_cast<const T*>(prm.filter);
    T* dx = static_cast<T*>(prm.x);
    const int n_count = static_cast<int>(prm.n), channels = static_cast<int>(prm.c);
    const int h = static_cast<int>(prm.h), w = static_cast<int>(prm.w);
    const int r = static_cast<int>(prm.r), s = static_cast<int>(prm.s);
    const int multiplier = static_cast<int>(prm.multiplier);
    const int total = n_count * channels * h * w;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
        // Consecutive threads walk dx's innermost dimension, so their stores coalesce.
        int n, c, ih, iw, rest;
        if (channels_innermost) {
            c = i % channels;
            rest = i / channels;
            iw = rest % w;
            rest /= w;
            ih = rest % h;
            n = rest / h;
        } else {
            iw = i % w;
            rest = i / w;
            ih = rest % h;
            rest /= h;
            c = rest % channels;
            n = rest / channels;
        }
        float acc = 0.0f;
        for (int m = 0; m < multiplier; ++m) {
            const int64_t k = int64_t{c} * multiplier + m;
            const T* dy_plane = dy + n * prm.y_stride[kN] + k * prm.y_stride[kC];
            const T* taps = filter + k * r * s;
            for_each_cover<kStride>(ih, static_cast<int>(prm.pad_h), r, static_cast<int>(prm.dil_h),
                                    static_cast<int>(prm.stride_h), static_cast<int>(prm.p), [&](int oh, int fr) {
                const int tap_row = prm.flip ? r - 1 - fr : fr;
                const T* dy_row = dy_plane + oh * prm.y_stride[kH];
                for_each_cover<kStride>(iw, static_cast<int>(prm.pad_w), s, static_cast<int>(prm.dil_w),
                                        static_cast<int>(prm.stride_w), static_cast<int>(prm.q), [&](int ow, int fs) {
                    const int tap_col = prm.flip ? s - 1 - fs : fs;
                    acc += Traits::load(dy_row + ow * prm.y_stride[kW]) * Traits::load(taps + tap_row * s + tap_col);
                });
            });
        }
        const int64_t offset =
            n * prm.x_stride[kN] + c * prm.x_stride[kC] + ih * prm.x_stride[kH] + iw * prm.x_stride[kW];
        float v = prm.alpha * acc;
        if (prm.residual != nullptr) {
            v += prm.residual_scale * Traits::load(static_cast<const T*>(prm.residual) + offset);
        }
        dx[offset] = Traits::from_float(v);
    }
}

}  // namespace

bool data_grad_fits(const DepthwiseParams& p) {
    DepthwiseParams forward;
    if (data_grad_as_forward(p, &forward)) return true;
    constexpr int64_t kLimit = int64_t{1} << 31;
    return p.n * p.c * p.h * p.w < kLimit && p.k * p.r * p.s < kLimit && p.pad_h + p.h < kLimit &&
           p.pad_w + p.w < kLimit && p.dil_h * p.r < kLimit && p.dil_w * p.s < kLimit && p.p < kLimit &&
           p.q < kLimit;
}

namespace {

template <DType D>
cudaError_t launch_generic(const DepthwiseParams& params, cudaStream_t stream) {
    constexpr int kThreads = 256;
    constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // the grid-stride loop covers the rest
    const int64_t total = params.n * params.c * params.h * params.w;
    const unsigned blocks = static_cast<unsigned>(std::min((total + kThreads - 1) / kThreads, kMaxBlocks));
    const bool channels_innermost = params.x_stride[kC] < params.x_stride[kW];
    if (params.stride_h == 2 && params.stride_w == 2) {
        depthwise_data_grad_generic_kernel<D, 2><<<blocks, kThreads, 0, stream>>>(params, channels_innermost);
    } else {
        depthwise_data_grad_generic_kernel<D, 0><<<blocks, kThreads, 0, stream>>>(params, channels_innermost);
    }
    return cudaGetLastError();
}

}  // namespace

cudaError_t depthwise_data_grad(const DepthwiseParams& params, cudaStream_t stream) {
    DepthwiseParams forward;
    if (data_grad_as_forward(params, &forward)) return depthwise_forward(forward, stream);
    if (data_grad_nhwc_s2_aligned(params)) return data_grad_nhwc_s2(params, stream);
    if (data_grad_nchw_s2_applies(params)) return data_grad_nchw_s2(params, stream);
    return with_dtype(params.dtype, [&](auto d) { return launch_generic<decltype(d)::value>(params, stream); });
}

}  // namespace dwshim
