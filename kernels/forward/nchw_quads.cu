// NCHW at stride 1, any padding and alignment: the rows path with each lane owning 4 adjacent output columns, on rows
// of 128 or 256+ columns (warps across a row) and on planes of 17-64 columns (several planes a warp). Per input row a
// lane loads its 4 input columns once and takes the next K - 1 from the next lane by shuffle (common/row_quads.cuh),
// then feeds the K output rows whose windows cover that row from registers; the rows path loads K input values per
// output column and row. It takes the padded and unaligned rows the vector path (16-byte vectors through an
// asynchronous ring) does not: "same" padding, and the data gradient, whose dy rows are padded by K - 1 and often not
// 16-byte aligned (KB84: rows of 510 fp32).
#include "kernels/forward/nchw_quads.h"

#include <cstdint>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/epilogue.cuh"
#include "kernels/common/plane_tiles.cuh"
#include "kernels/common/row_quads.cuh"

namespace dwshim {
namespace {

constexpr int kQuadWarps = 4;
constexpr int kQuadThreads = 32 * kQuadWarps;
constexpr int kQuadSegment = 32 * kQuadCols;  // output columns per warp
constexpr int kQuadBandRows = 64;             // output rows per warp
constexpr int kNarrowQuadRows = 64;           // the narrow kernel's planes: one band each
// The narrow kernel's least work, in warps: run 2026-12-03ee lost with 72 and won from 1,024 (the H200's 132 SMs
// have 528 schedulers).
constexpr int64_t kNarrowQuadMinWarps = 512;

// Stores output columns c0 .. c0 + 3 of row `offset` (the offset of column c0): one vector where all four lie
// inside the row and the address allows, else one by one. Only the fused kernel reads a residual.
template <DType D, bool kFused>
__device__ __forceinline__ void store_quad(const DepthwiseParams& prm, const QuadColumns& qc, int64_t offset,
                                           const float (&acc)[kQuadCols], float bias) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    T* y = static_cast<T*>(prm.y) + offset;
    alignas(16) T values[kQuadCols];
#pragma unroll
    for (int c = 0; c < kQuadCols; ++c) {
        // A residual is read only inside the row: a lane's columns past its end may lie past the tensor's.
        const bool inside = (qc.out_inside >> c) & 1u;
        values[c] = Traits::from_float(kFused ? (inside ? epilogue<D, true>(prm, acc[c], bias, offset + c) : 0.0f)
                                              : prm.alpha * acc[c]);
    }
    constexpr unsigned kAll = (1u << kQuadCols) - 1;
    if (qc.out_inside == kAll && reinterpret_cast<uintptr_t>(y) % (kQuadCols * sizeof(T)) == 0) {
        if constexpr (sizeof(T) == 4) {
            *reinterpret_cast<float4*>(y) = *reinterpret_cast<const float4*>(values);
        } else {
            *reinterpret_cast<uint2*>(y) = *reinterpret_cast<const uint2*>(values);
        }
        return;
    }
#pragma unroll
    for (int c = 0; c < kQuadCols; ++c) {
        if ((qc.out_inside >> c) & 1u) y[c] = values[c];
    }
}

// One band of output plane (n, k): input rows oh_begin - pad_h onwards, `steps` of them, storing output rows
// oh_begin .. oh_begin + steps - K. `lanes` lanes share a row (all of the warp calls it: the shuffles need them).
// kPrefetch: each step asks L2 for the input row kPrefetchRows ahead.
template <DType D, int K, bool kFused, bool kPrefetch>
__device__ __forceinline__ void walk_band(const DepthwiseParams& prm, const QuadColumns& qc, int64_t n, int64_t k,
                                          int oh_begin, int steps, int lanes) {
    using T = typename DTypeTraits<D>::Storage;
    float taps[K][K];
    load_taps<D, K, K>(prm, k, taps);
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + (k / prm.multiplier) * prm.x_stride[kC] +
                 qc.c0 - prm.pad_w;
    const int64_t y_lane = n * prm.y_stride[kN] + k * prm.y_stride[kC] + qc.c0;
    const float bias = kFused ? bias_of<D>(prm, k) : 0.0f;
    const int pad_h = static_cast<int>(prm.pad_h), h = static_cast<int>(prm.h);

    float acc[K][kQuadCols];  // acc[r]: output row ih + pad_h - r
#pragma unroll
    for (int r = 0; r < K; ++r)
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) acc[r][c] = 0.0f;
    const int last_row = min(h, oh_begin - pad_h + steps);  // one past the last input row the band reads
    const bool column_inside = qc.c0 < prm.w;
    for (int ih = oh_begin - pad_h; ih < oh_begin - pad_h + steps; ++ih) {
        if constexpr (kPrefetch) {
            const int ahead = ih + kPrefetchRows;
            prefetch_row(x + prm.pad_w + static_cast<int64_t>(ahead) * prm.x_stride[kH],
                         column_inside && ahead >= 0 && ahead < last_row);
        }
        float window[kQuadCols + K - 1];
        load_window<D, K>(qc, x + static_cast<int64_t>(ih) * prm.x_stride[kH], ih >= 0 && ih < h, lanes, window);
#pragma unroll
        for (int r = 0; r < K; ++r)
#pragma unroll
            for (int c = 0; c < kQuadCols; ++c)
#pragma unroll
                for (int s = 0; s < K; ++s) acc[r][c] += window[c + s] * taps[r][s];
        const int oh = ih + pad_h - (K - 1);
        if (oh >= oh_begin) store_quad<D, kFused>(prm, qc, y_lane + oh * prm.y_stride[kH], acc[K - 1], bias);
#pragma unroll
        for (int r = K - 1; r > 0; --r)
#pragma unroll
            for (int c = 0; c < kQuadCols; ++c) acc[r][c] = acc[r - 1][c];
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) acc[0][c] = 0.0f;
    }
}

// Rows of 128 columns or more: a block's warps are `warps_across` 128-column segments of a row times bands of
// kQuadBandRows rows.
template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kQuadThreads)
    depthwise_nchw_quads_kernel(DepthwiseParams prm, PlaneGrid grid, int warps_across) {
    const PlaneTile tile = plane_tile(prm, grid);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t warp_col0 = (tile.col_block * warps_across + warp % warps_across) * kQuadSegment;
    const int64_t oh_begin = (tile.band * (kQuadWarps / warps_across) + warp / warps_across) * kQuadBandRows;
    if (warp_col0 >= prm.q || oh_begin >= prm.p) return;  // whole warps only: the shuffles need every lane
    const int64_t oh_end = oh_begin + kQuadBandRows < prm.p ? oh_begin + kQuadBandRows : prm.p;
    const QuadColumns qc = quad_columns<K>(prm, static_cast<int>(warp_col0) + lane * kQuadCols, lane == 31);
    walk_band<D, K, kFused, true>(prm, qc, tile.n, tile.k, static_cast<int>(oh_begin),
                                  static_cast<int>(oh_end - oh_begin) + K - 1, 32);
}

// Planes of at most kNarrowQuadRows rows of 64 columns or fewer: row_lanes(q) lanes a row, each group of them a
// whole plane, so the groups of a warp step together. A group past the last plane walks plane 0 storing nothing.
template <DType D, int K, bool kFused, bool kPrefetch>
__global__ void __launch_bounds__(kQuadThreads) depthwise_nchw_quads_narrow_kernel(DepthwiseParams prm, int lanes) {
    const int row_lane = threadIdx.x % lanes;
    const int64_t plane = int64_t{blockIdx.x} * (kQuadThreads / lanes) + threadIdx.x / lanes;
    const bool active = plane < prm.n * prm.k;
    QuadColumns qc = quad_columns<K>(prm, row_lane * kQuadCols, row_lane == lanes - 1);
    if (!active) qc.out_inside = 0;  // steps along for the shuffles, storing nothing
    const int p = static_cast<int>(prm.p);
    walk_band<D, K, kFused, kPrefetch>(prm, qc, active ? plane / prm.k : 0, active ? plane % prm.k : 0, 0, p + K - 1,
                                       lanes);
}

// Where the narrow kernel prefetches. Run 2026-12-05c (H200, dwshim-only GPU time, forward and data gradient, 2 rows
// ahead against none; the wide kernel won in every dtype: KB84 bf16 data gradient 1.53 -> 1.33 ms, mult2 f32 0.098 ->
// 0.070): in fp32 every layer won or tied (c72_56x56_k3s1 0.0545 -> 0.0397, c192_28x28_k7s1 0.0705 -> 0.0587), in
// 2-byte types planes of 16 lanes a row won (mbv2_56 bf16 0.047 -> 0.037, convnext7 0.253 -> 0.238) and planes of 8
// lost (c192_28x28_k3s1 bf16 0.0222 -> 0.0241, c120_28x28_k5s1 f16 0.0242 -> 0.0257). Run 2026-12-05d chose at run
// time inside one kernel and lost on 8 lanes even without the prefetch (c192_28x28_k3s1 bf16 0.0226 -> 0.0254), so
// the choice is a kernel: each one here is instruction for instruction a kernel one of those runs timed.
template <DType D, int K, bool kFused>
cudaError_t launch_narrow(const DepthwiseParams& params, int lanes, cudaStream_t stream) {
    const int64_t blocks = (params.n * params.k * lanes + kQuadThreads - 1) / kQuadThreads;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    auto kernel = depthwise_nchw_quads_narrow_kernel<D, K, kFused, true>;
    if constexpr (D != DType::kFloat) {
        if (lanes < 16) kernel = depthwise_nchw_quads_narrow_kernel<D, K, kFused, false>;
    }
    kernel<<<static_cast<unsigned>(blocks), kQuadThreads, 0, stream>>>(params, lanes);
    return cudaGetLastError();
}

template <DType D, int K>
cudaError_t launch_quads_size(const DepthwiseParams& params, cudaStream_t stream) {
    // The plain kernels only scale (store_quad): a residual (the data gradient's beta != 0) takes the fused one.
    const bool fused = needs_fused_epilogue(params) || params.residual != nullptr;
    const int lanes = row_lanes(params.q);
    if (lanes < 32) {
        return fused ? launch_narrow<D, K, true>(params, lanes, stream)
                     : launch_narrow<D, K, false>(params, lanes, stream);
    }
    // The fewest warps (1, 2 or 4) that span a row; the block's other warps take the next bands down.
    int warps_across = 1;
    while (warps_across < kQuadWarps && warps_across * kQuadSegment < params.q) warps_across *= 2;
    PlaneGrid grid;
    if (!make_plane_grid(params, warps_across * kQuadSegment, kQuadWarps / warps_across * kQuadBandRows, &grid)) {
        return cudaErrorInvalidConfiguration;
    }
    const auto kernel = fused ? depthwise_nchw_quads_kernel<D, K, true> : depthwise_nchw_quads_kernel<D, K, false>;
    kernel<<<static_cast<unsigned>(grid.blocks), kQuadThreads, 0, stream>>>(params, grid, warps_across);
    return cudaGetLastError();
}

}  // namespace

bool nchw_quads_applies(const DepthwiseParams& p) {
    // Against the rows path (run 2026-12-03l, GPU time): KB84 (rows of 510-512) data gradient f32 3.20 -> 2.31 ms,
    // fp16/bf16 2.71 -> 1.66; rows of 112 lost (c32_112x112_k3s1 f32 0.097 -> 0.110, bf16 0.090 -> 0.098), rows of
    // 128 tied in fp32 (mult2 0.104 -> 0.106) and won 5% in 2-byte types. Run 2026-12-03ee, the register-held row
    // pointers in: rows of 128 won (leftpad f32 0.211 -> 0.177, bf16 0.184 -> 0.134; mult2 f32 0.104 -> 0.100), 112
    // still lost in fp32 (c32_112x112_k3s1 0.096 -> 0.102, mult4 0.089 -> 0.096). Planes of 28 and 56 columns,
    // several a warp (run 2026-12-03ff, the narrow kernel): every model layer and class won (convnext7 f32 0.430 ->
    // 0.270, bf16 0.399 -> 0.272; c144_56x56_k3s1 f32 0.107 -> 0.081, bf16 0.096 -> 0.065; c192_28x28_k7s1 f32
    // 0.099 -> 0.071; mbv2_56 f32 0.059 -> 0.054), but in run ee the batch-1 layer tail_b1s (1 x 144 x 56 x 56: 72
    // warps) went 0.009-0.013 -> 0.021, a GPU mostly idle.
    const bool size = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    // 16 columns or fewer: the rows path packs planes into warps (measured there, not here).
    const bool narrow = p.q >= 17 && row_lanes(p.q) < 32 && p.p <= kNarrowQuadRows &&
                        p.n * p.k * row_lanes(p.q) >= 32 * kNarrowQuadMinWarps;
    const bool full_warp = p.q == kQuadSegment && p.r == 3;  // 5x5 on rows of 128 tied (leftpad5 f16 lost 2.6%)
    return size && (p.q >= 256 || full_warp || narrow) && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 &&
           p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.pad_w < p.s &&
           p.h + p.pad_h + p.r < (int64_t{1} << 30) &&
           p.q + p.pad_w + p.s < (int64_t{1} << 30);  // rows and columns in 32-bit integers
}

template <DType D>
cudaError_t launch_depthwise_nchw_quads(const DepthwiseParams& params, cudaStream_t stream) {
    return with_filter_size(params.r,
                            [&](auto k) { return launch_quads_size<D, decltype(k)::value>(params, stream); });
}

template cudaError_t launch_depthwise_nchw_quads<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_quads<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_quads<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
