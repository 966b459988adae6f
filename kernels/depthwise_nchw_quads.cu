// NCHW at stride 1 on rows of 256 output columns or more, any padding and alignment: the rows path with each lane
// owning 4 adjacent output columns. Per input row a lane loads its 4 input columns once and takes the next K - 1
// from the next lane by shuffle (row_quads.cuh), then feeds the K output rows whose windows cover that row from
// registers; the rows path loads K input values per output column and row. It takes the padded and unaligned rows
// the vector path (16-byte vectors through an asynchronous ring) does not: "same" padding, and the data gradient,
// whose dy rows are padded by K - 1 and often not 16-byte aligned (KB84: rows of 510 fp32).
#include "depthwise_nchw_quads.h"

#include <cstdint>

#include "epilogue.cuh"
#include "plane_tiles.cuh"
#include "row_quads.cuh"

namespace dwshim {
namespace {

constexpr int kQuadWarps = 4;
constexpr int kQuadThreads = 32 * kQuadWarps;
constexpr int kQuadSegment = 32 * kQuadCols;  // output columns per warp
constexpr int kQuadBandRows = 64;             // output rows per warp

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
        values[c] = Traits::from_float(kFused ? epilogue<D, true>(prm, acc[c], bias, offset + c) : prm.alpha * acc[c]);
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

template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kQuadThreads)
    depthwise_nchw_quads_kernel(DepthwiseParams prm, PlaneGrid grid, int warps_across) {
    using T = typename DTypeTraits<D>::Storage;
    const PlaneTile tile = plane_tile(prm, grid);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t warp_col0 = (tile.col_block * warps_across + warp % warps_across) * kQuadSegment;
    const int64_t oh_begin = (tile.band * (kQuadWarps / warps_across) + warp / warps_across) * kQuadBandRows;
    if (warp_col0 >= prm.q || oh_begin >= prm.p) return;  // whole warps only: the shuffles need every lane

    float taps[K][K];
    load_taps<D, K, K>(prm, tile.k, taps);
    const QuadColumns qc = quad_columns<K>(prm, static_cast<int>(warp_col0) + lane * kQuadCols, lane == 31);
    const T* x = static_cast<const T*>(prm.x) + tile.n * prm.x_stride[kN] +
                 (tile.k / prm.multiplier) * prm.x_stride[kC] + qc.c0 - prm.pad_w;
    const int64_t y_lane = tile.n * prm.y_stride[kN] + tile.k * prm.y_stride[kC] + qc.c0;
    const float bias = kFused ? bias_of<D>(prm, tile.k) : 0.0f;
    const int oh0 = static_cast<int>(oh_begin);
    const int oh_end = static_cast<int>(oh_begin + kQuadBandRows < prm.p ? oh_begin + kQuadBandRows : prm.p);
    const int pad_h = static_cast<int>(prm.pad_h), h = static_cast<int>(prm.h);

    float acc[K][kQuadCols];  // acc[r]: output row ih + pad_h - r
#pragma unroll
    for (int r = 0; r < K; ++r)
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) acc[r][c] = 0.0f;
    for (int ih = oh0 - pad_h; ih < oh_end - pad_h + K - 1; ++ih) {
        float window[kQuadCols + K - 1];
        load_window<D, K>(qc, x + static_cast<int64_t>(ih) * prm.x_stride[kH], ih >= 0 && ih < h, 32, window);
#pragma unroll
        for (int r = 0; r < K; ++r)
#pragma unroll
            for (int c = 0; c < kQuadCols; ++c)
#pragma unroll
                for (int s = 0; s < K; ++s) acc[r][c] += window[c + s] * taps[r][s];
        const int oh = ih + pad_h - (K - 1);
        if (oh >= oh0) store_quad<D, kFused>(prm, qc, y_lane + oh * prm.y_stride[kH], acc[K - 1], bias);
#pragma unroll
        for (int r = K - 1; r > 0; --r)
#pragma unroll
            for (int c = 0; c < kQuadCols; ++c) acc[r][c] = acc[r - 1][c];
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) acc[0][c] = 0.0f;
    }
}

template <DType D, int K>
cudaError_t launch_quads_size(const DepthwiseParams& params, cudaStream_t stream) {
    // The fewest warps (1, 2 or 4) that span a row; the block's other warps take the next bands down.
    int warps_across = 1;
    while (warps_across < kQuadWarps && warps_across * kQuadSegment < params.q) warps_across *= 2;
    PlaneGrid grid;
    if (!make_plane_grid(params, warps_across * kQuadSegment, kQuadWarps / warps_across * kQuadBandRows, &grid)) {
        return cudaErrorInvalidConfiguration;
    }
    // The plain kernel only scales (store_quad): a residual (the data gradient's beta != 0) takes the fused one.
    const bool fused = needs_fused_epilogue(params) || params.residual != nullptr;
    const auto kernel = fused ? depthwise_nchw_quads_kernel<D, K, true> : depthwise_nchw_quads_kernel<D, K, false>;
    kernel<<<static_cast<unsigned>(grid.blocks), kQuadThreads, 0, stream>>>(params, grid, warps_across);
    return cudaGetLastError();
}

}  // namespace

bool nchw_quads_applies(const DepthwiseParams& p) {
    // Against the rows path (run 2026-12-03l, GPU time): KB84 (rows of 510-512) data gradient f32 3.20 -> 2.31 ms,
    // fp16/bf16 2.71 -> 1.66; rows of 112 lost (c32_112x112_k3s1 f32 0.097 -> 0.110, bf16 0.090 -> 0.098), rows of
    // 128 tied in fp32 (mult2 0.104 -> 0.106) and won 5% in 2-byte types. Between 128 and 510 it was not measured.
    const bool size = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    return size && p.q >= 256 && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 && p.stride_h == 1 && p.stride_w == 1 &&
           p.dil_h == 1 && p.dil_w == 1 && p.pad_w < p.s && p.h + p.pad_h + p.r < (int64_t{1} << 30) &&
           p.q + p.pad_w + p.s < (int64_t{1} << 30);  // rows and columns in 32-bit integers
}

template <DType D>
cudaError_t launch_depthwise_nchw_quads(const DepthwiseParams& params, cudaStream_t stream) {
    switch (params.r) {
        case 3:
            return launch_quads_size<D, 3>(params, stream);
        case 5:
            return launch_quads_size<D, 5>(params, stream);
        default:
            return launch_quads_size<D, 7>(params, stream);
    }
}

template cudaError_t launch_depthwise_nchw_quads<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_quads<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_nchw_quads<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
