// NCHW, stride_h 1 or 2: each thread owns one output column of one (n, k) plane and walks down a band of rows.
// Every input row it loads feeds every output row whose window covers it (KH of them at stride 1, about KH / 2 at
// stride 2), so x is read once per band plus a halo instead of KH times; lanes own consecutive columns, so loads
// and stores coalesce. The filter is KH x KW: the shapes kNchwRowsShapes lists.
// Square filters on planes of 16 columns or fewer pack tiles of kNarrowLanes threads into blocks of kMaxThreads, so
// a warp holds 4 planes of 7 columns instead of leaving 25 of its 32 lanes idle (runs 2026-12-03g and h:
// c960_7x7_k5s1 f32 0.106 -> 0.033 ms, c672_14x14_k5s1 0.114 -> 0.079). Wider planes keep a block per tile: the
// packed indexing measured 20-30% slower there (c144_56x56_k3s1 f32 0.107 -> 0.131).
#include "kernels/common/epilogue.cuh"
#include "kernels/common/plane_tiles.cuh"
#include "kernels/forward/nchw_rows.h"

namespace dwshim {
namespace {

constexpr int kMaxThreads = 128;  // columns per block: the warps that cover a row, at most 4
constexpr int kNarrowLanes = 8;   // threads of a packed tile
// Output rows per block: 64 at 7x7, whose K - 1 halo rows per band are 19% of a 32-row band (H100 convnext7
// f16 0.45 -> 0.40 ms), and for 2-byte types at 3x3 stride 1 (H200 run 2026-12-03j, 32 -> 64 rows: KB84 data
// gradient bf16 2.99 -> 2.75, mbv2_56 forward bf16 0.058 -> 0.054, c144_56x56 f16 0.105 -> 0.098, c32_112x112
// bf16 0.094 -> 0.091). 32 otherwise: fp32 at 3x3 stride 1 gained on some cases (KB84 data gradient 3.24 -> 3.13)
// but lost on others (c32_112x112 0.0976 -> 0.0988, mult2 0.106 -> 0.110), and its routing was measured at 32;
// stride 2 lost at 64 on the H100 (mbv2_s2 f16 0.084 -> 0.089).
template <int KH, int S, typename T>
constexpr int kNchwRowsBandRows = KH >= 7 || (KH == 3 && S == 1 && sizeof(T) == 2) ? 64 : 32;

// kPacked: tiles of kNarrowLanes threads, kMaxThreads / kNarrowLanes of them a block; else a tile per block.
template <bool kPacked>
__device__ __forceinline__ PlaneTile rows_tile(const DepthwiseParams& p, const PlaneGrid& grid, int64_t* ow) {
    if constexpr (kPacked) {
        const int64_t index = int64_t{blockIdx.x} * (kMaxThreads / kNarrowLanes) + threadIdx.x / kNarrowLanes;
        // A tile past the last (the final block's spare lanes) gets a column no row has.
        const PlaneTile tile = plane_tile(p, grid, index < grid.blocks ? index : 0);
        *ow = index < grid.blocks ? tile.col_block * kNarrowLanes + threadIdx.x % kNarrowLanes : p.q;
        return tile;
    } else {
        const PlaneTile tile = plane_tile(p, grid);
        *ow = tile.col_block * blockDim.x + threadIdx.x;
        return tile;
    }
}

template <DType D, int KH, int KW, int S, bool kFused, bool kPacked>
__global__ void __launch_bounds__(kMaxThreads) depthwise_nchw_rows_kernel(DepthwiseParams prm, PlaneGrid grid) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int M = (KH + S - 1) / S;  // output rows one input row can feed

    int64_t ow = 0;
    const PlaneTile tile = rows_tile<kPacked>(prm, grid, &ow);
    if (ow >= prm.q) return;
    float taps[KH][KW];
    load_taps<D, KH, KW>(prm, tile.k, taps);

    const T* x = static_cast<const T*>(prm.x) + tile.n * prm.x_stride[kN] +
                 (tile.k / prm.multiplier) * prm.x_stride[kC];
    const int64_t y_plane = tile.n * prm.y_stride[kN] + tile.k * prm.y_stride[kC] + ow;
    T* y = static_cast<T*>(prm.y);
    const float bias = kFused ? bias_of<D>(prm, tile.k) : 0.0f;

    // Input columns this output reads, and whether each lies inside the row.
    const int64_t iw0 = ow * prm.stride_w - prm.pad_w;
    bool col_ok[KW];
#pragma unroll
    for (int s = 0; s < KW; ++s) {
        const int64_t iw = iw0 + s * prm.dil_w;
        col_ok[s] = iw >= 0 && iw < prm.w;
    }

    constexpr int kBand = kNchwRowsBandRows<KH, S, T>;
    const int64_t oh_begin = tile.band * kBand;
    const int64_t oh_end = oh_begin + kBand < prm.p ? oh_begin + kBand : prm.p;
    // Step o loads input rows S * o + u - pad_h (u < S); acc[j] collects output row o - j, to which such a row
    // contributes filter row S * j + u. After step o, acc[M - 1] (output row o - M + 1) is complete. With
    // kPrefetch, the rows of step o + 1 are loaded before step o's arithmetic (two steps' loads in flight); fp32
    // 5x5 and 7x7 lose by it (H100: effnet_k5s2 0.067 -> 0.075 ms, convnext7 0.50 -> 0.56), all else gains
    // (mbv2_56 fp16 0.078 -> 0.065, convnext7 fp16 0.53 -> 0.45; bench/NOTES.md v14).
    constexpr bool kPrefetch = sizeof(T) < 4 || KH * KW <= 9;
    const int64_t o_end = oh_end + M - 1;
    T next[S][KW];
    const auto load_step = [&](int64_t o) {
#pragma unroll
        for (int u = 0; u < S; ++u) {
            const int64_t ih = S * o + u - prm.pad_h;
            const bool row_ok = o < o_end && ih >= 0 && ih < prm.h;
            const T* row = x + ih * prm.x_stride[kH] + iw0;
#pragma unroll
            for (int s = 0; s < KW; ++s) {
                next[u][s] = row_ok && col_ok[s] ? Traits::load_raw(row + s * prm.dil_w) : Traits::from_float(0.0f);
            }
        }
    };
    float acc[M];
#pragma unroll
    for (int j = 0; j < M; ++j) acc[j] = 0.0f;
    load_step(oh_begin);
    for (int64_t o = oh_begin; o < o_end; ++o) {
        float v[S][KW];
#pragma unroll
        for (int u = 0; u < S; ++u)
#pragma unroll
            for (int s = 0; s < KW; ++s) v[u][s] = Traits::to_float(next[u][s]);
        if (kPrefetch) load_step(o + 1);
#pragma unroll
        for (int u = 0; u < S; ++u)
#pragma unroll
            for (int j = 0; j < M; ++j)
                if (S * j + u < KH)
#pragma unroll
                    for (int s = 0; s < KW; ++s) acc[j] += v[u][s] * taps[S * j + u][s];
        const int64_t oh = o - (M - 1);
        if (oh >= oh_begin) {
            const int64_t offset = y_plane + oh * prm.y_stride[kH];
            y[offset] = Traits::from_float(epilogue<D, kFused>(prm, acc[M - 1], bias, offset));
        }
#pragma unroll
        for (int j = M - 1; j > 0; --j) acc[j] = acc[j - 1];
        acc[0] = 0.0f;
        if (!kPrefetch) load_step(o + 1);
    }
}

template <DType D, int KH, int KW, int S, bool kPacked>
cudaError_t launch_with_stride(const DepthwiseParams& params, const PlaneGrid& grid, int64_t blocks, int threads,
                               cudaStream_t stream) {
    const auto kernel = needs_fused_epilogue(params) ? depthwise_nchw_rows_kernel<D, KH, KW, S, true, kPacked>
                                                     : depthwise_nchw_rows_kernel<D, KH, KW, S, false, kPacked>;
    kernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(params, grid);
    return cudaGetLastError();
}

template <DType D, int KH, int KW, bool kPacked>
cudaError_t launch_tiles(const DepthwiseParams& params, cudaStream_t stream) {
    // Packed: kNarrowLanes columns a tile. Else whole warps that cover an output row (56 columns: 64 threads, not
    // 128 with 72 idle).
    const int lanes = kPacked ? kNarrowLanes
                              : static_cast<int>(params.q < kMaxThreads ? (params.q + 31) / 32 * 32 : kMaxThreads);
    PlaneGrid grid;
    using T = typename DTypeTraits<D>::Storage;
    const int band_rows = params.stride_h == 1 ? kNchwRowsBandRows<KH, 1, T> : kNchwRowsBandRows<KH, 2, T>;
    if (!make_plane_grid(params, lanes, band_rows, &grid)) return cudaErrorInvalidConfiguration;
    const int64_t tiles_per_block = kPacked ? kMaxThreads / kNarrowLanes : 1;
    const int64_t blocks = (grid.blocks + tiles_per_block - 1) / tiles_per_block;
    const int threads = kPacked ? kMaxThreads : lanes;
    return params.stride_h == 1 ? launch_with_stride<D, KH, KW, 1, kPacked>(params, grid, blocks, threads, stream)
                                : launch_with_stride<D, KH, KW, 2, kPacked>(params, grid, blocks, threads, stream);
}

template <DType D, int KH, int KW>
cudaError_t launch_filter(const DepthwiseParams& params, cudaStream_t stream) {
    if constexpr (KH == KW) {
        if (params.q <= 2 * kNarrowLanes) return launch_tiles<D, KH, KW, true>(params, stream);
    }
    return launch_tiles<D, KH, KW, false>(params, stream);
}

template <DType D, int I = 0>
cudaError_t launch_shape(const DepthwiseParams& params, cudaStream_t stream) {
    if constexpr (I == kNchwRowsShapeCount) {
        return cudaErrorInvalidValue;
    } else {
        if (params.r == kNchwRowsShapes[I][0] && params.s == kNchwRowsShapes[I][1]) {
            return launch_filter<D, kNchwRowsShapes[I][0], kNchwRowsShapes[I][1]>(params, stream);
        }
        return launch_shape<D, I + 1>(params, stream);
    }
}

}  // namespace

bool nchw_rows_applies(const DepthwiseParams& p) {
    return nchw_rows_shape(p) && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 &&
           (p.stride_h == 1 || p.stride_h == 2) && p.dil_h == 1;
}

template <DType D>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream) {
    return launch_shape<D>(params, stream);
}

template cudaError_t launch_depthwise_nchw_rows<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_rows<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_rows<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
