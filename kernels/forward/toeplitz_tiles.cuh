// The forward at stride 1 on tensor cores, for large filters in any layout: the tiling both kinds of mma share
// (forward/toeplitz_tf32.cu, fp32 by three TF32 products; forward/toeplitz_2byte.cu, fp16/bf16). For one output plane,
// filter row i and the 8 output columns of a strip (tile coordinates: input column c meets output column n of the strip
// at tap c - n):
//   y[p][n] += sum over c of x[p + i][c] * B_i[c][n],   B_i[c][n] = w[i][c - n] (0 outside 0 <= c - n < S)
// Cut c into chunks of the mma's K columns: chunk d (c = K d + k) needs B_i,d[k][n] = w[i][K d + k - n], so
// D = (S + 7 + K - 1) / K chunks cover S taps, and 16 output rows x 8 columns of a plane are R x D mma with fp32
// accumulators. The chunk of input columns starting at 8m is chunk d of strip m - (K / 8) d: one ldmatrix of A
// serves up to D strips, each with its own B_i,d, which a lane reads from the filter row in shared memory.
//
// A block: 1-4 warps; each computes 16 output rows x 8 * strips (at most 64) columns of one plane from that plane's
// input tile in shared memory ([row][column], zero outside x). Small planes put 2 or 4 planes in a block, so a block
// always has about 4 warps. The tile and the filter are staged element by element through the strides, so any
// layout works; large filters do enough arithmetic per element that staging is not the limit.
//
// A zero of B_i,d times an Inf or NaN of x outside an output's window would make a NaN the direct sum does not have:
// a block whose tiles hold a non-finite value sums its windows tap by tap instead, with IEEE semantics.
//
// An Atom (forward/toeplitz_tf32_mma.cuh, common/toeplitz_2byte_mma.cuh) says how one kind of mma does it: its staged
// Value, K, A and B fragments, and whether sums are split (kSplitSums: each filter row's sum starts from zero and is
// added to the total in fp32, since the TF32 mma truncates its sums).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>

#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/epilogue.cuh"
#include "kernels/common/tensor_core_code.h"
#include "kernels/common/tile_staging.cuh"

namespace dwshim {

constexpr int kToeplitzRows = 16;      // a warp's output rows: the mma's M
constexpr int kToeplitzStripCols = 8;  // a strip's output columns: the mma's N
constexpr int kToeplitzMaxStrips = 8;
constexpr int kToeplitzMaxWarps = 4;
constexpr int kToeplitzFilterLead = 8;  // filter-row slots before tap 0: B's first chunk starts 7 taps before it

struct ToeplitzGrid {
    int strips = 1;        // 8-column strips a warp
    int warp_rows = 1;     // warps down a plane's tile
    int planes = 1;        // planes a block
    int pitch = 0;         // values between rows of an input tile
    int in_rows = 0;       // rows of an input tile
    int shift = 0;         // input columns staged before the first window column: 0 or 1 (aligning_shift)
    int used_cols = 0;     // columns of an input tile that windows reach; the rest stay zero
    int filter_pitch = 0;  // values between rows of a staged filter copy
    int64_t col_tiles = 1, row_tiles = 1, plane_groups = 1;
};

// Chunks of B that cover S taps for every column of a strip, `shift` columns on.
template <typename Atom>
int tile_chunks(int64_t s, int shift) {
    return static_cast<int>((s + 7 + shift + Atom::kChunkCols - 1) / Atom::kChunkCols);
}

// The most chunks of B a lane holds for one filter row: filters up to 32 columns wide in fp32 (20 registers of B),
// 40 in fp16/bf16 (6), with a shift.
template <typename Atom>
constexpr int kMaxChunks = Atom::kChunkCols == 8 ? 5 : 3;

// acc[s] (rows g and g + 8, columns 2t and 2t + 1 of strip s) += the warp's 16 output rows over every filter row.
template <typename Atom, int kChunks>
__device__ __forceinline__ void accumulate_filter_rows(float (&acc)[kToeplitzMaxStrips][4],
                                                       const typename Atom::Value* tile,
                                                       const typename Atom::Value* filter,
                                                       const ToeplitzGrid& grid, int R, int lane) {
    constexpr int kChunkStrips = Atom::kChunkCols / kToeplitzStripCols;
    constexpr int kUnit = 16 / static_cast<int>(sizeof(typename Atom::Value));  // values in 16 bytes
    const auto* a_rows = tile + (lane & 15) * grid.pitch + (lane >> 4) * kUnit;
    const int chunk_starts = grid.strips + kChunkStrips * (kChunks - 1);
    const int copy_stride = R * grid.filter_pitch;
    // sums[s] += filter row i's products.
    const auto add_row = [&](float (&sums)[kToeplitzMaxStrips][4], int i) {
        typename Atom::BFrag b[kChunks];
#pragma unroll
        for (int d = 0; d < kChunks; ++d) {
            Atom::load_b_frag(b[d], filter + i * grid.filter_pitch + kToeplitzFilterLead, copy_stride,
                              Atom::kChunkCols * d - grid.shift, lane);
        }
        const auto* a_row = a_rows + i * grid.pitch;
#pragma unroll
        for (int m = 0; m < kToeplitzMaxStrips + kChunkStrips * (kChunks - 1); ++m) {
            if (m >= chunk_starts) break;
            typename Atom::AFrag a;
            Atom::load_a_frag(a, a_row + kToeplitzStripCols * m);
#pragma unroll
            for (int d = 0; d < kChunks; ++d) {
                const int s = m - kChunkStrips * d;
                if (s >= 0 && s < kToeplitzMaxStrips && s < grid.strips) Atom::mma(sums[s], a, b[d]);
            }
        }
    };
#pragma unroll 1
    for (int i = 0; i < R; ++i) {
        if constexpr (Atom::kSplitSums) {
            float row[kToeplitzMaxStrips][4] = {};
            add_row(row, i);
#pragma unroll
            for (int s = 0; s < kToeplitzMaxStrips; ++s)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc[s][e] += row[s][e];
        } else {
            add_row(acc, i);
        }
    }
}

// At least 4 blocks an SM, up to 128 registers a thread: the fp32 kernels use up to 122; left to itself ptxas gave
// the 2-byte ones 56-64 and spilled.
template <typename Atom, int kChunks, bool kFused>
__global__ void __launch_bounds__(32 * kToeplitzMaxWarps, 4)
    toeplitz_forward_kernel(DepthwiseParams prm, ToeplitzGrid grid) {
    using Value = typename Atom::Value;
    constexpr DType D = Atom::kDType;
    extern __shared__ uint4 shared_storage[];
    const int R = static_cast<int>(prm.r), S = static_cast<int>(prm.s);
    const int tile_values = grid.in_rows * grid.pitch;
    const int filter_rows = Atom::kRowCopies * R;
    const int filter_values = filter_rows * grid.filter_pitch;
    Value* tiles = reinterpret_cast<Value*>(shared_storage);
    Value* filters = tiles + grid.planes * tile_values;

    int64_t block = blockIdx.x;
    const int64_t q0 = block % grid.col_tiles * kToeplitzStripCols * grid.strips;
    block /= grid.col_tiles;
    const int64_t p0 = block % grid.row_tiles * kToeplitzRows * grid.warp_rows;
    const int64_t first_plane = block / grid.row_tiles * grid.planes;
    const int64_t planes = prm.n * prm.k;

    // A warp stages whole rows (lanes along them): no division per element.
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    const auto* x = static_cast<const Value*>(prm.x);
    bool non_finite = false;
    for (int row = warp; row < grid.planes * grid.in_rows; row += warps) {
        const int slot = row / grid.in_rows;
        const int64_t plane = first_plane + slot, ih = p0 - prm.pad_h + row % grid.in_rows;
        const bool inside = plane < planes && static_cast<uint64_t>(ih) < static_cast<uint64_t>(prm.h);
        const Value* x_row = x + plane / prm.k * prm.x_stride[kN] +
                             plane % prm.k / prm.multiplier * prm.x_stride[kC] + ih * prm.x_stride[kH];
        Value* target = tiles + slot * tile_values + row % grid.in_rows * grid.pitch;
        non_finite |= stage_row<Atom>(target, x_row, q0 - prm.pad_w - grid.shift, prm.x_stride[kW], grid.shift,
                                      grid.used_cols, prm.w, grid.pitch, inside, lane);
    }
    const auto* w = static_cast<const Value*>(prm.filter);
    for (int row = warp; row < grid.planes * filter_rows; row += warps) {
        const int slot = row / filter_rows, copy = row % filter_rows / R, i = row % R;
        const int64_t plane = first_plane + slot;
        const Value* w_row = w + plane % prm.k * R * S + (prm.flip ? R - 1 - i : i) * S;
        Value* target = filters + slot * filter_values + (copy * R + i) * grid.filter_pitch;
        for (int c = lane; c < grid.filter_pitch; c += 32) {
            const int j = c - kToeplitzFilterLead - copy;
            target[c] = plane < planes && j >= 0 && j < S ? __ldg(w_row + (prm.flip ? S - 1 - j : j)) : Value(0);
        }
    }
    const bool exact = __syncthreads_or(non_finite);

    const int slot = warp / grid.warp_rows, row_tile = warp % grid.warp_rows;
    const int64_t plane = first_plane + slot;
    if (plane >= planes) return;  // no barrier follows
    const Value* tile = tiles + slot * tile_values + row_tile * kToeplitzRows * grid.pitch;
    const Value* filter = filters + slot * filter_values;
    const int64_t n = plane / prm.k, k = plane % prm.k;
    const float bias = kFused ? bias_of<D>(prm, k) : 0.0f;
    using T = typename DTypeTraits<D>::Storage;
    T* y = static_cast<T*>(prm.y);
    const int64_t y_plane = n * prm.y_stride[kN] + k * prm.y_stride[kC];
    // Output (row, col) of the warp's tile, if it is inside y.
    const auto store = [&](int row, int col, float sum) {
        const int64_t p = p0 + row_tile * kToeplitzRows + row, q = q0 + col;
        if (p >= prm.p || q >= prm.q) return;
        const int64_t offset = y_plane + p * prm.y_stride[kH] + q * prm.y_stride[kW];
        y[offset] = DTypeTraits<D>::from_float(epilogue<D, kFused>(prm, sum, bias, offset));
    };
    const int cols = kToeplitzStripCols * grid.strips;
    if (exact) {
        for (int e = lane; e < kToeplitzRows * cols; e += 32) {
            const int row = e / cols, col = e % cols;
            float sum = 0.0f;
            for (int i = 0; i < R; ++i)
                for (int j = 0; j < S; ++j) {
                    sum += Atom::widen(filter[i * grid.filter_pitch + kToeplitzFilterLead + j]) *
                           Atom::widen(tile[(row + i) * grid.pitch + grid.shift + col + j]);
                }
            store(row, col, sum);
        }
        return;
    }

    // acc[s]: strip s's fragment, rows g and g + 8, columns 2t and 2t + 1.
    float acc[kToeplitzMaxStrips][4];
#pragma unroll
    for (int s = 0; s < kToeplitzMaxStrips; ++s)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[s][e] = 0.0f;
    accumulate_filter_rows<Atom, kChunks>(acc, tile, filter, grid, R, lane);
    // A lane holds two adjacent columns of each row: one store of both where they are adjacent in memory and
    // aligned for it (rows contiguous), else one each.
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int s = 0; s < kToeplitzMaxStrips; ++s) {
        if (s >= grid.strips) break;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = g + 8 * h, col = s * kToeplitzStripCols + 2 * t;
            const int64_t p = p0 + row_tile * kToeplitzRows + row, q = q0 + col;
            if (p >= prm.p || q >= prm.q) continue;
            const int64_t offset = y_plane + p * prm.y_stride[kH] + q * prm.y_stride[kW];
            using Pair = typename VectorOf<2 * sizeof(T)>::Type;
            if (prm.y_stride[kW] == 1 && q + 1 < prm.q && reinterpret_cast<uintptr_t>(y + offset) % sizeof(Pair) == 0) {
                const T values[2] = {DTypeTraits<D>::from_float(epilogue<D, kFused>(prm, acc[s][2 * h], bias, offset)),
                                     DTypeTraits<D>::from_float(
                                         epilogue<D, kFused>(prm, acc[s][2 * h + 1], bias, offset + 1))};
                Pair pair;
                memcpy(&pair, values, sizeof pair);
                *reinterpret_cast<Pair*>(y + offset) = pair;
            } else {
                store(row, col, acc[s][2 * h]);
                store(row, col + 1, acc[s][2 * h + 1]);
            }
        }
    }
}

// Columns split evenly over as few 64-column tiles as cover a row, rows over tiles of up to 4 warps; planes of 32
// rows or fewer share a block (2 or 4 a block). Input rows padded to an odd number of 16-byte units, so that
// ldmatrix's eight row reads fall in distinct banks.
template <typename Atom>
ToeplitzGrid make_toeplitz_grid(const DepthwiseParams& p, int shift) {
    ToeplitzGrid g;
    g.shift = shift;
    constexpr int64_t kMaxCols = kToeplitzStripCols * kToeplitzMaxStrips;
    constexpr int kUnit = 16 / static_cast<int>(sizeof(typename Atom::Value));  // values in 16 bytes
    g.col_tiles = (p.q + kMaxCols - 1) / kMaxCols;
    const int64_t cols = (p.q + g.col_tiles - 1) / g.col_tiles;
    g.strips = static_cast<int>((cols + kToeplitzStripCols - 1) / kToeplitzStripCols);
    g.warp_rows = static_cast<int>(std::min<int64_t>(kToeplitzMaxWarps, (p.p + kToeplitzRows - 1) / kToeplitzRows));
    g.row_tiles = (p.p + kToeplitzRows * g.warp_rows - 1) / (kToeplitzRows * g.warp_rows);
    g.planes = std::max(1, kToeplitzMaxWarps / g.warp_rows);
    g.plane_groups = (p.n * p.k + g.planes - 1) / g.planes;
    const int chunks = tile_chunks<Atom>(p.s, shift);
    // One past the last chunk's last column.
    const int last_chunk_start = g.strips - 1 + Atom::kChunkCols / kToeplitzStripCols * (chunks - 1);
    g.pitch = kToeplitzStripCols * last_chunk_start + Atom::kChunkCols;
    if (g.pitch / kUnit % 2 == 0) g.pitch += kUnit;
    g.in_rows = kToeplitzRows * g.warp_rows + static_cast<int>(p.r) - 1;
    g.used_cols = shift + kToeplitzStripCols * g.strips + static_cast<int>(p.s) - 1;
    g.filter_pitch = kToeplitzFilterLead + Atom::kChunkCols * chunks;
    return g;
}

template <typename Atom>
size_t toeplitz_shared_bytes(const DepthwiseParams& p, const ToeplitzGrid& g) {
    const size_t per_plane =
        static_cast<size_t>(g.in_rows) * g.pitch + Atom::kRowCopies * static_cast<size_t>(p.r) * g.filter_pitch;
    return sizeof(typename Atom::Value) * g.planes * per_plane;
}

// The shapes an Atom's kernel takes: stride 1, no dilation, filters from 13 x 13 in fp16/bf16 and from 25 x 25 in
// fp32, at most 64 rows and as wide as its chunks reach with a shift, in any layout; shared memory within every
// compute capability 8.x GPU's opt-in limit (with a shift, whatever x's address), and code with mma.sync on this
// device. The sizes are where it was measured faster than the FMA kernel (H200, run 2026-12-04 large): fp16/bf16
// 1.5-3.5x from 13 x 13 (1.0x at 9 and 11); fp32, three TF32 products a product, 1.14x at 25 and 1.24x at 31 but
// 0.7-0.8x at 15 and 19; 5x5 to 7x7 on rows lost everywhere (0.1-0.5x).
template <typename Atom>
bool toeplitz_forward_applies(const DepthwiseParams& p) {
    constexpr size_t kMaxSharedBytes = 96 * 1024;
    constexpr int64_t kMinFilter = Atom::kDType == DType::kFloat ? 25 : 13;
    return p.dtype == Atom::kDType && p.r >= kMinFilter && p.s >= kMinFilter && p.stride_h == 1 &&
           p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.r <= 64 && p.p > 0 && p.q > 0 &&
           tile_chunks<Atom>(p.s, 1) <= kMaxChunks<Atom> &&
           toeplitz_shared_bytes<Atom>(p, make_toeplitz_grid<Atom>(p, 1)) <= kMaxSharedBytes &&
           has_mma_code(toeplitz_forward_kernel<Atom, 1, false>);
}

template <typename Atom, int kChunks>
cudaError_t launch_toeplitz_chunks(const DepthwiseParams& params, const ToeplitzGrid& grid,
                                       cudaStream_t stream) {
    const int64_t blocks = grid.plane_groups * grid.row_tiles * grid.col_tiles;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const auto kernel = needs_fused_epilogue(params) ? toeplitz_forward_kernel<Atom, kChunks, true>
                                                     : toeplitz_forward_kernel<Atom, kChunks, false>;
    const size_t bytes = toeplitz_shared_bytes<Atom>(params, grid);
    if (bytes > 48 * 1024) {  // past the default limit: a per-function opt-in (a host-side setting, no sync)
        const cudaError_t status =
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
        if (status != cudaSuccess) return status;
    }
    const int threads = 32 * grid.warp_rows * grid.planes;
    kernel<<<static_cast<unsigned>(blocks), threads, bytes, stream>>>(params, grid);
    return cudaGetLastError();
}

template <typename Atom>
cudaError_t launch_toeplitz_forward(const DepthwiseParams& params, cudaStream_t stream) {
    static_assert(kMaxChunks<Atom> >= 3 && kMaxChunks<Atom> <= 5, "chunk counts instantiated below");
    const ToeplitzGrid grid = make_toeplitz_grid<Atom>(params, aligning_shift<Atom>(params));
    switch (tile_chunks<Atom>(params.s, grid.shift)) {
        case 1:
            return launch_toeplitz_chunks<Atom, 1>(params, grid, stream);
        case 2:
            return launch_toeplitz_chunks<Atom, 2>(params, grid, stream);
        case 3:
            return launch_toeplitz_chunks<Atom, 3>(params, grid, stream);
        case 4:
            if constexpr (kMaxChunks<Atom> >= 4) return launch_toeplitz_chunks<Atom, 4>(params, grid, stream);
            break;
        case 5:
            if constexpr (kMaxChunks<Atom> >= 5) return launch_toeplitz_chunks<Atom, 5>(params, grid, stream);
            break;
    }
    return cudaErrorInvalidConfiguration;
}

}  // namespace dwshim
