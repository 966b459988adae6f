// The filter gradient's partial sums for row-contiguous data (NCHW) at stride 1, one block per (channel, slice)
// on the plane strip kernel's slices. A warp walks down a run of output rows (the consecutive bands of one image
// that its share of the slice holds) with every lane owning kCols adjacent output columns. Per input row ih it
// loads its kCols input columns once and takes the next K - 1 from the next lane by shuffle, while the dy rows
// ih + pad_h - fr (fr < K) stay in registers, shifted down one row per step: every tap (fr, fs) then adds
// dy[ih + pad_h - fr][c] * x[ih][c - pad_w + fs] over the lane's columns. x and dy are each read once per run
// (plus K - 1 halo rows), against K loads of every input value per band of 8 rows on the strip kernel.
#include "depthwise_filter_grad_nchw.h"

#include <algorithm>

#include "depthwise_backward.h"
#include "dtype_traits.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 256;  // the strip kernel's blocks: the grid and the workspace are the same
constexpr int kWarps = kThreads / 32;
constexpr int kCols = 4;  // adjacent output columns per lane
constexpr int kSegment = 32 * kCols;

// Accumulates, into acc, the taps' products over output rows [oh_begin, oh_end) of image n and this lane's
// columns c0 .. c0 + kCols - 1. Every lane of the warp calls it with the same rows (the shuffles need them all).
template <DType D, int K>
__device__ __forceinline__ void accumulate_run(const DepthwiseParams& prm, const typename DTypeTraits<D>::Storage* x,
                                               const typename DTypeTraits<D>::Storage* dy, int oh_begin, int oh_end,
                                               int c0, int lane, float (&acc)[K][K]) {
    using Traits = DTypeTraits<D>;
    constexpr int kWindow = kCols + K - 1;
    // Which of the lane's dy columns (c0 + c) and input columns (c0 - pad_w + c) lie inside their rows; the last
    // lane loads its whole window, the others take columns kCols .. from the next lane.
    const int x0 = c0 - static_cast<int>(prm.pad_w);
    unsigned dy_inside = 0, x_inside = 0;
#pragma unroll
    for (int c = 0; c < kWindow; ++c) {
        if (c < kCols && c0 + c < prm.q) dy_inside |= 1u << c;
        if (x0 + c >= 0 && x0 + c < prm.w && (c < kCols || lane == 31)) x_inside |= 1u << c;
    }
    const auto* dy_lane = dy + c0;
    const auto* x_lane = x + x0;
    float dy_rows[K][kCols];  // dy_rows[fr]: dy row ih + pad_h - fr
#pragma unroll
    for (int fr = 0; fr < K; ++fr)
#pragma unroll
        for (int c = 0; c < kCols; ++c) dy_rows[fr][c] = 0.0f;
    const int pad_h = static_cast<int>(prm.pad_h), h = static_cast<int>(prm.h);
    for (int ih = oh_begin - pad_h; ih < oh_end - pad_h + K - 1; ++ih) {
#pragma unroll
        for (int fr = K - 1; fr > 0; --fr)
#pragma unroll
            for (int c = 0; c < kCols; ++c) dy_rows[fr][c] = dy_rows[fr - 1][c];
        const int oh = ih + pad_h;
        const auto* dy_row = dy_lane + static_cast<int64_t>(oh) * prm.y_stride[kH];
        const unsigned dy_mask = oh < oh_end ? dy_inside : 0u;
#pragma unroll
        for (int c = 0; c < kCols; ++c) dy_rows[0][c] = (dy_mask >> c) & 1u ? Traits::load(dy_row + c) : 0.0f;
        if (ih < 0 || ih >= h) continue;  // a padding row: no products (the same for every lane)
        const auto* x_row = x_lane + static_cast<int64_t>(ih) * prm.x_stride[kH];
        float window[kWindow];
#pragma unroll
        for (int c = 0; c < kWindow; ++c) window[c] = (x_inside >> c) & 1u ? Traits::load(x_row + c) : 0.0f;
        // Past this lane's columns: the next lane's first K - 1, in order, so that the next lane's window[kCols +
        // j], itself shuffled in, is there for j >= kCols. The last lane loaded its own above.
#pragma unroll
        for (int j = 0; j < K - 1; ++j) {
            const float from_next = __shfl_down_sync(0xffffffffu, window[j], 1);
            if (lane < 31) window[kCols + j] = from_next;
        }
#pragma unroll
        for (int fr = 0; fr < K; ++fr)
#pragma unroll
            for (int fs = 0; fs < K; ++fs)
#pragma unroll
                for (int c = 0; c < kCols; ++c) acc[fr][fs] += dy_rows[fr][c] * window[c + fs];
    }
}

template <DType D, int K>
__global__ void __launch_bounds__(kThreads)
    filter_grad_nchw_rows_kernel(DepthwiseParams prm, FilterGradSlicing slicing, float* partial) {
    using T = typename DTypeTraits<D>::Storage;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t k = blockIdx.x;
    // The block's warps: `across` column segments of a row times kWarps / across groups of the slice's bands.
    const int64_t segments = (prm.q + kSegment - 1) / kSegment;
    int across = 1;
    while (across < kWarps && across < segments) across *= 2;
    const int groups = kWarps / across, group = warp / across;
    const int64_t band_begin = blockIdx.y * slicing.bands_per_slice;
    const int64_t band_end = min(prm.n * slicing.bands_per_image, band_begin + slicing.bands_per_slice);
    const int64_t per_group = (band_end - band_begin + groups - 1) / groups;
    const int64_t group_begin = band_begin + group * per_group;
    const int64_t group_end = min(band_end, group_begin + per_group);

    float acc[K][K];
#pragma unroll
    for (int fr = 0; fr < K; ++fr)
#pragma unroll
        for (int fs = 0; fs < K; ++fs) acc[fr][fs] = 0.0f;
    const T* x_channel = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
    const T* dy_channel = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
    for (int64_t segment = warp % across; segment < segments; segment += across) {
        const int64_t c0 = segment * kSegment + lane * kCols;
        for (int64_t band = group_begin; band < group_end;) {
            const int64_t n = band / slicing.bands_per_image;
            const int64_t image_band0 = n * slicing.bands_per_image;
            const int64_t run_end = min(group_end, image_band0 + slicing.bands_per_image);
            const int64_t oh_begin = (band - image_band0) * slicing.band_rows;
            const int64_t oh_end = min(prm.p, (run_end - image_band0) * slicing.band_rows);
            accumulate_run<D, K>(prm, x_channel + n * prm.x_stride[kN], dy_channel + n * prm.y_stride[kN],
                                 static_cast<int>(oh_begin), static_cast<int>(oh_end), static_cast<int>(c0), lane,
                                 acc);
            band = run_end;
        }
    }

    // Sums over the block in a fixed order (a warp butterfly, then the warps in order): bitwise reproducible.
    __shared__ float warp_sums[kWarps][K * K];
#pragma unroll
    for (int fr = 0; fr < K; ++fr)
#pragma unroll
        for (int fs = 0; fs < K; ++fs) {
            float v = acc[fr][fs];
#pragma unroll
            for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
            if (lane == 0) warp_sums[warp][fr * K + fs] = v;
        }
    __syncthreads();
    if (threadIdx.x < K * K) {
        float total = 0.0f;
        for (int w = 0; w < kWarps; ++w) total += warp_sums[w][threadIdx.x];
        partial[(static_cast<int64_t>(blockIdx.y) * prm.k + k) * K * K + threadIdx.x] = total;
    }
}

template <DType D>
cudaError_t launch_size(const DepthwiseParams& p, const FilterGradSlicing& slicing, float* partial,
                        cudaStream_t stream) {
    const dim3 blocks(static_cast<unsigned>(p.k), static_cast<unsigned>(slicing.slices));
    switch (p.r) {
        case 3:
            filter_grad_nchw_rows_kernel<D, 3><<<blocks, kThreads, 0, stream>>>(p, slicing, partial);
            break;
        case 5:
            filter_grad_nchw_rows_kernel<D, 5><<<blocks, kThreads, 0, stream>>>(p, slicing, partial);
            break;
        default:
            filter_grad_nchw_rows_kernel<D, 7><<<blocks, kThreads, 0, stream>>>(p, slicing, partial);
            break;
    }
    return cudaGetLastError();
}

}  // namespace

bool filter_grad_nchw_rows_applies(const DepthwiseParams& p) {
    // A warp spans 128 output columns: narrower rows leave lanes idle, and there the plane strip kernel (a lane
    // per column) wins (run 2026-12-03j, GPU time against it: KB84 f32 2.14 vs 3.97 ms, bf16 2.51 vs 4.88,
    // c32_112x112_k3s1 f32 0.081 vs 0.131, convnext7 (56 columns, 7x7) f32 0.52 vs 0.71, c96_56x56_k7s1 bf16 0.31 vs
    // 0.35; lost at 56 columns and 3x3, mbv2_56 bf16 0.111 vs 0.094, and at 28 columns or fewer by 1.3-1.7x).
    const bool wide = p.q >= 96 || (p.r == 7 && p.q >= 56);
    // The strip kernel's filters (3x3, 5x5, 7x7 without dilation) at stride 1, on rows contiguous in x and dy.
    return filter_grad_strip_applies(p) && p.stride_h == 1 && wide && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 &&
           p.k <= 0x7fffffff && p.h + p.pad_h < (int64_t{1} << 30) &&
           p.w + p.pad_w < (int64_t{1} << 30);  // rows and columns in 32-bit integers
}

cudaError_t filter_grad_nchw_rows(const DepthwiseParams& p, const FilterGradSlicing& slicing, float* partial,
                                  cudaStream_t stream) {
    switch (p.dtype) {
        case DType::kFloat:
            return launch_size<DType::kFloat>(p, slicing, partial, stream);
        case DType::kHalf:
            return launch_size<DType::kHalf>(p, slicing, partial, stream);
        case DType::kBFloat16:
            return launch_size<DType::kBFloat16>(p, slicing, partial, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
