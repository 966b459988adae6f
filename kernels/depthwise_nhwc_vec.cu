// NHWC, stride 1 or 2: each thread owns one 16-byte vector of channels (4 fp32 or 8 fp16/bf16) over a strip of
// adjacent output columns and walks down a band of output rows. Every input row it loads feeds every output row
// whose window covers it, through accumulators held in registers (the NCHW rows path's scheme), so each input
// vector is read about once per band instead of K * K times. Lanes own consecutive channel vectors, so every load
// and store instruction of a warp covers whole contiguous pixels. Input rows arrive through a per-thread ring in
// shared memory filled by asynchronous copies, so rows ahead are in flight without holding registers. The
// block's filter slice is staged in shared memory transposed to [tap][channel], so each tap's weights are one
// vector read.
#include <cstdint>

#include "depthwise_nhwc_vec.h"
#include "async_copy.cuh"
#include "channel_vector_strips.cuh"
#include "epilogue.cuh"

namespace dwshim {
namespace {

constexpr int kNhwcVecThreads = 128;
// Channel vectors one block covers. Lanes with the same vector read the same weights, so fewer vectors per warp
// means fewer shared-memory wavefronts per weight read: worth it from 5 x 5 on, where weights are read the most
// (H100, NHWC fp16 convnext7 0.78 ms at 8 vs 1.00 at 32), not at 3 x 3 (KB84 fp32 3.26 ms at 8 vs 3.01 at 32).
template <int K>
constexpr int kMaxVectorsPerBlock = K <= 3 ? 32 : 8;
constexpr int kMaxBandRows = 64;  // H100 KB84 fp16 1.62 -> 1.55 ms, bf16 1.56 -> 1.51 vs 32 (NOTES v15)
constexpr int kMinBandRows = 8;
// Threads below which bands are shortened to give the GPU more to run (two waves of a 132-SM H100).
constexpr int64_t kEnoughThreads = int64_t{1} << 19;

template <DType D>
struct VectorIo {
    using T = typename DTypeTraits<D>::Storage;
    static constexpr int V = 16 / static_cast<int>(sizeof(T));
    static __device__ __forceinline__ void load_shared(const T* p, float (&out)[V]) {
        widen_vector<D>(*reinterpret_cast<const uint4*>(p), out);
    }
    static __device__ __forceinline__ void store(T* p, const float (&in)[V]) {
        uint4 raw;
        T* v = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) v[j] = DTypeTraits<D>::from_float(in[j]);
        __stcs(reinterpret_cast<uint4*>(p), raw);  // streaming (H100 KB84 fp16 1.70 -> 1.62 ms): L2 keeps the input
    }
};

// How much of the output one thread holds: M output rows (those one input row feeds) x kCols columns x V
// channels of accumulators, within about 64 registers, and a window of kWindow input vectors per row, within
// about 48 registers and small enough that two rows of windows fit in shared memory beside the filter slice.
template <int K, int S, int V>
struct StripShape {
    static constexpr int kSharedBytes = 48 * 1024;
    static constexpr int kTapBytes = K * K * kMaxVectorsPerBlock<K> * 16;
    static constexpr int kWindowRowBytes = kNhwcVecThreads * 16;  // one window vector of every thread
    static constexpr int M = (K + S - 1) / S;
    static constexpr int kByAccumulators = 64 / (M * V);
    static constexpr int kByRegisters = (48 / V - K) / S + 1;
    static constexpr int kBySharedMemory = ((kSharedBytes - kTapBytes) / (2 * kWindowRowBytes) - K) / S + 1;
    static constexpr int kByWindow = kByRegisters < kBySharedMemory ? kByRegisters : kBySharedMemory;
    static constexpr int kFit = kByAccumulators < kByWindow ? kByAccumulators : kByWindow;
    static constexpr int kCols = kFit < 1 ? 1 : (kFit > 4 ? 4 : kFit);
    static constexpr int kWindow = (kCols - 1) * S + K;
    // Input rows of a thread's window ring (kRingRows - 1 in flight while one is used): as many as fit, up to 4
    // for 2-byte types (H100, KB84 fp16 2.30 -> 1.70 ms, bf16 2.73 -> 1.58) and 2 for fp32, where the ring
    // gains little (KB84 3.00 ms without, 3.02 at 2, 3.09 at 4; convnext7 0.44 without, 0.49 with).
    static constexpr int kMaxRingRows = V == 4 ? 2 : 4;
    static constexpr int kRingFit = (kSharedBytes - kTapBytes) / (kWindow * kWindowRowBytes);
    static constexpr int kRingRows = kRingFit > kMaxRingRows ? kMaxRingRows : kRingFit;
    static_assert(kRingRows >= 2, "the window bound above keeps two ring rows in shared memory");
};

struct StripGrid {
    int vectors_per_block = 0;
    int strips_per_block = 0;  // strips (threads' column runs) side by side in a block, per channel vector
    int64_t col_strips = 0;    // strips across an output row
    int64_t band_rows = 0;
    int64_t bands = 0;
    int64_t strips = 0;  // all of them: images x bands x col_strips
};

template <DType D, int K, int S, bool kFused>
__global__ void __launch_bounds__(kNhwcVecThreads) depthwise_nhwc_vec_kernel(DepthwiseParams prm, StripGrid grid) {
    using Io = VectorIo<D>;
    using T = typename Io::T;
    constexpr int V = Io::V;
    using Shape = StripShape<K, S, V>;
    constexpr int M = Shape::M;
    constexpr int kCols = Shape::kCols;
    constexpr int kWindow = Shape::kWindow;
    constexpr int kRingRows = Shape::kRingRows;
    __shared__ __align__(16) T taps[K * K][kMaxVectorsPerBlock<K> * V];
    // ring[t % kRingRows][j][thread]: window vector j of the thread's input row t, copied by the thread itself.
    __shared__ uint4 ring[kRingRows][kWindow][kNhwcVecThreads];

    const int64_t c_begin = static_cast<int64_t>(blockIdx.y) * grid.vectors_per_block * V;
    stage_filter_taps<K>(prm, c_begin, grid.vectors_per_block * V, taps);
    StripThread place;
    if (!place_strip_thread<V>(grid, c_begin, prm.c, &place)) return;
    const int vec = place.vec;
    const int64_t strip = place.strip, c = place.c;
    const int64_t ow0 = (strip % grid.col_strips) * kCols;
    const int64_t band = (strip / grid.col_strips) % grid.bands;
    const int64_t n = strip / (grid.col_strips * grid.bands);

    const int64_t iw0 = ow0 * S - prm.pad_w;
    bool col_ok[kWindow];
#pragma unroll
    for (int t = 0; t < kWindow; ++t) col_ok[t] = iw0 + t >= 0 && iw0 + t < prm.w;
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + iw0 * prm.x_stride[kW] + c;
    T* y = static_cast<T*>(prm.y);
    float bias[V];
#pragma unroll
    for (int e = 0; e < V; ++e) bias[e] = kFused ? bias_of<D>(prm, c + e) : 0.0f;

    const int64_t oh_begin = band * grid.band_rows;
    const int64_t oh_end = oh_begin + grid.band_rows < prm.p ? oh_begin + grid.band_rows : prm.p;
    // Step o loads input rows S * o + u - pad_h (u < S); acc[j] collects output row o - j, to which such a row
    // contributes filter row S * j + u. After step o, acc[M - 1] (output row o - M + 1) is complete.
    float acc[M][kCols][V];
#pragma unroll
    for (int j = 0; j < M; ++j)
#pragma unroll
        for (int t = 0; t < kCols; ++t)
#pragma unroll
            for (int e = 0; e < V; ++e) acc[j][t][e] = 0.0f;

    const int64_t rows = S * (oh_end + M - 1 - oh_begin);  // input rows the band reads, the first at ih_begin
    const int64_t ih_begin = S * oh_begin - prm.pad_h;
    const auto fetch = [&](int64_t t) {  // starts the copies of input row ih_begin + t into its ring slot
        const int64_t ih = ih_begin + t;
        const bool row_ok = t < rows && ih >= 0 && ih < prm.h;
        const T* row = x + ih * prm.x_stride[kH];
#pragma unroll
        for (int j = 0; j < kWindow; ++j) {
            const bool valid = row_ok && col_ok[j];
            copy_16_async(&ring[t % kRingRows][j][threadIdx.x], valid ? row + j * prm.x_stride[kW] : prm.x, valid);
        }
        commit_copies();  // one group per row, empty past the band, so that the wait below counts rows
    };
#pragma unroll
    for (int t = 0; t < kRingRows - 1; ++t) fetch(t);

    for (int64_t o = oh_begin; o < oh_end + M - 1; ++o) {
#pragma unroll
        for (int u = 0; u < S; ++u) {
            const int64_t t = S * (o - oh_begin) + u;
            wait_copies<kRingRows - 2>();  // row t has landed; later rows may still be in flight
            float window[kWindow][V];
#pragma unroll
            for (int j = 0; j < kWindow; ++j) widen_vector<D>(ring[t % kRingRows][j][threadIdx.x], window[j]);
            fetch(t + kRingRows - 1);  // into the slot row t - 1 used, which this thread has already read
#pragma unroll
            for (int j = 0; j < M; ++j) {
                const int r = S * j + u;
                if (r >= K) continue;
#pragma unroll
                for (int s = 0; s < K; ++s) {
                    float w[V];
                    Io::load_shared(&taps[r * K + s][vec * V], w);
#pragma unroll
                    for (int t = 0; t < kCols; ++t)
#pragma unroll
                        for (int e = 0; e < V; ++e) acc[j][t][e] += window[t * S + s][e] * w[e];
                }
            }
        }
        const int64_t oh = o - (M - 1);
        if (oh >= oh_begin) {
#pragma unroll
            for (int t = 0; t < kCols; ++t) {
                if (ow0 + t >= prm.q) break;
                const int64_t offset = n * prm.y_stride[kN] + oh * prm.y_stride[kH] + (ow0 + t) * prm.y_stride[kW] + c;
                float out[V];
#pragma unroll
                for (int e = 0; e < V; ++e) out[e] = epilogue<D, kFused>(prm, acc[M - 1][t][e], bias[e], offset + e);
                Io::store(y + offset, out);
            }
        }
#pragma unroll
        for (int j = M - 1; j > 0; --j)
#pragma unroll
            for (int t = 0; t < kCols; ++t)
#pragma unroll
                for (int e = 0; e < V; ++e) acc[j][t][e] = acc[j - 1][t][e];
#pragma unroll
        for (int t = 0; t < kCols; ++t)
#pragma unroll
            for (int e = 0; e < V; ++e) acc[0][t][e] = 0.0f;
    }
    wait_copies<0>();  // the copies issued past the band (zero fills) complete before the ring goes away
}

int nhwc_vector_elems(DType dtype) {
    return dtype == DType::kFloat ? 4 : 8;
}

// Channel vectors split evenly over as few blocks as hold them (36 vectors: 2 x 18, not 32 + 4); bands as tall
// as kMaxBandRows while the launch has enough threads, shorter (more halo rows re-read) for small problems.
bool make_strip_grid(const DepthwiseParams& p, int max_vectors_per_block, int cols_per_strip, StripGrid* g,
                     int64_t* channel_blocks) {
    const int64_t vectors = p.c / nhwc_vector_elems(p.dtype);
    *channel_blocks = (vectors + max_vectors_per_block - 1) / max_vectors_per_block;
    g->vectors_per_block = static_cast<int>((vectors + *channel_blocks - 1) / *channel_blocks);
    g->strips_per_block = kNhwcVecThreads / g->vectors_per_block;
    g->col_strips = (p.q + cols_per_strip - 1) / cols_per_strip;
    const auto strips_with = [&](int64_t rows) { return p.n * ((p.p + rows - 1) / rows) * g->col_strips; };
    g->band_rows = kMaxBandRows;
    while (g->band_rows > kMinBandRows && strips_with(g->band_rows) * vectors < kEnoughThreads) g->band_rows /= 2;
    g->bands = (p.p + g->band_rows - 1) / g->band_rows;
    g->strips = strips_with(g->band_rows);
    const int64_t blocks = (g->strips + g->strips_per_block - 1) / g->strips_per_block;
    return blocks <= 0x7fffffff && *channel_blocks <= 65535;
}

template <DType D, int K, int S>
cudaError_t launch_with_stride(const DepthwiseParams& params, cudaStream_t stream) {
    constexpr int V = VectorIo<D>::V;
    StripGrid grid;
    int64_t channel_blocks = 0;
    if (!make_strip_grid(params, kMaxVectorsPerBlock<K>, StripShape<K, S, V>::kCols, &grid, &channel_blocks)) {
        return cudaErrorInvalidConfiguration;
    }
    const int64_t blocks = (grid.strips + grid.strips_per_block - 1) / grid.strips_per_block;
    const dim3 launch_grid(static_cast<unsigned>(blocks), static_cast<unsigned>(channel_blocks));
    const auto kernel = needs_fused_epilogue(params) ? depthwise_nhwc_vec_kernel<D, K, S, true>
                                                     : depthwise_nhwc_vec_kernel<D, K, S, false>;
    kernel<<<launch_grid, kNhwcVecThreads, 0, stream>>>(params, grid);
    return cudaGetLastError();
}

}  // namespace

bool nhwc_vec_applies(const DepthwiseParams& p) {
    const int64_t v = nhwc_vector_elems(p.dtype);
    const bool size_instantiated = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    const bool stride_instantiated = p.stride_h == p.stride_w && (p.stride_h == 1 || p.stride_h == 2);
    return size_instantiated && stride_instantiated && p.dil_h == 1 && p.dil_w == 1 && p.multiplier == 1 &&
           p.x_stride[kC] == 1 && p.y_stride[kC] == 1 && p.c % v == 0 && p.x_stride[kN] % v == 0 &&
           p.x_stride[kH] % v == 0 && p.x_stride[kW] % v == 0 && p.y_stride[kN] % v == 0 &&
           p.y_stride[kH] % v == 0 && p.y_stride[kW] % v == 0;
}

bool nhwc_vec_aligned(const DepthwiseParams& p) {
    const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    return nhwc_vec_applies(p) && aligned(p.x) && aligned(p.y);
}

template <DType D, int K>
cudaError_t launch_depthwise_nhwc_vec(const DepthwiseParams& params, cudaStream_t stream) {
    return params.stride_h == 1 ? launch_with_stride<D, K, 1>(params, stream)
                                : launch_with_stride<D, K, 2>(params, stream);
}

#define DWSHIM_INSTANTIATE_NHWC_VEC(D)                                                              \
    template cudaError_t launch_depthwise_nhwc_vec<D, 3>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nhwc_vec<D, 5>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nhwc_vec<D, 7>(const DepthwiseParams&, cudaStream_t);
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kFloat)
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kHalf)
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kBFloat16)
#undef DWSHIM_INSTANTIATE_NHWC_VEC

}  // namespace dwshim
