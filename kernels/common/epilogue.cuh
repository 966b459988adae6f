// What every kernel does with a finished fp32 sum: scale, residual, bias, activation, in cuDNN's order.
#pragma once

#include "kernels/common/dtype_traits.cuh"

namespace dwshim {

// The bias of output channel k, 0 when there is none; loaded once per thread, outside the loops.
template <DType D>
__device__ __forceinline__ float bias_of(const DepthwiseParams& p, int64_t k) {
    using T = typename DTypeTraits<D>::Storage;
    return p.bias != nullptr ? DTypeTraits<D>::load(static_cast<const T*>(p.bias) + k) : 0.0f;
}

// Whether a launch needs the bias and activation stages; kernels are instantiated both ways so that a plain
// convolution (scale and residual only) carries no code for them in its inner loop.
inline bool needs_fused_epilogue(const DepthwiseParams& p) {
    return p.bias != nullptr || p.activation != Activation::kIdentity;
}

// `offset` is the output element's offset in y (and in the residual, which shares y's strides).
template <DType D, bool kFused>
__device__ __forceinline__ float epilogue(const DepthwiseParams& p, float acc, float bias, int64_t offset) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    float v = p.alpha * acc;
    if (p.residual != nullptr) v += p.residual_scale * Traits::load(static_cast<const T*>(p.residual) + offset);
    if (!kFused) return v;
    v += bias;
    if (p.activation != Activation::kIdentity && !(p.propagate_nan && v != v)) {
        v = fmaxf(v, 0.0f);  // fmaxf(NaN, 0) is 0: NaN does not propagate
        if (p.activation == Activation::kClippedRelu) v = fminf(v, p.clip);
    }
    return v;
}

}  // namespace dwshim
