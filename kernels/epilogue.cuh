// What every kernel does with a finished fp32 sum: scale, residual, bias, activation, in cuDNN's order.
#pragma once

#include "dtype_traits.cuh"

namespace dwshim {

// `offset` is the output element's offset in y (and in the residual, which shares y's strides).
template <DType D>
__device__ __forceinline__ float epilogue(const DepthwiseParams& p, float acc, int64_t k, int64_t offset) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    float v = p.alpha * acc;
    if (p.residual != nullptr) v += p.residual_scale * Traits::load(static_cast<const T*>(p.residual) + offset);
    if (p.bias != nullptr) v += Traits::load(static_cast<const T*>(p.bias) + k);
    if (p.activation != Activation::kIdentity && !(p.propagate_nan && v != v)) {
        v = fmaxf(v, 0.0f);  // fmaxf(NaN, 0) is 0: NaN does not propagate
        if (p.activation == Activation::kClippedRelu) v = fminf(v, p.clip);
    }
    return v;
}

}  // namespace dwshim
