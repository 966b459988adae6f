// The generic path: one thread per output element, any size, stride, padding, dilation, multiplier and
// memory layout, 64-bit indexing throughout. Correct first; the fast paths are measured against it.
#include "kernels/common/epilogue.cuh"
#include "kernels/forward/generic.h"

namespace dwshim {
namespace {

template <DType D>
__global__ void depthwise_forward_generic_kernel(DepthwiseParams prm, bool channels_innermost) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    const T* x = static_cast<const T*>(prm.x);
    const T* filter = static_cast<const T*>(prm.filter);
    T* y = static_cast<T*>(prm.y);

    const int64_t total = prm.n * prm.k * prm.p * prm.q;
    const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
        // Consecutive threads walk y's innermost dimension, so their stores coalesce.
        int64_t n, k, oh, ow, rest;
        if (channels_innermost) {
            k = i % prm.k;
            rest = i / prm.k;
            ow = rest % prm.q;
            rest /= prm.q;
            oh = rest % prm.p;
            n = rest / prm.p;
        } else {
            ow = i % prm.q;
            rest = i / prm.q;
            oh = rest % prm.p;
            rest /= prm.p;
            k = rest % prm.k;
            n = rest / prm.k;
        }
        const T* x_plane = x + n * prm.x_stride[kN] + (k / prm.multiplier) * prm.x_stride[kC];
        const T* taps = filter + k * prm.r * prm.s;
        float acc = 0.0f;
        for (int64_t fr = 0; fr < prm.r; ++fr) {
            const int64_t ih = oh * prm.stride_h - prm.pad_h + fr * prm.dil_h;
            if (ih < 0 || ih >= prm.h) continue;
            const int64_t tap_row = prm.flip ? prm.r - 1 - fr : fr;
            for (int64_t fs = 0; fs < prm.s; ++fs) {
                const int64_t iw = ow * prm.stride_w - prm.pad_w + fs * prm.dil_w;
                if (iw < 0 || iw >= prm.w) continue;
                const int64_t tap_col = prm.flip ? prm.s - 1 - fs : fs;
                acc += Traits::load(x_plane + ih * prm.x_stride[kH] + iw * prm.x_stride[kW]) *
                       Traits::load(taps + tap_row * prm.s + tap_col);
            }
        }
        const int64_t offset =
            n * prm.y_stride[kN] + k * prm.y_stride[kC] + oh * prm.y_stride[kH] + ow * prm.y_stride[kW];
        y[offset] = Traits::from_float(epilogue<D, true>(prm, acc, bias_of<D>(prm, k), offset));
    }
}

}  // namespace

template <DType D>
cudaError_t launch_depthwise_generic(const DepthwiseParams& params, cudaStream_t stream) {
    constexpr int kThreads = 256;
    constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // the grid-stride loop covers the rest
    const int64_t total = params.n * params.k * params.p * params.q;
    const int64_t blocks = std::min((total + kThreads - 1) / kThreads, kMaxBlocks);
    const bool channels_innermost = params.y_stride[kC] < params.y_stride[kW];
    depthwise_forward_generic_kernel<D>
        <<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(params, channels_innermost);
    return cudaGetLastError();
}

template cudaError_t launch_depthwise_generic<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_generic<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_generic<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
