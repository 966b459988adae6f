// fp16/bf16 products on tensor cores against Toeplitz matrices of a staged row (forward/toeplitz_tiles.cuh,
// filter_grad/large_filter_toeplitz.cu): m16n8k16, whose products of 2-byte values are exact in fp32. A staged row
// has a second copy one slot further on, so that a lane reads values (j, j + 1) as one aligned 32-bit word
// whichever the parity of j.
#pragma once

#include "kernels/common/mma_16x8x16.cuh"

namespace dwshim {

template <DType D>
struct Mma2Byte {
    static constexpr DType kDType = D;
    using Value = unsigned short;
    static constexpr int kChunkCols = 16;  // the mma's K
    static constexpr int kRowCopies = 2;
    static constexpr bool kSplitSums = false;

    struct AFrag {
        unsigned v[4];
    };
    struct BFrag {
        unsigned v[2];
    };

    static __device__ __forceinline__ bool non_finite(unsigned short v) { return has_non_finite<D>(v); }
    static __device__ __forceinline__ float widen(unsigned short v) { return widen_bits<D>(v); }

    static __device__ __forceinline__ void load_a_frag(AFrag& a, const unsigned short* rows) { load_a(a.v, rows); }

    // B[k][n] = row[offset + k - n] (k < 16, n < 8): lane (g, t) holds k = 2t, 2t + 1 and 2t + 8, 2t + 9 of column
    // g, two words from the copy (copy_stride values on, one slot further) in which value offset + 2t - g starts
    // a word. row and copy_stride are even and the copies start 4-byte aligned.
    static __device__ __forceinline__ void load_b_frag(BFrag& b, const unsigned short* row, int copy_stride,
                                                       int offset, int lane) {
        const int g = lane / 4, parity = (offset + g) & 1;
        const unsigned short* band = row + parity * (copy_stride + 1) + offset + 2 * (lane % 4) - g;
        b.v[0] = *reinterpret_cast<const unsigned*>(band);
        b.v[1] = *reinterpret_cast<const unsigned*>(band + 8);
    }

    static __device__ __forceinline__ void mma(float (&d)[4], const AFrag& a, const BFrag& b) {
        mma_16x8x16<D>(d, a.v, b.v);
    }
};

}  // namespace dwshim
