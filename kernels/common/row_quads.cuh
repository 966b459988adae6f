// What the NCHW kernels that give each lane four adjacent output columns share (the forward on wide rows, the
// filter gradient): which of a lane's columns lie inside their rows, and one input row's window of a lane, loaded
// once and completed from the next lane by shuffle.
#pragma once

#include "kernels/common/dtype_traits.cuh"

namespace dwshim {

constexpr int kQuadCols = 4;

struct QuadColumns {
    int c0 = 0;              // the lane's first output column
    bool last = false;       // the last lane of its row, which loads its window's K - 1 columns past its own
    unsigned out_inside = 0;  // bit c: output column c0 + c < q
    unsigned in_inside = 0;   // bit c: input column c0 - pad_w + c inside the row (and loaded by this lane)
};

// Lanes that share an output row: the fewest (a power of two) whose 4 columns each cover it, 32 from 65 columns.
__host__ __device__ __forceinline__ int row_lanes(int64_t q) {
    int lanes = 2;
    while (lanes < 32 && lanes * kQuadCols < q) lanes *= 2;
    return lanes;
}

template <int K>
__device__ __forceinline__ QuadColumns quad_columns(const DepthwiseParams& prm, int c0, bool last) {
    QuadColumns qc;
    qc.c0 = c0;
    qc.last = last;
    const int x0 = c0 - static_cast<int>(prm.pad_w);
#pragma unroll
    for (int c = 0; c < kQuadCols + K - 1; ++c) {
        if (c < kQuadCols && c0 + c < prm.q) qc.out_inside |= 1u << c;
        if (x0 + c >= 0 && x0 + c < prm.w && (c < kQuadCols || last)) qc.in_inside |= 1u << c;
    }
    return qc;
}

// `p`, held in a register from here on. Without it nvcc rebuilds the address of each of a row's predicated loads
// from the kernel parameters in the constant bank, about a third of the instructions of the NCHW rows loops (sm_90
// SASS: the quads forward 3x3 fp16 178 -> 129 a row, the rows filter gradient 3x3 163 -> 122).
template <typename T>
__device__ __forceinline__ const T* in_register(const T* p) {
    asm volatile("" : "+l"(p));
    return p;
}

// How many rows ahead of its loads the quads forward asks L2 for its rows (prefetch_row). The NCHW row walks are
// bound by their loads' latency with 4-5 blocks an SM (bench/NOTES.md, run zl's ncu: 0.49 instructions issued a
// cycle, 77% of the stalls on global loads), and loading rows into registers a step early lost (run x: more
// registers, fewer blocks); a prefetch holds no register, so it adds bytes in flight without taking warps away.
// Run 2026-12-05c (H200, dwshim-only GPU time, forward and data gradient) against none: 2 rows ahead beat 4 and 8
// (KB84 f32 data gradient 2.26 -> 2.22 ms at 2, 2.47 at 4, 2.89 at 8). The rows filter gradient lost with it (KB84
// f32 2.04 -> 2.32 ms, mbv2_56 0.86-0.91x in every dtype) and has none.
constexpr int kPrefetchRows = 2;

// Asks L2 for the cache line of `p`, a lane's first column of a row that lies inside its tensor (`inside`: no
// address outside the tensor is ever named). The warp's lanes cover the row's columns between them.
template <typename T>
__device__ __forceinline__ void prefetch_row(const T* p, bool inside) {
    if (inside) asm volatile("prefetch.L2 [%0];" ::"l"(p));
}

// The input columns c0 - pad_w .. c0 - pad_w + kQuadCols + K - 2 of `row` (which points at column c0 - pad_w),
// zeros where outside or !valid. `lanes` lanes (a power of two up to 32) share the row; every lane of the warp
// calls it (the shuffles need them all).
template <DType D, int K>
__device__ __forceinline__ void load_window(const QuadColumns& qc, const typename DTypeTraits<D>::Storage* row,
                                            bool valid, int lanes, float (&window)[kQuadCols + K - 1]) {
    using Traits = DTypeTraits<D>;
    const unsigned mask = valid ? qc.in_inside : 0u;
    row = in_register(row);
#pragma unroll
    for (int c = 0; c < kQuadCols + K - 1; ++c) window[c] = (mask >> c) & 1u ? Traits::load(row + c) : 0.0f;
    // In order, so that the next lane's window[kQuadCols + j], itself shuffled in, is there for j >= kQuadCols.
#pragma unroll
    for (int j = 0; j < K - 1; ++j) {
        const float from_next = __shfl_down_sync(0xffffffffu, window[j], 1, lanes);
        if (!qc.last) window[kQuadCols + j] = from_next;
    }
}

}  // namespace dwshim
