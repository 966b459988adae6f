// NHWC 7 x 7 (and 5 x 5 in fp16/bf16) at stride 1 on small planes (output rows of at most 28 columns: the late layers
// of convnext and mobile nets). A block stages a band of whole input rows of one image, 16 channels a pixel, into
// shared memory as fp32: all of its loads are in flight at once and each value is converted once. Each thread then sums
// one output row's segment of 7 or 14 columns for 2 channels from there: per filter row, K - 1 more window values than
// columns and K weights from shared memory feed K fused multiply-adds a column and channel. The strip kernel
// (forward/nhwc_vec.cu) walks rows through a per-thread ring instead, which on such planes is a launch of less than
// one wave, each thread a chain of dependent row steps. H200 runs 2026-12-04zd and ze, ms, strip kernel -> this one
// (forward; the data gradient runs the same): c384_14x14 bf16 0.044 -> 0.028, fp32 0.056 -> 0.031; c768_7x7 bf16 0.0284
// -> 0.0237, fp32 0.041 -> 0.027; c192_28x28 fp32 0.091 -> 0.062. On 2-byte rows of 28 it lost (bf16 0.062 -> 0.071 in
// its first form), where the tensor-core kernel runs them. In its final form (H200 runs 2026-12-04zg and zh, against
// the strip kernel) 2-byte 5 x 5 wins on rows of 14 and 7 (c672_14x14 bf16 0.040 -> 0.031, c480_14x14 f16 0.029 ->
// 0.024, c1152_7x7 bf16 0.028 -> 0.023; c960_7x7 ties, 0.0197-0.0203 -> 0.0199); fp32 5 x 5 loses on three layers of
// seven (c960_7x7 0.019 -> 0.024, c120_28x28 0.030 -> 0.032) and 3 x 3 on most (c960_7x7 bf16 0.0109 -> 0.0147,
// c576_14x14 bf16 0.0169 -> 0.0203), so those are not built.
#include "kernels/forward/nhwc_planes.h"

#include <cstdint>

#include "kernels/common/channel_vector_strips.cuh"
#include "kernels/common/epilogue.cuh"
#include "kernels/forward/nhwc_vec.h"

namespace dwshim {
namespace {

constexpr int kPlaneChannels = 16;               // a block's channels: a 2-byte pixel's 32 bytes are one sector
constexpr int kPlanePairs = kPlaneChannels / 2;  // a thread's 2 channels are one 8-byte shared-memory read
// A thread's output columns: 7 on rows of 7 or fewer, 14 on rows of 8 to 14 (fewer window and weight reads an
// output: c384_14x14 bf16 0.031 -> 0.028 ms, H200 run 2026-12-04ze; c768_7x7 would compute half its columns for
// nothing, 0.024 -> 0.036), 7 on wider fp32 rows (c192_28x28 0.062 vs 0.067 at 14).
constexpr int kNarrowSegCols = 7, kWideSegCols = 14;
constexpr int kPlaneThreads = 256;
constexpr int kPlaneLoadsInFlight = 8;  // 16-byte loads a thread issues before it stores any
constexpr size_t kPlaneTileBytes = 40 * 1024;

using PlaneTapSlice = TapSlice<float, 2, kPlanePairs>;  // [tap][channel] in fp32: a pair's weights are one 8-byte read

struct PlaneTiles {
    int seg_cols = 0;   // kNarrowSegCols or kWideSegCols
    int segs = 0;       // segments across an output row
    int band_rows = 0;  // output rows a block computes, one a thread
    int64_t bands = 0;
    int tile_cols = 0;  // staged input columns: segs * seg_cols + r - 1 (those past x are zeros)
    int tile_rows = 0;  // band_rows + r - 1
    // Pixels between staged rows: odd, so that the two 64-byte groups of a half-warp's reads (neighbouring
    // segments or rows) fall in different banks.
    int pitch = 0;
    int threads = 0;  // kPlanePairs * segs * band_rows
};

size_t plane_tile_bytes(const PlaneTiles& t) {
    return static_cast<size_t>(t.tile_rows) * t.pitch * kPlaneChannels * sizeof(float);
}

// The widths measured faster than the strip kernel: rows of 7 to 28 columns in fp32, 7 to 14 in fp16/bf16.
int64_t max_output_cols(const DepthwiseParams& p) {
    return p.dtype == DType::kFloat ? 28 : 14;
}

// Bands as tall as kPlaneThreads threads allow, split evenly; shorter while the tile does not fit.
bool make_plane_tiles(const DepthwiseParams& p, PlaneTiles* t) {
    t->seg_cols = p.q > kNarrowSegCols && p.q <= kWideSegCols ? kWideSegCols : kNarrowSegCols;
    t->segs = static_cast<int>((p.q + t->seg_cols - 1) / t->seg_cols);
    if (p.q < 1 || p.p < 1 || p.q > max_output_cols(p)) return false;
    const int max_rows = kPlaneThreads / (kPlanePairs * t->segs);
    for (t->bands = (p.p + max_rows - 1) / max_rows; t->bands <= p.p; ++t->bands) {
        t->band_rows = static_cast<int>((p.p + t->bands - 1) / t->bands);
        t->tile_rows = t->band_rows + static_cast<int>(p.r) - 1;
        t->tile_cols = t->segs * t->seg_cols + static_cast<int>(p.r) - 1;
        t->pitch = t->tile_cols | 1;
        t->threads = kPlanePairs * t->segs * t->band_rows;
        if (plane_tile_bytes(*t) <= kPlaneTileBytes) break;
    }
    const int64_t channel_groups = (p.c + kPlaneChannels - 1) / kPlaneChannels;
    return t->bands <= p.p && p.n * t->bands <= 65535 && channel_groups <= 0x7fffffff;
}

template <DType D, int kPlaneFilter, int kSegCols, bool kFused>
__global__ void __launch_bounds__(kPlaneThreads) depthwise_nhwc_planes_kernel(DepthwiseParams prm, PlaneTiles tiles) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int kChunk = 16 / static_cast<int>(sizeof(T));  // channels in one 16-byte load
    constexpr int kChunks = kPlaneChannels / kChunk;
    constexpr int kWindow = kSegCols + kPlaneFilter - 1;
    __shared__ __align__(16) float taps[kPlaneFilter * kPlaneFilter][PlaneTapSlice::kValues];
    extern __shared__ float4 tile_storage[];
    float* tile = reinterpret_cast<float*>(tile_storage);  // [tile_rows][pitch][kPlaneChannels]

    const int64_t c0 = static_cast<int64_t>(blockIdx.x) * kPlaneChannels;
    const int64_t n = blockIdx.y / tiles.bands;
    const int64_t oh0 = blockIdx.y % tiles.bands * tiles.band_rows;
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN];

    // The band's input rows: every load of a batch is issued before any value is stored.
    const int items = tiles.tile_rows * tiles.tile_cols * kChunks;
    for (int first = 0; first < items; first += kPlaneLoadsInFlight * tiles.threads) {
        uint4 raw[kPlaneLoadsInFlight];
#pragma unroll
        for (int j = 0; j < kPlaneLoadsInFlight; ++j) {
            const int item = first + j * tiles.threads + static_cast<int>(threadIdx.x);
            const int pixel = item / kChunks, chunk = item % kChunks;
            const int row = pixel / tiles.tile_cols, col = pixel % tiles.tile_cols;
            const int64_t ih = oh0 - prm.pad_h + row, iw = col - prm.pad_w, c = c0 + chunk * kChunk;
            const bool inside = item < items && ih >= 0 && ih < prm.h && iw >= 0 && iw < prm.w && c < prm.c;
            raw[j] = inside
                         ? __ldg(reinterpret_cast<const uint4*>(x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW] + c))
                         : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int j = 0; j < kPlaneLoadsInFlight; ++j) {
            const int item = first + j * tiles.threads + static_cast<int>(threadIdx.x);
            if (item >= items) break;
            const int pixel = item / kChunks, chunk = item % kChunks;
            const int row = pixel / tiles.tile_cols, col = pixel % tiles.tile_cols;
            float values[kChunk];
            widen_vector<D>(raw[j], values);
            float4* target =
                reinterpret_cast<float4*>(tile + (row * tiles.pitch + col) * kPlaneChannels + chunk * kChunk);
#pragma unroll
            for (int v = 0; v < kChunk / 4; ++v) {
                target[v] = make_float4(values[4 * v], values[4 * v + 1], values[4 * v + 2], values[4 * v + 3]);
            }
        }
    }
    // Ends with the barrier the tile needs too.
    stage_filter_taps<D, kPlaneFilter, PlaneTapSlice>(prm, c0, kPlaneChannels, taps);

    const int pair = static_cast<int>(threadIdx.x) % kPlanePairs;
    const int seg = static_cast<int>(threadIdx.x) / kPlanePairs % tiles.segs;
    const int row = static_cast<int>(threadIdx.x) / (kPlanePairs * tiles.segs);
    const int64_t oh = oh0 + row, c = c0 + 2 * pair;
    if (oh >= prm.p || c >= prm.c) return;
    const float2* window_rows =
        reinterpret_cast<const float2*>(tile) + (row * tiles.pitch + seg * kSegCols) * kPlanePairs + pair;
    float acc[kSegCols][2] = {};
    // Filter rows one at a time: unrolled, ptxas overlapped them at 118 registers, two blocks an SM; rolled, 80 and
    // three, which hides the tiles' loads better (1.16-1.22x on every layer and dtype, H200 run 2026-12-04ze).
#pragma unroll 1
    for (int i = 0; i < kPlaneFilter; ++i) {
        float2 window[kWindow];
#pragma unroll
        for (int j = 0; j < kWindow; ++j) window[j] = window_rows[(i * tiles.pitch + j) * kPlanePairs];
#pragma unroll
        for (int s = 0; s < kPlaneFilter; ++s) {
            float w[2];
            load_tap<D, PlaneTapSlice>(taps[i * kPlaneFilter + s], pair, w);
#pragma unroll
            for (int t = 0; t < kSegCols; ++t) {
                acc[t][0] = fmaf(window[t + s].x, w[0], acc[t][0]);
                acc[t][1] = fmaf(window[t + s].y, w[1], acc[t][1]);
            }
        }
    }

    using Pair = typename VectorOf<2 * sizeof(T)>::Type;
    const float bias[2] = {kFused ? bias_of<D>(prm, c) : 0.0f, kFused ? bias_of<D>(prm, c + 1) : 0.0f};
    T* y = static_cast<T*>(prm.y);
    const int64_t ow0 = static_cast<int64_t>(seg) * kSegCols;
    int64_t offset = n * prm.y_stride[kN] + oh * prm.y_stride[kH] + ow0 * prm.y_stride[kW] + c;
#pragma unroll
    for (int t = 0; t < kSegCols; ++t) {
        if (ow0 + t >= prm.q) break;
        Pair raw;
        T* values = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int e = 0; e < 2; ++e)
            values[e] = Traits::from_float(epilogue<D, kFused>(prm, acc[t][e], bias[e], offset + e));
        __stcs(reinterpret_cast<Pair*>(y + offset), raw);
        offset += prm.y_stride[kW];
    }
}

// The filter sizes built: 7 x 7, and 5 x 5 in fp16/bf16.
bool filter_built(const DepthwiseParams& p) {
    return p.r == 7 || (p.r == 5 && p.dtype != DType::kFloat);
}

// What this kernel adds to the NHWC vector path's conditions: a size built, stride 1, rows it takes.
bool planes_shape(const DepthwiseParams& p) {
    PlaneTiles tiles;
    return filter_built(p) && p.stride_h == 1 && make_plane_tiles(p, &tiles);
}

template <DType D, int K>
cudaError_t launch_with_filter(const DepthwiseParams& params, const PlaneTiles& tiles, cudaStream_t stream) {
    const dim3 grid(static_cast<unsigned>((params.c + kPlaneChannels - 1) / kPlaneChannels),
                    static_cast<unsigned>(params.n * tiles.bands));
    const bool fused = needs_fused_epilogue(params);
    const auto kernel = tiles.seg_cols == kWideSegCols
                            ? (fused ? depthwise_nhwc_planes_kernel<D, K, kWideSegCols, true>
                                     : depthwise_nhwc_planes_kernel<D, K, kWideSegCols, false>)
                            : (fused ? depthwise_nhwc_planes_kernel<D, K, kNarrowSegCols, true>
                                     : depthwise_nhwc_planes_kernel<D, K, kNarrowSegCols, false>);
    kernel<<<grid, tiles.threads, plane_tile_bytes(tiles), stream>>>(params, tiles);
    return cudaGetLastError();
}

}  // namespace

bool nhwc_planes_shape_applies(const DepthwiseParams& p) {
    return nhwc_vec_applies(p) && planes_shape(p);
}

bool nhwc_planes_applies(const DepthwiseParams& p) {
    return nhwc_vec_aligned(p) && planes_shape(p);
}

template <DType D>
cudaError_t launch_depthwise_nhwc_planes(const DepthwiseParams& params, cudaStream_t stream) {
    PlaneTiles tiles;
    if (!filter_built(params) || !make_plane_tiles(params, &tiles)) return cudaErrorInvalidConfiguration;
    if constexpr (D != DType::kFloat) {
        if (params.r == 5) return launch_with_filter<D, 5>(params, tiles, stream);
    }
    return launch_with_filter<D, 7>(params, tiles, stream);
}

template cudaError_t launch_depthwise_nhwc_planes<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nhwc_planes<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nhwc_planes<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
