// The filter gradient's partial sums for large filters (wider or taller than 7) at stride 1: the forward
// large-filter path turned around. A block takes one channel and a slice of output tiles (kTileRows x kTileCols
// outputs of one image); per tile it stages the input tile (zero outside x) and the dy tile in shared memory as
// fp32, and each thread accumulates a kTapRows x kTapCols tile of taps over the output rows its warp owns:
// per output row, tap row and group of 4 output columns it reads 12 inputs and 4 dy values as 16-byte shared loads
// and does 128 FMAs, so arithmetic is the limit, not shared memory. The warps' sums are added in warp order.
#include "kernels/filter_grad/large_filter.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/filter_grad/large_filter_tiles.h"
#include "kernels/filter_grad/large_filter_toeplitz.h"

namespace dwshim {
namespace {

constexpr int kThreads = 256;
constexpr int kTileRows = kLargeGradTileRows, kTileCols = kLargeGradTileCols;
constexpr int kTapRows = 4, kTapCols = 8;  // taps per thread
constexpr int kQuad = 4;                   // output columns per step
constexpr size_t kMaxSharedBytes = 48 * 1024;

struct LargeLayout {
    int tap_tiles_r = 0, tap_tiles_s = 0;  // tap tiles down and across the filter
    int groups = 0;                        // threads per tap tile set: kThreads / (tap_tiles_r * tap_tiles_s)
    int pitch = 0, rows = 0;               // the staged input tile: rows of `pitch` floats
};

LargeLayout large_layout(const DepthwiseParams& p) {
    LargeLayout l;
    l.tap_tiles_r = static_cast<int>((p.r + kTapRows - 1) / kTapRows);
    l.tap_tiles_s = static_cast<int>((p.s + kTapCols - 1) / kTapCols);
    l.groups = kThreads / std::max(1, l.tap_tiles_r * l.tap_tiles_s);
    // Wide enough that the last tap tile's 12-value reads at the last quad stay inside the row.
    l.pitch = kTileCols + l.tap_tiles_s * kTapCols + kQuad;
    l.rows = kTileRows + l.tap_tiles_r * kTapRows;
    return l;
}

size_t staged_bytes(const LargeLayout& l) {
    return (static_cast<size_t>(l.rows) * l.pitch + static_cast<size_t>(kTileRows) * kTileCols) * sizeof(float);
}

template <DType D>
__global__ void __launch_bounds__(kThreads)
    filter_grad_large_kernel(DepthwiseParams prm, LargeGradTiles grid, LargeLayout layout, float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    extern __shared__ float4 shared_storage[];
    float* x_tile = reinterpret_cast<float*>(shared_storage);
    float* dy_tile = x_tile + layout.rows * layout.pitch;
    const int64_t k = blockIdx.x;
    const int R = static_cast<int>(prm.r), S = static_cast<int>(prm.s);
    // This thread's taps: tap tile `tap_tile` (rows fr0.., columns fs0..), output rows row_group, row_group +
    // groups, ... of each tile. Threads past the tap tiles (groups * tiles < kThreads) only help staging.
    const int tap_tiles = layout.tap_tiles_r * layout.tap_tiles_s;
    const int tap_tile = threadIdx.x % tap_tiles, row_group = threadIdx.x / tap_tiles;
    const bool computes = row_group < layout.groups;
    const int fr0 = tap_tile / layout.tap_tiles_s * kTapRows, fs0 = tap_tile % layout.tap_tiles_s * kTapCols;
    float acc[kTapRows][kTapCols] = {};

    const T* x_channel = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
    const T* dy_channel = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
    const int64_t first = blockIdx.y * grid.tiles_per_slice;
    const int64_t last = min(grid.tiles, first + grid.tiles_per_slice);
    for (int64_t t = first; t < last; ++t) {
        const int64_t n = t / (grid.tile_rows * grid.tile_cols);
        const int64_t oh0 = t / grid.tile_cols % grid.tile_rows * kTileRows, ow0 = t % grid.tile_cols * kTileCols;
        const T* x = x_channel + n * prm.x_stride[kN];
        const T* dy = dy_channel + n * prm.y_stride[kN];
        __syncthreads();  // the previous tile is no longer read
        bool non_finite = false;
        for (int e = threadIdx.x; e < layout.rows * layout.pitch; e += kThreads) {
            const int i = e / layout.pitch, j = e % layout.pitch;
            const int64_t ih = oh0 - prm.pad_h + i, iw = ow0 - prm.pad_w + j;
            const bool inside = i < kTileRows + R - 1 && j < kTileCols + S - 1 && ih >= 0 && ih < prm.h && iw >= 0 &&
                                iw < prm.w;
            const float v = inside ? Traits::load(x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW]) : 0.0f;
            non_finite |= !isfinite(v);
            x_tile[e] = v;
        }
        for (int e = threadIdx.x; e < kTileRows * kTileCols; e += kThreads) {
            const int64_t oh = oh0 + e / kTileCols, ow = ow0 + e % kTileCols;
            dy_tile[e] = oh < prm.p && ow < prm.q ? Traits::load(dy + oh * prm.y_stride[kH] + ow * prm.y_stride[kW])
                                                  : 0.0f;
        }
        // Both tiles are complete before any thread reads them. dy's zeros past the output's edge meet x values no
        // tap's window reaches: a tile whose x holds an Inf or NaN is summed over its outputs inside dy instead, so
        // that no NaN appears that the direct sum does not have.
        const bool exact = __syncthreads_or(non_finite);
        if (!computes) continue;
        if (exact) {
            const int rows = static_cast<int>(min(static_cast<int64_t>(kTileRows), prm.p - oh0));
            const int cols = static_cast<int>(min(static_cast<int64_t>(kTileCols), prm.q - ow0));
            for (int row = row_group; row < rows; row += layout.groups)
                for (int q = 0; q < cols; ++q) {
                    const float d = dy_tile[row * kTileCols + q];
#pragma unroll
                    for (int fr = 0; fr < kTapRows; ++fr)
#pragma unroll
                        for (int s = 0; s < kTapCols; ++s) {
                            acc[fr][s] += d * x_tile[(row + fr0 + fr) * layout.pitch + q + fs0 + s];
                        }
                }
            continue;
        }
        for (int row = row_group; row < kTileRows; row += layout.groups) {
            for (int q = 0; q < kTileCols; q += kQuad) {
                const float4 d4 = *reinterpret_cast<const float4*>(dy_tile + row * kTileCols + q);
                const float d[kQuad] = {d4.x, d4.y, d4.z, d4.w};
#pragma unroll
                for (int fr = 0; fr < kTapRows; ++fr) {
                    const float* in = x_tile + (row + fr0 + fr) * layout.pitch + q + fs0;
                    const float4 a = *reinterpret_cast<const float4*>(in);
                    const float4 b = *reinterpret_cast<const float4*>(in + 4);
                    const float4 c = *reinterpret_cast<const float4*>(in + 8);
                    const float w[kQuad + kTapCols] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w};
#pragma unroll
                    for (int s = 0; s < kTapCols; ++s)
#pragma unroll
                        for (int j = 0; j < kQuad; ++j) acc[fr][s] += d[j] * w[j + s];
                }
            }
        }
    }

    // The row groups' sums, added in group order into shared memory (reusing the staging area), then written.
    float* sums = x_tile;
    const int taps = R * S;
    __syncthreads();  // the last tile is no longer read
    for (int e = threadIdx.x; e < taps; e += kThreads) sums[e] = 0.0f;
    for (int g = 0; g < layout.groups; ++g) {
        __syncthreads();
        if (row_group == g) {
#pragma unroll
            for (int fr = 0; fr < kTapRows; ++fr)
#pragma unroll
                for (int s = 0; s < kTapCols; ++s) {
                    if (fr0 + fr < R && fs0 + s < S) sums[(fr0 + fr) * S + fs0 + s] += acc[fr][s];
                }
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < taps; e += kThreads) {
        partial[(static_cast<int64_t>(blockIdx.y) * prm.k + k) * taps + e] = sums[e];
    }
}

}  // namespace

bool filter_grad_large_applies(const DepthwiseParams& p) {
    const LargeLayout l = large_layout(p);
    // Rows contiguous in x and dy, where it was measured (channels-last data would stage one value per sector).
    const bool rows = p.x_stride[kW] == 1 && p.y_stride[kW] == 1;
    return rows && (p.r > 7 || p.s > 7) && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
           p.r <= 64 && p.s <= 64 && l.groups >= 1 && staged_bytes(l) <= kMaxSharedBytes &&
           p.r * p.s * sizeof(float) <= staged_bytes(l) && p.k <= 0x7fffffff;
}

int64_t filter_grad_large_slices(const DepthwiseParams& p) {
    return large_grad_tiles(p).slices;
}

cudaError_t filter_grad_large(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const LargeGradTiles grid = large_grad_tiles(p);
    if (grid.slices > 0xffff) return cudaErrorInvalidConfiguration;
    if (filter_grad_toeplitz_applies(p)) return filter_grad_toeplitz(p, partial, slices, stream);
    *slices = grid.slices;
    const LargeLayout layout = large_layout(p);
    const dim3 blocks(static_cast<unsigned>(p.k), static_cast<unsigned>(grid.slices));
    const size_t bytes = staged_bytes(layout);
    return with_dtype(p.dtype, [&](auto d) {
        filter_grad_large_kernel<decltype(d)::value><<<blocks, kThreads, bytes, stream>>>(p, grid, layout, partial);
        return cudaGetLastError();
    });
}

}  // namespace dwshim
