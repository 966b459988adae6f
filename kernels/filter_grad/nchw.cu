// The filter gradient's partial sums for row-contiguous data (NCHW) at stride 1, one block per (channel, slice)
// on the plane strip kernel's slicing, whose slices hold at least the bands a block walks at once. The filter is
// KH x KW: the shapes of the NCHW rows kernels (kNchwRowsShapes). A warp walks down a run of output rows (the
// consecutive bands of one image that its share of the slice holds) with every lane owning 4 adjacent output
// columns. Per input row ih it loads its 4 input columns once and takes the next KW - 1 from the next lane by
// shuffle, while the dy rows ih + pad_h - fr (fr < KH) stay in registers, shifted down one row per step: every
// tap (fr, fs) then adds dy[ih + pad_h - fr][c] * x[ih][c - pad_w + fs] over the lane's columns. x and dy are each
// read once per run (plus KH - 1 halo rows), against K loads of every input value per band of 8 rows on the strip
// kernel. Rows of 64 columns or fewer leave most of a warp's lanes idle that way: there several bands run side by
// side in a warp.
#include "kernels/filter_grad/nchw.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/row_quads.cuh"
#include "kernels/filter_grad/filter_grad.h"
#include "kernels/forward/nchw_rows.h"

namespace dwshim {
namespace {

constexpr int kThreads = 256;  // the strip kernel's blocks: the grid and the workspace are the same
constexpr int kWarps = kThreads / 32;
constexpr int kSegment = 32 * kQuadCols;

template <int K>
__device__ __forceinline__ void zero_dy_rows(float (&dy_rows)[K][kQuadCols]) {
#pragma unroll
    for (int fr = 0; fr < K; ++fr)
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) dy_rows[fr][c] = 0.0f;
}

// One step down the rows: dy_rows (dy_rows[fr] holds dy row ih + pad_h - fr) shift down and take dy row ih +
// pad_h (dy_row, where dy_valid), then every tap adds its products with input row ih (x_row, at the lane's column
// c0 - pad_w, where x_valid). `lanes` lanes share a row; every lane of the warp takes the step.
template <DType D, int KH, int KW>
__device__ __forceinline__ void row_step(const QuadColumns& qc, const typename DTypeTraits<D>::Storage* x_row,
                                         bool x_valid, const typename DTypeTraits<D>::Storage* dy_row, bool dy_valid,
                                         int lanes, float (&dy_rows)[KH][kQuadCols], float (&acc)[KH][KW]) {
    using Traits = DTypeTraits<D>;
#pragma unroll
    for (int fr = KH - 1; fr > 0; --fr)
#pragma unroll
        for (int c = 0; c < kQuadCols; ++c) dy_rows[fr][c] = dy_rows[fr - 1][c];
    const unsigned dy_mask = dy_valid ? qc.out_inside : 0u;
    dy_row = in_register(dy_row);
#pragma unroll
    for (int c = 0; c < kQuadCols; ++c) dy_rows[0][c] = (dy_mask >> c) & 1u ? Traits::load(dy_row + c) : 0.0f;
    float window[kQuadCols + KW - 1];
    load_window<D, KW>(qc, x_row, x_valid, lanes, window);
#pragma unroll
    for (int fr = 0; fr < KH; ++fr)
#pragma unroll
        for (int fs = 0; fs < KW; ++fs)
#pragma unroll
            for (int c = 0; c < kQuadCols; ++c) acc[fr][fs] += dy_rows[fr][c] * window[c + fs];
}

// Rows of 65 columns or more: a warp walks whole runs of rows, the consecutive bands of one image in its share of
// the slice, each input row once (plus KH - 1 halo rows a run).
template <DType D, int KH, int KW>
__device__ __forceinline__ void accumulate_wide(const DepthwiseParams& prm, const FilterGradSlicing& slicing,
                                                const typename DTypeTraits<D>::Storage* x_channel,
                                                const typename DTypeTraits<D>::Storage* dy_channel,
                                                int64_t band_begin, int64_t band_end, float (&acc)[KH][KW]) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    // The block's warps: `across` column segments of a row times kWarps / across groups of the slice's bands.
    const int64_t segments = (prm.q + kSegment - 1) / kSegment;
    int across = 1;
    while (across < kWarps && across < segments) across *= 2;
    const int groups = kWarps / across, group = warp / across;
    const int64_t per_group = (band_end - band_begin + groups - 1) / groups;
    const int64_t group_begin = band_begin + group * per_group;
    const int64_t group_end = min(band_end, group_begin + per_group);
    const int pad_h = static_cast<int>(prm.pad_h);
    for (int64_t segment = warp % across; segment < segments; segment += across) {
        const int c0 = static_cast<int>(segment * kSegment) + lane * kQuadCols;
        const QuadColumns qc = quad_columns<KW>(prm, c0, lane == 31);
        for (int64_t band = group_begin; band < group_end;) {
            const int64_t n = band / slicing.bands_per_image;
            const int64_t image_band0 = n * slicing.bands_per_image;
            const int64_t run_end = min(group_end, image_band0 + slicing.bands_per_image);
            const int oh_begin = static_cast<int>((band - image_band0) * slicing.band_rows);
            const int oh_end = static_cast<int>(min(prm.p, (run_end - image_band0) * slicing.band_rows));
            const auto* x = x_channel + n * prm.x_stride[kN] + qc.c0 - prm.pad_w;
            const auto* dy = dy_channel + n * prm.y_stride[kN] + qc.c0;
            float dy_rows[KH][kQuadCols];
            zero_dy_rows<KH>(dy_rows);
            for (int ih = oh_begin - pad_h; ih < oh_end - pad_h + KH - 1; ++ih) {
                const int oh = ih + pad_h;
                row_step<D, KH, KW>(qc, x + static_cast<int64_t>(ih) * prm.x_stride[kH], ih >= 0 && ih < prm.h,
                               dy + static_cast<int64_t>(oh) * prm.y_stride[kH], oh < oh_end, 32, dy_rows, acc);
            }
            band = run_end;
        }
    }
}

// Rows of 64 columns or fewer: row_lanes(q) lanes a row, 32 / lanes rows side by side in a warp, each on its own
// band of the slice; every band takes band_rows + KH - 1 steps (rows past the image's end are zeros), so the
// warp's rows step together.
template <DType D, int KH, int KW>
__device__ __forceinline__ void accumulate_narrow(const DepthwiseParams& prm, const FilterGradSlicing& slicing,
                                                  const typename DTypeTraits<D>::Storage* x_channel,
                                                  const typename DTypeTraits<D>::Storage* dy_channel,
                                                  int64_t band_begin, int64_t band_end, float (&acc)[KH][KW]) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int lanes = row_lanes(prm.q);
    const int rows_a_warp = 32 / lanes, row_slot = warp * rows_a_warp + lane / lanes;
    const QuadColumns qc = quad_columns<KW>(prm, lane % lanes * kQuadCols, lane % lanes == lanes - 1);
    const int pad_h = static_cast<int>(prm.pad_h), band_rows = static_cast<int>(slicing.band_rows);
    for (int64_t first = band_begin; first < band_end; first += kWarps * rows_a_warp) {
        const int64_t band = first + row_slot;
        const bool has_band = band < band_end;
        const int64_t n = has_band ? band / slicing.bands_per_image : 0;
        const int oh_begin = has_band ? static_cast<int>((band - n * slicing.bands_per_image) * band_rows) : 0;
        const int oh_end = has_band ? static_cast<int>(min(prm.p, int64_t{oh_begin} + band_rows)) : 0;
        const auto* x = x_channel + n * prm.x_stride[kN] + qc.c0 - prm.pad_w;
        const auto* dy = dy_channel + n * prm.y_stride[kN] + qc.c0;
        float dy_rows[KH][kQuadCols];
        zero_dy_rows<KH>(dy_rows);
        for (int step = 0; step < band_rows + KH - 1; ++step) {
            const int ih = oh_begin - pad_h + step, oh = oh_begin + step;
            row_step<D, KH, KW>(qc, x + static_cast<int64_t>(ih) * prm.x_stride[kH], has_band && ih >= 0 && ih < prm.h,
                           dy + static_cast<int64_t>(oh) * prm.y_stride[kH], oh < oh_end, lanes, dy_rows, acc);
        }
    }
}

template <DType D, int KH, int KW>
__global__ void __launch_bounds__(kThreads)
    filter_grad_nchw_rows_kernel(DepthwiseParams prm, FilterGradSlicing slicing, float* partial) {
    using T = typename DTypeTraits<D>::Storage;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t k = blockIdx.x;
    const int64_t band_begin = blockIdx.y * slicing.bands_per_slice;
    const int64_t band_end = min(prm.n * slicing.bands_per_image, band_begin + slicing.bands_per_slice);
    float acc[KH][KW];
#pragma unroll
    for (int fr = 0; fr < KH; ++fr)
#pragma unroll
        for (int fs = 0; fs < KW; ++fs) acc[fr][fs] = 0.0f;
    const T* x_channel = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
    const T* dy_channel = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
    if (row_lanes(prm.q) < 32) {
        accumulate_narrow<D, KH, KW>(prm, slicing, x_channel, dy_channel, band_begin, band_end, acc);
    } else {
        accumulate_wide<D, KH, KW>(prm, slicing, x_channel, dy_channel, band_begin, band_end, acc);
    }

    // Sums over the block in a fixed order (a warp butterfly, then the warps in order): bitwise reproducible.
    __shared__ float warp_sums[kWarps][KH * KW];
#pragma unroll
    for (int fr = 0; fr < KH; ++fr)
#pragma unroll
        for (int fs = 0; fs < KW; ++fs) {
            float v = acc[fr][fs];
#pragma unroll
            for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
            if (lane == 0) warp_sums[warp][fr * KW + fs] = v;
        }
    __syncthreads();
    if (threadIdx.x < KH * KW) {
        float total = 0.0f;
        for (int w = 0; w < kWarps; ++w) total += warp_sums[w][threadIdx.x];
        partial[(static_cast<int64_t>(blockIdx.y) * prm.k + k) * KH * KW + threadIdx.x] = total;
    }
}

template <DType D, int I = 0>
cudaError_t launch_shape(const DepthwiseParams& p, const FilterGradSlicing& slicing, float* partial,
                         cudaStream_t stream) {
    if constexpr (I == kNchwRowsShapeCount) {
        return cudaErrorInvalidValue;
    } else {
        if (p.r == kNchwRowsShapes[I][0] && p.s == kNchwRowsShapes[I][1]) {
            const dim3 blocks(static_cast<unsigned>(p.k), static_cast<unsigned>(slicing.slices));
            filter_grad_nchw_rows_kernel<D, kNchwRowsShapes[I][0], kNchwRowsShapes[I][1]>
                <<<blocks, kThreads, 0, stream>>>(p, slicing, partial);
            return cudaGetLastError();
        }
        return launch_shape<D, I + 1>(p, slicing, partial, stream);
    }
}

}  // namespace

bool filter_grad_nchw_rows_long_bands(const DepthwiseParams& p) {
    // Run 2026-12-04hh, bands up to 64 rows against bands of 8: filters of 5+ rows won (convnext7 f32 0.447 ->
    // 0.272 ms, c240_28x28_k5s1 f16 0.079 -> 0.067, k7x3 f16 0.081 -> 0.060), 3x3 lost (c576_14x14_k3s1 f16
    // 0.028 -> 0.036, mbv2_56 f32 0.048 -> 0.058): two halo rows are cheaper than the blocks given up.
    return row_lanes(p.q) < 32 && p.r >= 5;
}

int64_t filter_grad_nchw_rows_block_bands(const DepthwiseParams& p) {
    // Slices of fewer bands leave row slots idle: on 14 x 14 images at 3x3 the strip kernel's slicing (11-13
    // bands for 64 slots) made the kernel lose to the strip kernel (c184_14x14_k3s1 f32 0.050 vs 0.036 ms, run
    // 2026-12-03l), with many more blocks than a wave that each did a fifth of the work they could.
    return int64_t{kWarps} * (32 / row_lanes(p.q));
}

bool filter_grad_nchw_rows_applies(const DepthwiseParams& p) {
    // Rows of 64 columns or fewer run side by side in a warp (accumulate_narrow); wider rows a warp each.
    // The rows kernels' shapes at stride 1 without dilation, on rows contiguous in x and dy.
    return nchw_rows_shape(p) && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
           p.x_stride[kW] == 1 && p.y_stride[kW] == 1 && p.k <= 0x7fffffff && p.n * p.p < (int64_t{1} << 30) &&
           p.h + p.pad_h < (int64_t{1} << 30) &&
           p.w + p.pad_w < (int64_t{1} << 30);  // rows and columns in 32-bit integers
}

cudaError_t filter_grad_nchw_rows(const DepthwiseParams& p, const FilterGradSlicing& slicing, float* partial,
                                  cudaStream_t stream) {
    return with_dtype(p.dtype, [&](auto d) { return launch_shape<decltype(d)::value>(p, slicing, partial, stream); });
}

}  // namespace dwshim
