// NCHW with stride_w = dil_w = 1 and no left padding: the rows path (each input row feeds K output rows held in
// registers) with every lane owning V = 16 / sizeof(T) adjacent columns. A lane loads its columns as one aligned
// 16-byte vector and takes the K - 1 columns after them from the next lane by shuffle, so a warp reads a whole
// contiguous row segment per instruction. Rows arrive through a per-warp ring in shared memory filled by
// asynchronous copies, kStages - 1 rows ahead, so loads in flight hold no registers (the halo vectors past a
// warp's segment ride along, copied by lane 31). Outputs are transposed through shared memory so that stores
// are coalesced too (16-byte vectors for 2-byte types), whatever the output row's alignment.
#include <cstdint>

#include "kernels/common/async_copy.cuh"
#include "kernels/common/epilogue.cuh"
#include "kernels/common/plane_tiles.cuh"
#include "kernels/forward/nchw_vec.h"

namespace dwshim {
namespace {

constexpr int kWarps = 4;
constexpr int kNchwVecThreads = 32 * kWarps;
// Output rows per warp, and input rows of a warp in shared memory (kStages - 1 in flight while one is used).
// H200, KB84 forward (runs 2026-12-03i and j, ms, bands x ring): fp32 32 x 8 2.20 against 2.74 with the H100's
// choice 16 x 12 (32 x 4 2.24, 64 x 8 2.26, 128 x 8 2.33); fp16 / bf16 64 x 8 1.26 / 1.34 against 1.32 / 1.40 at
// 32 x 8 (128 x 8 1.24 / 1.32, 16 x 12 1.69 / 1.73). On the H100 (bench/NOTES.md v13) fp32 16 rows took 3.00 ms
// against 3.14 at 32 (ring 16).
template <typename T>
constexpr int kNchwVecBandRows = sizeof(T) == 4 ? 32 : 64;
constexpr int kStages = 8;

template <typename T>
constexpr int kVector = 16 / static_cast<int>(sizeof(T));

// 2-byte types store outputs as 16-byte vectors (KB84 fp16 1.68 -> 1.54 ms, bf16 1.69 -> 1.54 on an H100: 8
// scalar stores per lane and row were most of the issue slots); fp32 stores one element per lane and instruction
// (2.94 ms vs 2.96 with vectors).
template <typename T>
constexpr bool kVectorStores = sizeof(T) == 2;

// Padded index into a warp's staging row, one extra word per kPad: lanes write V consecutive elements each and
// read either one element 32 apart (kPad 32) or V consecutive elements from any column (kPad V), without bank
// conflicts.
template <int kPad>
__device__ __forceinline__ int staged(int e) {
    return e + e / kPad;
}

// Stores elements [0, cols) of a warp's staging row (padded per V) to y + offset: 16-byte vectors from the first
// 16-byte boundary on, one per lane, and the few elements before it and after the last whole vector one by one.
// A launch with a residual runs the fused kernel (see the launcher), so the plain one only scales.
template <DType D, bool kFused>
__device__ __forceinline__ void store_row_vectors(const DepthwiseParams& prm, const float* stage, int64_t offset,
                                                  int cols, float bias, int lane) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int V = kVector<T>;
    T* y = static_cast<T*>(prm.y) + offset;
    const int misaligned = static_cast<int>(reinterpret_cast<uintptr_t>(y) % 16 / sizeof(T));
    const int head = min(cols, (V - misaligned) % V);
    const int vectors = (cols - head) / V;
    const int tail = head + vectors * V;
    const auto value = [&](int e) {
        const float acc = stage[staged<V>(e)];
        return Traits::from_float(kFused ? epilogue<D, true>(prm, acc, bias, offset + e) : prm.alpha * acc);
    };
    if (lane < vectors) {
        const int e0 = head + lane * V;
        uint4 raw;
        T* packed = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int c = 0; c < V; ++c) packed[c] = value(e0 + c);
        __stcs(reinterpret_cast<uint4*>(y + e0), raw);  // streaming: leaves L2 to the input rows
    }
    if (lane < head + cols - tail) {
        const int e = lane < head ? lane : tail + lane - head;
        store_streaming(y + e, value(e));
    }
}

template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kNchwVecThreads)
    depthwise_nchw_vec_kernel(DepthwiseParams prm, PlaneGrid grid, int warps_across) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int V = kVector<T>;
    constexpr int kSegment = 32 * V;  // columns per warp
    constexpr int kPad = kVectorStores<T> ? V : 32;
    __shared__ float staging[kWarps][kSegment + kSegment / kPad];
    constexpr int kHalo = (K - 1 + V - 1) / V;  // vectors past a warp's segment that its last lane needs
    constexpr int kRing = kStages;
    constexpr int kBand = kNchwVecBandRows<T>;
    // ring[t % kRing][warp]: input row t's vectors, one per lane, then the halo vectors (copied by lane 31).
    __shared__ uint4 ring[kRing][kWarps][32 + kHalo];

    const PlaneTile tile = plane_tile(prm, grid);
    const int64_t n = tile.n;
    const int64_t k = tile.k;
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int64_t warp_col0 = (tile.col_block * warps_across + warp % warps_across) * kSegment;
    const int64_t iw0 = warp_col0 + lane * V;  // this lane's first column (no left padding)
    const int64_t oh_begin = (tile.band * (kWarps / warps_across) + warp / warps_across) * kBand;
    if (warp_col0 >= prm.q || oh_begin >= prm.p) return;  // whole warps only: the shuffles need every lane

    float taps[K][K];
    load_taps<D, K, K>(prm, k, taps);
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + (k / prm.multiplier) * prm.x_stride[kC];
    const int64_t y_plane = n * prm.y_stride[kN] + k * prm.y_stride[kC];
    T* y = static_cast<T*>(prm.y);
    const float bias = kFused ? bias_of<D>(prm, k) : 0.0f;
    const bool whole_vector = iw0 + V <= prm.w;  // rows are whole vectors, so this is all-or-nothing per lane

    const int64_t oh_end = oh_begin + kBand < prm.p ? oh_begin + kBand : prm.p;
    float acc[K][V];
#pragma unroll
    for (int r = 0; r < K; ++r)
#pragma unroll
        for (int c = 0; c < V; ++c) acc[r][c] = 0.0f;

    const int64_t ih_begin = oh_begin - prm.pad_h;
    const int64_t rows = oh_end - oh_begin + K - 1;
    const auto fetch = [&](int64_t t) {  // starts the copies of input row ih_begin + t into its ring slot
        const int64_t ih = ih_begin + t;
        const bool row_valid = t < rows && ih >= 0 && ih < prm.h;
        const bool band_above_reads_it = t < K - 1;
        const T* row = x + ih * prm.x_stride[kH];
        uint4* slot = ring[t % kRing][warp];
        copy_16_async(&slot[lane], row_valid && whole_vector ? row + iw0 : x, row_valid && whole_vector,
                      band_above_reads_it);
        if (lane == 31) {
#pragma unroll
            for (int h = 0; h < kHalo; ++h) {
                const int64_t iw = iw0 + V * (h + 1);
                copy_16_async(&slot[32 + h], row_valid && iw < prm.w ? row + iw : x, row_valid && iw < prm.w,
                              band_above_reads_it);
            }
        }
        commit_copies();  // one group per row, empty past the band, so that the wait below counts rows
    };
#pragma unroll
    for (int t = 0; t < kRing - 1; ++t) fetch(t);
    for (int64_t t = 0; t < rows; ++t) {
        const int64_t ih = ih_begin + t;
        wait_copies<kRing - 2>();  // row t has landed; rows t + 1 .. t + kRing - 2 may still be in flight
        const uint4* slot = ring[t % kRing][warp];
        float window[V + kHalo * V];  // columns iw0 ..; lanes below 31 fill V .. V + K - 2 by shuffle
        widen_vector<D>(slot[lane], &window[0]);
        if (lane == 31) {
#pragma unroll
            for (int h = 0; h < kHalo; ++h) widen_vector<D>(slot[32 + h], &window[V * (h + 1)]);
        }
        fetch(t + kRing - 1);  // into the slot row t - 1 used, which this lane has already read
        // Columns past this lane's vector: the next lane's first K - 1; lane 31 has them from the halo vectors.
#pragma unroll
        for (int j = 0; j < K - 1; ++j) {
            const float from_next = __shfl_down_sync(0xffffffffu, window[j], 1);
            if (lane < 31) window[V + j] = from_next;
        }
#pragma unroll
        for (int r = 0; r < K; ++r)
#pragma unroll
            for (int c = 0; c < V; ++c)
#pragma unroll
                for (int s = 0; s < K; ++s) acc[r][c] += window[c + s] * taps[r][s];

        const int64_t oh = ih + prm.pad_h - (K - 1);
        if (oh >= oh_begin) {
#pragma unroll
            for (int c = 0; c < V; ++c) staging[warp][staged<kPad>(lane * V + c)] = acc[K - 1][c];
            __syncwarp();
            const int64_t row_offset = y_plane + oh * prm.y_stride[kH];
            if constexpr (kVectorStores<T>) {
                const int cols = static_cast<int>(prm.q - warp_col0 < kSegment ? prm.q - warp_col0 : kSegment);
                store_row_vectors<D, kFused>(prm, staging[warp], row_offset + warp_col0, cols, bias, lane);
            } else {
#pragma unroll
                for (int c = 0; c < V; ++c) {
                    const int e = lane + 32 * c;
                    const int64_t ow = warp_col0 + e;
                    if (ow < prm.q) {
                        const int64_t offset = row_offset + ow;
                        const float v = epilogue<D, kFused>(prm, staging[warp][staged<kPad>(e)], bias, offset);
                        store_streaming(&y[offset], Traits::from_float(v));  // leaves L2 to the input rows
                    }
                }
            }
            __syncwarp();  // the staging row is rewritten by the next output row
        }
#pragma unroll
        for (int r = K - 1; r > 0; --r)
#pragma unroll
            for (int c = 0; c < V; ++c) acc[r][c] = acc[r - 1][c];
#pragma unroll
        for (int c = 0; c < V; ++c) acc[0][c] = 0.0f;
    }
    wait_copies<0>();  // the copies issued past the band (zero fills) complete before the ring goes away
}

int64_t nchw_vector_elems(DType dtype) {
    return dtype == DType::kFloat ? 4 : 8;
}

}  // namespace

bool nchw_vec_applies(const DepthwiseParams& p) {
    const int64_t v = nchw_vector_elems(p.dtype);
    const bool size_instantiated = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    return size_instantiated && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 && p.stride_h == 1 && p.dil_h == 1 &&
           p.stride_w == 1 && p.dil_w == 1 && p.pad_w == 0 && p.w % v == 0 && p.x_stride[kH] % v == 0 &&
           p.x_stride[kC] % v == 0 && p.x_stride[kN] % v == 0;
}

bool nchw_vec_aligned(const DepthwiseParams& p) {
    return nchw_vec_applies(p) && reinterpret_cast<uintptr_t>(p.x) % 16 == 0;
}

template <DType D, int K>
cudaError_t launch_depthwise_nchw_vec(const DepthwiseParams& params, cudaStream_t stream) {
    // The fewest warps (1, 2 or 4) that span a row; the block's other warps take the next bands down, so no warp
    // idles on rows narrower than the block (KB84 fp16: 510 columns, 256 per warp).
    const int64_t segment = 32 * nchw_vector_elems(params.dtype);
    int warps_across = 1;
    while (warps_across < kWarps && warps_across * segment < params.q) warps_across *= 2;
    PlaneGrid grid;
    const int band_rows = kNchwVecBandRows<typename DTypeTraits<D>::Storage>;
    if (!make_plane_grid(params, warps_across * segment, kWarps / warps_across * band_rows, &grid)) {
        return cudaErrorInvalidConfiguration;
    }
    // The plain kernel of 2-byte types does not read a residual (store_row_vectors).
    const bool fused = needs_fused_epilogue(params) || params.residual != nullptr;
    const auto kernel = fused ? depthwise_nchw_vec_kernel<D, K, true> : depthwise_nchw_vec_kernel<D, K, false>;
    kernel<<<static_cast<unsigned>(grid.blocks), kNchwVecThreads, 0, stream>>>(params, grid, warps_across);
    return cudaGetLastError();
}

#define DWSHIM_INSTANTIATE_NCHW_VEC(D)                                                              \
    template cudaError_t launch_depthwise_nchw_vec<D, 3>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nchw_vec<D, 5>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nchw_vec<D, 7>(const DepthwiseParams&, cudaStream_t);
DWSHIM_INSTANTIATE_NCHW_VEC(DType::kFloat)
DWSHIM_INSTANTIATE_NCHW_VEC(DType::kHalf)
DWSHIM_INSTANTIATE_NCHW_VEC(DType::kBFloat16)
#undef DWSHIM_INSTANTIATE_NCHW_VEC

}  // namespace dwshim
