// The A operand of the tensor-core kernels' mma.sync (m16n8k16 on 2-byte values, m16n8k8 on TF32): one ldmatrix of
// four 8 x 8 matrices of 16-bit units, 16 bytes a row. Compute capability 8.0 on; older code compiles to an empty
// body, which the kernels' has_mma_code check keeps from running.
#pragma once

namespace dwshim {

// Lane L addresses row L % 8 of matrix L / 8: rows 0-7 and 8-15 of the first 16 bytes of A's rows, then of the next
// 16 bytes, for lanes 0-7, 8-15, 16-23, 24-31.
__device__ __forceinline__ void load_a(unsigned (&a)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3])
                 : "r"(address));
#endif
}

}  // namespace dwshim
