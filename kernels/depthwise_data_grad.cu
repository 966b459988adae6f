// The data gradient dx = conv_transpose(dy, filter). With stride 1 and one filter per channel it is itself a
// forward depthwise convolution of dy with the rotated filter (leading padding dil * (r - 1) - pad), so it runs
// on the forward fast paths; everything else (strides > 1, channel multipliers, large leading padding) runs on
// the generic kernel below: one thread per dx element, gathering the dy elements whose windows cover it.
#include "depthwise_backward.h"

#include <algorithm>

#include "depthwise_forward.h"
#include "dtype_traits.cuh"

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

// The filter rows (or columns) whose placement covers input index `i`: output o = (i + pad - f * dil) / stride
// must be whole and inside [0, out).
__device__ __forceinline__ bool covering_output(int64_t i, int64_t pad, int64_t f, int64_t dil, int64_t stride,
                                                int64_t out, int64_t* o) {
    const int64_t span = i + pad - f * dil;
    if (span < 0 || span % stride != 0) return false;
    *o = span / stride;
    return *o < out;
}

template <DType D>
__global__ void depthwise_data_grad_generic_kernel(DepthwiseParams prm, bool channels_innermost) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    const T* dy = static_cast<const T*>(prm.y);
    const T* filter = static_cast<const T*>(prm.filter);
    T* dx = static_cast<T*>(prm.x);

    const int64_t total = prm.n * prm.c * prm.h * prm.w;
    const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
        // Consecutive threads walk dx's innermost dimension, so their stores coalesce.
        int64_t n, c, ih, iw, rest;
        if (channels_innermost) {
            c = i % prm.c;
            rest = i / prm.c;
            iw = rest % prm.w;
            rest /= prm.w;
            ih = rest % prm.h;
            n = rest / prm.h;
        } else {
            iw = i % prm.w;
            rest = i / prm.w;
            ih = rest % prm.h;
            rest /= prm.h;
            c = rest % prm.c;
            n = rest / prm.c;
        }
        float acc = 0.0f;
        for (int64_t m = 0; m < prm.multiplier; ++m) {
            const int64_t k = c * prm.multiplier + m;
            const T* dy_plane = dy + n * prm.y_stride[kN] + k * prm.y_stride[kC];
            const T* taps = filter + k * prm.r * prm.s;
            for (int64_t fr = 0; fr < prm.r; ++fr) {
                int64_t oh;
                if (!covering_output(ih, prm.pad_h, fr, prm.dil_h, prm.stride_h, prm.p, &oh)) continue;
                const int64_t tap_row = prm.flip ? prm.r - 1 - fr : fr;
                for (int64_t fs = 0; fs < prm.s; ++fs) {
                    int64_t ow;
                    if (!covering_output(iw, prm.pad_w, fs, prm.dil_w, prm.stride_w, prm.q, &ow)) continue;
                    const int64_t tap_col = prm.flip ? prm.s - 1 - fs : fs;
                    acc += Traits::load(dy_plane + oh * prm.y_stride[kH] + ow * prm.y_stride[kW]) *
                           Traits::load(taps + tap_row * prm.s + tap_col);
                }
            }
        }
        const int64_t offset =
            n * prm.x_stride[kN] + c * prm.x_stride[kC] + ih * prm.x_stride[kH] + iw * prm.x_stride[kW];
        float v = prm.alpha * acc;
        if (prm.residual != nullptr) v += prm.residual_scale * Traits::load(static_cast<const T*>(prm.residual) + offset);
        dx[offset] = Traits::from_float(v);
    }
}

template <DType D>
cudaError_t launch_generic(const DepthwiseParams& params, cudaStream_t stream) {
    constexpr int kThreads = 256;
    constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // the grid-stride loop covers the rest
    const int64_t total = params.n * params.c * params.h * params.w;
    const int64_t blocks = std::min((total + kThreads - 1) / kThreads, kMaxBlocks);
    const bool channels_innermost = params.x_stride[kC] < params.x_stride[kW];
    depthwise_data_grad_generic_kernel<D>
        <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(params, channels_innermost);
    return cudaGetLastError();
}

}  // namespace

cudaError_t depthwise_data_grad(const DepthwiseParams& params, cudaStream_t stream) {
    DepthwiseParams forward;
    if (data_grad_as_forward(params, &forward)) return depthwise_forward(forward, stream);
    switch (params.dtype) {
        case DType::kFloat:
            return launch_generic<DType::kFloat>(params, stream);
        case DType::kHalf:
            return launch_generic<DType::kHalf>(params, stream);
        case DType::kBFloat16:
            return launch_generic<DType::kBFloat16>(params, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
