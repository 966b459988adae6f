// The filter gradient's partial sums at stride 1 on tensor cores, fp16/bf16 filters from 13 x 13 up to 32 x 32 on
// row-contiguous data: the tiles and slices of filter_grad/large_filter.cu, the Toeplitz products of the forward
// (forward/toeplitz_tiles.cuh) turned around. For one output row p of a tile, 16 filter rows i and 8 filter columns j
// (a strip):
//   dW[i][j] += sum over q of dy[p][q] * x[p + i][q + j] = sum over c of A_p[i][c] * B_p[c][j],
//   A_p[i][c] = x[p + i][c] (the staged input tile's rows p..p+15),   B_p[c][j] = dy[p][c - j] (0 outside the row)
// with c cut into chunks of the mma's K columns: per output row and chunk, one ldmatrix of A for each 16 filter
// rows and one B (two 32-bit words a lane, read from the staged dy row at offset c0 - 8 j0) for each strip, shared
// by the filter rows. A warp holds up to 2 x 4 tiles of 16 x 8 taps (filters up to 32 x 32) over the output rows
// it owns (every 8th of a tile); the warps' sums are added in warp order, as the FMA kernel does.
//
// Where it was measured faster than the FMA kernel (H200, run 2026-12-04 large): fp16/bf16 from 13 x 13 (1.01-1.08x
// at 13 and 15, 1.9-2.5x from 19); smaller filters lost (0.83x at 9 and 11), and so did fp32 on three TF32
// products a product (0.5-0.9x up to 19, 1.01x at 31): those stay on the FMA kernel.
//
// A zero of B times an Inf or NaN of x outside a tap's window would make a NaN the direct sum does not have: a tile
// whose x holds a non-finite value is summed tap by tap instead.
#include "kernels/filter_grad/large_filter_toeplitz.h"

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/tensor_core_code.h"
#include "kernels/common/tile_staging.cuh"
#include "kernels/common/toeplitz_2byte_mma.cuh"

namespace dwshim {
namespace {

constexpr int kWarps = 8;
constexpr int kITiles = 2, kJStrips = 4;  // 16 x 8 tap tiles a warp holds at most
constexpr size_t kMaxSharedBytes = 48 * 1024;

struct GradLayout {
    int i_tiles = 1, j_strips = 1;  // tap tiles down and across the filter
    int shift = 0;                  // input columns staged before the tile's first window column (aligning_shift)
    int x_rows = 0;                 // staged input rows: every filter row of every tile row reaches one
    int x_cols = 0;                 // input columns the chunks cover
    int x_pitch = 0;                // x_cols padded to an odd number of 16-byte units
    int dy_lead = 0;                // zeros before dy's column 0: a band reaches 8 * j_strips - 1 columns back
    int dy_pitch = 0;               // values between staged dy rows
};

template <typename Atom>
GradLayout grad_layout(const DepthwiseParams& p, int shift) {
    constexpr int kUnit = 16 / static_cast<int>(sizeof(typename Atom::Value));
    GradLayout l;
    l.shift = shift;
    l.i_tiles = static_cast<int>((p.r + 15) / 16);
    l.j_strips = static_cast<int>((p.s + 7) / 8);
    l.x_rows = kLargeGradTileRows + 16 * l.i_tiles - 1;
    const int reach = shift + kLargeGradTileCols + static_cast<int>(p.s) - 1;
    l.x_cols = (reach + Atom::kChunkCols - 1) / Atom::kChunkCols * Atom::kChunkCols;
    l.x_pitch = l.x_cols;
    if (l.x_pitch / kUnit % 2 == 0) l.x_pitch += kUnit;
    l.dy_lead = 8 * l.j_strips;
    l.dy_pitch = l.dy_lead + l.x_cols + 8;
    return l;
}

// acc[it][js]: tap tile (it, js) of 16 x 8 taps, as an mma's accumulator fragment.
using TapSums = float[kITiles][kJStrips][4];

// Calls visit(i, j, sum) for each tap (i, j) of the R x S filter whose sum lane (g, t) holds in acc.
template <typename Visit>
__device__ __forceinline__ void for_each_owned_tap(TapSums& acc, int g, int t, int R, int S, Visit visit) {
#pragma unroll
    for (int it = 0; it < kITiles; ++it)
#pragma unroll
        for (int js = 0; js < kJStrips; ++js)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int i = 16 * it + g + 8 * (e >> 1), j = 8 * js + 2 * t + (e & 1);
                if (i < R && j < S) visit(i, j, acc[it][js][e]);
            }
}

template <typename Atom>
size_t grad_shared_bytes(const GradLayout& l) {
    const size_t values = static_cast<size_t>(l.x_rows) * l.x_pitch +
                          static_cast<size_t>(Atom::kRowCopies) * kLargeGradTileRows * l.dy_pitch;
    return values * sizeof(typename Atom::Value);
}

// At least 2 blocks an SM, up to 128 registers a thread; left to itself ptxas gave these kernels 80 and spilled.
template <typename Atom>
__global__ void __launch_bounds__(32 * kWarps, 2)
    filter_grad_toeplitz_kernel(DepthwiseParams prm, LargeGradTiles grid, GradLayout layout, float* partial) {
    using Value = typename Atom::Value;
    constexpr int kUnit = 16 / static_cast<int>(sizeof(Value));
    extern __shared__ uint4 shared_storage[];
    Value* x_tile = reinterpret_cast<Value*>(shared_storage);
    Value* dy_tile = x_tile + layout.x_rows * layout.x_pitch;
    const int copy_stride = kLargeGradTileRows * layout.dy_pitch;
    const int64_t k = blockIdx.x;
    const int R = static_cast<int>(prm.r), S = static_cast<int>(prm.s);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;

    TapSums acc = {};
    const auto* x_channel = static_cast<const Value*>(prm.x) + k / prm.multiplier * prm.x_stride[kC];
    const auto* dy_channel = static_cast<const Value*>(prm.y) + k * prm.y_stride[kC];
    const int64_t first = blockIdx.y * grid.tiles_per_slice;
    const int64_t last = min(grid.tiles, first + grid.tiles_per_slice);
    for (int64_t tile = first; tile < last; ++tile) {
        const int64_t n = tile / (grid.tile_rows * grid.tile_cols);
        const int64_t oh0 = tile / grid.tile_cols % grid.tile_rows * kLargeGradTileRows;
        const int64_t ow0 = tile % grid.tile_cols * kLargeGradTileCols;
        const Value* x = x_channel + n * prm.x_stride[kN];
        const Value* dy = dy_channel + n * prm.y_stride[kN];
        __syncthreads();  // the previous tile is no longer read
        // A warp stages whole rows (lanes along them). x rows past the filter's reach and columns past a tile's
        // windows stay zero; so do dy values outside the tile and the lead.
        bool non_finite = false;
        for (int r = warp; r < layout.x_rows; r += kWarps) {
            const int64_t ih = oh0 - prm.pad_h + r;
            const bool inside = r < kLargeGradTileRows + R - 1 && ih >= 0 && ih < prm.h;
            non_finite |= stage_row<Atom>(x_tile + r * layout.x_pitch, x + ih * prm.x_stride[kH],
                                          ow0 - prm.pad_w - layout.shift, prm.x_stride[kW], layout.shift,
                                          layout.shift + kLargeGradTileCols + S - 1, prm.w, layout.x_pitch, inside,
                                          lane);
        }
        for (int r = warp; r < Atom::kRowCopies * kLargeGradTileRows; r += kWarps) {
            const int lead = layout.dy_lead + r / kLargeGradTileRows;  // the copy's columns before dy's column 0
            const int64_t oh = oh0 + r % kLargeGradTileRows;
            stage_row<Atom>(dy_tile + r * layout.dy_pitch, dy + oh * prm.y_stride[kH], ow0 - lead, prm.y_stride[kW],
                            lead, lead + kLargeGradTileCols, prm.q, layout.dy_pitch, oh < prm.p, lane);
        }
        const bool exact = __syncthreads_or(non_finite);

        // The tile's outputs inside dy: the exact sums stop there, where zeros of dy would meet x values no tap's
        // window reaches.
        const int rows = static_cast<int>(min(static_cast<int64_t>(kLargeGradTileRows), prm.p - oh0));
        const int cols = static_cast<int>(min(static_cast<int64_t>(kLargeGradTileCols), prm.q - ow0));
        for (int p = warp; p < rows; p += kWarps) {
            const Value* dy_row = dy_tile + p * layout.dy_pitch + layout.dy_lead;
            if (exact) {
                for_each_owned_tap(acc, g, t, R, S, [&](int i, int j, float& tap_sum) {
                    const Value* x_row = x_tile + (p + i) * layout.x_pitch + layout.shift + j;
                    float sum = 0.0f;
#pragma unroll 1
                    for (int q = 0; q < cols; ++q) {
                        sum += Atom::widen(dy_row[q]) * Atom::widen(x_row[q]);
                    }
                    tap_sum += sum;
                });
                continue;
            }
            const Value* a_rows = x_tile + (p + (lane & 15)) * layout.x_pitch + (lane >> 4) * kUnit;
            for (int c0 = 0; c0 < layout.x_cols; c0 += Atom::kChunkCols) {
                typename Atom::AFrag a[kITiles];
#pragma unroll
                for (int it = 0; it < kITiles; ++it) {
                    if (it < layout.i_tiles) Atom::load_a_frag(a[it], a_rows + 16 * it * layout.x_pitch + c0);
                }
#pragma unroll
                for (int js = 0; js < kJStrips; ++js) {
                    if (js >= layout.j_strips) break;
                    typename Atom::BFrag b;
                    Atom::load_b_frag(b, dy_row, copy_stride, c0 - 8 * js - layout.shift, lane);
#pragma unroll
                    for (int it = 0; it < kITiles; ++it) {
                        if (it < layout.i_tiles) Atom::mma(acc[it][js], a[it], b);
                    }
                }
            }
        }
    }

    // The warps' sums, added in warp order into shared memory (reusing the staging area), then written.
    float* sums = reinterpret_cast<float*>(shared_storage);
    const int taps = R * S;
    __syncthreads();  // the last tile is no longer read
    for (int e = threadIdx.x; e < taps; e += 32 * kWarps) sums[e] = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
        __syncthreads();
        if (warp != w) continue;
        for_each_owned_tap(acc, g, t, R, S, [&](int i, int j, float& tap_sum) { sums[i * S + j] += tap_sum; });
    }
    __syncthreads();
    for (int e = threadIdx.x; e < taps; e += 32 * kWarps) {
        partial[(static_cast<int64_t>(blockIdx.y) * prm.k + k) * taps + e] = sums[e];
    }
}

// Shared memory counted with a shift, whatever x's address.
template <typename Atom>
bool applies_with(const DepthwiseParams& p) {
    const GradLayout l = grad_layout<Atom>(p, 1);
    const bool rows = p.x_stride[kW] == 1 && p.y_stride[kW] == 1;
    return p.dtype == Atom::kDType && rows && p.r >= 13 && p.s >= 13 && p.stride_h == 1 && p.stride_w == 1 &&
           p.dil_h == 1 && p.dil_w == 1 && p.k <= 0x7fffffff && l.i_tiles <= kITiles && l.j_strips <= kJStrips &&
           grad_shared_bytes<Atom>(l) <= kMaxSharedBytes && p.r * p.s * sizeof(float) <= grad_shared_bytes<Atom>(l) &&
           has_mma_code(filter_grad_toeplitz_kernel<Atom>);
}

template <typename Atom>
cudaError_t launch(const DepthwiseParams& p, const LargeGradTiles& grid, float* partial, cudaStream_t stream) {
    if (grid.slices > 0xffff) return cudaErrorInvalidConfiguration;
    const GradLayout layout = grad_layout<Atom>(p, aligning_shift<Atom>(p));
    const dim3 blocks(static_cast<unsigned>(p.k), static_cast<unsigned>(grid.slices));
    filter_grad_toeplitz_kernel<Atom>
        <<<blocks, 32 * kWarps, grad_shared_bytes<Atom>(layout), stream>>>(p, grid, layout, partial);
    return cudaGetLastError();
}

}  // namespace

bool filter_grad_toeplitz_applies(const DepthwiseParams& p) {
    return with_2byte_dtype_or(p.dtype, false,
                               [&](auto d) { return applies_with<Mma2Byte<decltype(d)::value>>(p); });
}

cudaError_t filter_grad_toeplitz(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const LargeGradTiles grid = large_grad_tiles(p);
    *slices = grid.slices;
    return with_2byte_dtype_or(p.dtype, cudaErrorInvalidValue,
                               [&](auto d) { return launch<Mma2Byte<decltype(d)::value>>(p, grid, partial, stream); });
}

}  // namespace dwshim
