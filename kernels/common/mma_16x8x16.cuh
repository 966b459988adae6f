// The 2-byte tensor-core pieces the mma kernels share: one m16n8k16 mma with fp32 accumulators, its A operand by
// ldmatrix (common/ldmatrix.cuh), and what keeps Inf and NaN where the direct sums put them. Compute capability 8.0 on;
// older code compiles to empty bodies, which the kernels' has_mma_code check keeps from running.
#pragma once

#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/ldmatrix.cuh"

namespace dwshim {

template <DType D>
__device__ __forceinline__ float widen_bits(unsigned short bits) {
    if constexpr (D == DType::kHalf) {
        return __half2float(__ushort_as_half(bits));
    } else {
        return DTypeTraits<DType::kBFloat16>::widen(bits);
    }
}

// Per 16-bit half of `word`, whether it is an Inf or NaN (all exponent bits set).
template <DType D>
__device__ __forceinline__ bool has_non_finite(unsigned word) {
    constexpr unsigned kExponents = D == DType::kHalf ? 0x7c007c00u : 0x7f807f80u;
    return __vcmpeq2(word & kExponents, kExponents) != 0;
}

// d += a * b on one 16 x 8 x 16 tile: row-major A, column-major B, fp32 accumulators.
template <DType D>
__device__ __forceinline__ void mma_16x8x16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (D == DType::kHalf) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#endif
}

}  // namespace dwshim
