// TF32 tensor-core helpers of KernelBench problem 86's kernels (kernelbench/pointwise_conv.cu and
// kernelbench/separable_conv.cu): operands rounded to TF32 as cuDNN rounds them, and one m16n8k8 mma.
#pragma once

namespace dwshim {

// Round to the nearest TF32 value, ties to even: of the four roundings bench/tf32_rounding.py compares with the
// reference's output on the H200 (cuDNN 9.19), this one alone matches it at 1e-4 (largest difference 3.4e-7; ties
// away from zero 1.2e-4, exact fp32 4.2e-4). Infinities and NaNs pass unchanged.
__device__ __forceinline__ float round_to_tf32(float v) {
    unsigned bits = __float_as_uint(v);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits += 0xfffu + ((bits >> 13) & 1u);
    return __uint_as_float(bits & 0xffffe000u);
}

// d += a * b on one 16 x 8 x 8 tile (row-major A, column-major B, fp32 accumulators), compute capability 8.0 on.
__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

}  // namespace dwshim
