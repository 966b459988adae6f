// fp32 products on tensor cores against Toeplitz matrices of a staged row (forward/toeplitz_tiles.cuh; the filter
// gradient stays on FMA in fp32, where this lost): m16n8k8 on TF32, three products each. With x = x_hi + x_lo and
// w = w_hi + w_lo, hi rounded to TF32 and lo the rest (the mma reads its top 19 bits), x w is
// x_hi w_hi + x_hi w_lo + x_lo w_hi up to about 2^-21 relative, fp32's own accuracy. The mma rounds its sums
// toward zero, so callers sum few products in one accumulator before adding it to the total in fp32 (kSplitSums).
#pragma once

#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/ldmatrix.cuh"
#include "kernels/common/tf32_mma.cuh"

namespace dwshim {

struct Tf32x3 {
    static constexpr DType kDType = DType::kFloat;
    using Value = float;
    static constexpr int kChunkCols = 8;  // the mma's K
    static constexpr int kRowCopies = 1;
    static constexpr bool kSplitSums = true;

    struct AFrag {
        unsigned hi[4], lo[4];
    };
    struct BFrag {
        unsigned hi[2], lo[2];
    };

    static __device__ __forceinline__ bool non_finite(float v) { return !isfinite(v); }
    static __device__ __forceinline__ float widen(float v) { return v; }

    // v = hi + lo: hi rounded to TF32, lo what is left.
    static __device__ __forceinline__ void split(float v, unsigned& hi, unsigned& lo) {
        const float rounded = round_to_tf32(v);
        hi = __float_as_uint(rounded);
        lo = __float_as_uint(v - rounded);
    }

    // A: rows addressed as load_a (common/ldmatrix.cuh) describes, 8 values of each.
    static __device__ __forceinline__ void load_a_frag(AFrag& a, const float* rows) {
        unsigned bits[4];
        load_a(bits, rows);
#pragma unroll
        for (int e = 0; e < 4; ++e) split(__uint_as_float(bits[e]), a.hi[e], a.lo[e]);
    }

    // B[k][n] = row[offset + k - n] (k < 8, n < 8): lane (g, t) holds k = t and t + 4 of column g.
    static __device__ __forceinline__ void load_b_frag(BFrag& b, const float* row, int /*copy_stride*/, int offset,
                                                       int lane) {
        const float* band = row + offset + lane % 4 - lane / 4;
        split(band[0], b.hi[0], b.lo[0]);
        split(band[4], b.hi[1], b.lo[1]);
    }

    static __device__ __forceinline__ void mma(float (&d)[4], const AFrag& a, const BFrag& b) {
        mma_tf32(d, a.lo, b.hi);
        mma_tf32(d, a.hi, b.lo);
        mma_tf32(d, a.hi, b.hi);
    }
};

}  // namespace dwshim
