// NHWC, stride 1 or 2: each thread owns one 16-byte vector of channels (4 fp32 or 8 fp16/bf16) over a strip of
// adjacent output columns and walks down a band of output rows. Every input row it loads feeds every output row
// whose window covers it, through accumulators held in registers (the NCHW rows path's scheme), so each input
// vector is read about once per band instead of K * K times. Lanes own consecutive channel vectors, so every load
// and store instruction of a warp covers whole contiguous pixels. Input rows arrive through a per-thread ring in
// shared memory filled by asynchronous copies, so rows ahead are in flight without holding registers. The
// block's filter slice is staged in shared memory transposed to [tap][channel] (FilterStaging says in which
// type), so each tap's weights are one or two vector reads.
#include <cstdint>
#include <type_traits>

#include "kernels/common/async_copy.cuh"
#include "kernels/common/channel_vector_strips.cuh"
#include "kernels/common/epilogue.cuh"
#include "kernels/forward/nhwc_vec.h"

namespace dwshim {
namespace {

constexpr int kNhwcVecThreads = 128;
// How a block stages its filter slice, and how many channel vectors it covers (lanes with the same vector read
// the same weights, so fewer vectors per warp means fewer shared-memory wavefronts per weight read). fp32 weights
// cost 16-byte vectors of 2-byte types two 16-byte reads a tap instead of one plus V conversions: worth it at
// 3 x 3 stride 1, where the conversions were most of the instructions (H200 KB84 bf16 1.49 -> 1.25 ms), not where
// more accumulators and rows per thread left the registers short (convnext7 bf16 0.60 ms with 2-byte weights,
// 0.77 with fp32; effnet_k5s2 0.049 vs 0.066). With 8-byte vectors (from 5 x 5 on) the 4 fp32 weights of a tap
// are one 16-byte read, as in fp32: fewer instructions at the same occupancy at stride 1 and at 7 x 7 (bf16 7x7
// stride 1: 5967 -> 4606 per 7 steps, 168 registers, 3 blocks an SM as before); at 5 x 5 stride 2 they would
// cost a block an SM (193 registers, 2 blocks). From 5 x 5 on a block covers 8 vectors (H100, NHWC fp16 convnext7 0.78 ms at 8
// vs 1.00 at 32); at 3 x 3, 32 for fp32 (KB84 3.01 ms vs 3.26 at 8), and for 2-byte types at stride 1, 8
// (H200 mbv2_56 bf16 0.035 ms vs 0.044 at 16), at stride 2, 32.
// A thread's channel vector: 16 bytes, except 8 (4 channels, the fp32 path's thread shape) for 2-byte types from
// 5 x 5 on, where fewer window vectors per column and fewer shared-memory wavefronts per output paid (H200 run
// 2026-12-02h, bf16: k5s1 0.118 -> 0.087 ms, convnext7 0.53 -> 0.45, k7s2 0.117 -> 0.087) and 3 x 3 lost (KB84
// 1.23 -> 2.19, mbv2_56 0.029 -> 0.033, mbv2_s2 0.052 -> 0.066).
template <DType D, int K>
constexpr int kVectorBytes = sizeof(typename DTypeTraits<D>::Storage) == 4 || K == 3 ? 16 : 8;

template <DType D, int K, int S>
struct FilterStaging {
    using T = typename DTypeTraits<D>::Storage;
    static constexpr int V = kVectorBytes<D, K> / static_cast<int>(sizeof(T));
    using TapT = std::conditional_t<S == 1 || K == 7, float, T>;
    static constexpr int kVectors = K == 3 && (sizeof(T) == 4 || S == 2) ? 32 : 8;
    using Slice = TapSlice<TapT, V, kVectors>;
};
constexpr int kMaxBandRows = 64;  // H100 KB84 fp16 1.62 -> 1.55 ms, bf16 1.56 -> 1.51 vs 32 (NOTES v15)
// Bands are shortened no further than four times the rows a band re-reads (M - 1 halo rows, whose steps add to
// no output row of the band): at 7x7 a band of 8 rows took 14 steps, 75% more than its outputs.
constexpr int min_band_rows(int halo_rows) {
    return 4 * halo_rows > 8 ? 4 * halo_rows : 8;
}
// Threads below which bands are shortened to give the GPU more to run (two waves of a 132-SM H100).
constexpr int64_t kEnoughThreads = int64_t{1} << 19;

template <DType D, int K>
struct VectorIo {
    using T = typename DTypeTraits<D>::Storage;
    using Vec = typename VectorOf<kVectorBytes<D, K>>::Type;
    static constexpr int V = kVectorBytes<D, K> / static_cast<int>(sizeof(T));
    static __device__ __forceinline__ void store(T* p, const float (&in)[V]) {
        Vec raw;
        T* v = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) v[j] = DTypeTraits<D>::from_float(in[j]);
        __stcs(reinterpret_cast<Vec*>(p), raw);  // streaming (H100 KB84 fp16 1.70 -> 1.62 ms): L2 keeps the input
    }
    // Through L2 only where the copy is 16 bytes (H200 KB84 bf16 1.23 ms vs 1.25 through L1, mbv2_56 0.029 vs
    // 0.035, convnext7 fp32 0.46 vs 0.50); cp.async copies 8 bytes through L1 only.
    static __device__ __forceinline__ void copy(Vec* target, const T* source, bool valid) {
        if constexpr (sizeof(Vec) == 16) {
            copy_16_async<L1Policy::kBypass>(target, source, valid);
        } else {
            copy_async<sizeof(Vec)>(target, source, valid);
        }
    }
};

// How much of the output one thread holds: M output rows (those one input row feeds) x kCols columns x V
// channels of accumulators, within about 64 registers, and a window of kWindow input vectors per row, within
// about 48 registers and small enough that two rows of windows fit in shared memory beside the filter slice.
template <DType D, int K, int S>
struct StripShape {
    using Staging = FilterStaging<D, K, S>;
    static constexpr int V = Staging::V;
    static constexpr int kSharedBytes = 48 * 1024;
    static constexpr int kTapBytes =
        K * K * Staging::Slice::kRow * static_cast<int>(sizeof(typename Staging::TapT));
    static constexpr int kWindowRowBytes = kNhwcVecThreads * kVectorBytes<D, K>;  // a window vector of every thread
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
    static constexpr int kMaxRingRows = sizeof(typename Staging::T) == 4 ? 2 : 4;
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
    using Io = VectorIo<D, K>;
    using T = typename Io::T;
    constexpr int V = Io::V;
    using Shape = StripShape<D, K, S>;
    using Staging = typename Shape::Staging;
    constexpr int M = Shape::M;
    constexpr int kCols = Shape::kCols;
    constexpr int kWindow = Shape::kWindow;
    constexpr int kRingRows = Shape::kRingRows;
    __shared__ __align__(16) typename Staging::TapT taps[K * K][Staging::Slice::kRow];
    // ring[t % kRingRows][j][thread]: window vector j of the thread's input row t, copied by the thread itself.
    __shared__ typename Io::Vec ring[kRingRows][kWindow][kNhwcVecThreads];

    const int64_t c_begin = static_cast<int64_t>(blockIdx.y) * grid.vectors_per_block * V;
    stage_filter_taps<D, K, typename Staging::Slice>(prm, c_begin, grid.vectors_per_block * V, taps);
    StripThread place;
    if (!place_strip_thread<V>(grid, blockIdx.x, c_begin, prm.c, &place)) return;
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
    // Step i loads input rows S * (oh_begin + i) + u - pad_h (u < S); such a row contributes filter row S * j + u
    // to output row oh_begin + i - j, which accumulates in acc[(i - j) mod M]. After step i the slot of output
    // row oh_begin + i - (M - 1) is complete: it is stored and cleared for the row that starts at step i + 1.
    // Steps run in groups of M, so every slot index is a compile-time constant and no accumulator moves.
    float acc[M][kCols][V];
#pragma unroll
    for (int j = 0; j < M; ++j)
#pragma unroll
        for (int t = 0; t < kCols; ++t)
#pragma unroll
            for (int e = 0; e < V; ++e) acc[j][t][e] = 0.0f;

    const int64_t steps = oh_end + M - 1 - oh_begin;
    // Rows are fetched in order, so the next row's pointer and index advance by one row a fetch instead of being
    // recomputed from 64-bit products (they were a fifth of the 2-byte 3 x 3 loop's instructions).
    int64_t fetch_t = 0;
    int64_t fetch_ih = S * oh_begin - prm.pad_h;
    const T* fetch_row = x + fetch_ih * prm.x_stride[kH];
    const int64_t rows = S * steps;  // input rows the band reads
    const auto fetch = [&]() {  // starts the copies of input row fetch_t of the band into its ring slot
        const bool row_ok = fetch_t < rows && static_cast<uint64_t>(fetch_ih) < static_cast<uint64_t>(prm.h);
        const T* source = fetch_row;
#pragma unroll
        for (int j = 0; j < kWindow; ++j) {
            const bool valid = row_ok && col_ok[j];
            Io::copy(&ring[fetch_t % kRingRows][j][threadIdx.x], valid ? source : static_cast<const T*>(prm.x),
                     valid);
            source += prm.x_stride[kW];
        }
        commit_copies();  // one group per row, empty past the band, so that the wait below counts rows
        ++fetch_t;
        ++fetch_ih;
        fetch_row += prm.x_stride[kH];
    };
#pragma unroll
    for (int t = 0; t < kRingRows - 1; ++t) fetch();
    // Offset in y of the strip's first column in the output row the next step completes.
    int64_t out_row = n * prm.y_stride[kN] + (oh_begin - (M - 1)) * prm.y_stride[kH] + ow0 * prm.y_stride[kW] + c;

    for (int64_t group = 0; group < steps; group += M) {
#pragma unroll
        for (int phase = 0; phase < M; ++phase) {
            const int64_t step = group + phase;
            if (step >= steps) break;
#pragma unroll
            for (int u = 0; u < S; ++u) {
                const int64_t t = S * step + u;
                wait_copies<kRingRows - 2>();  // row t has landed; later rows may still be in flight
                float window[kWindow][V];
#pragma unroll
                for (int j = 0; j < kWindow; ++j) widen_vector<D>(ring[t % kRingRows][j][threadIdx.x], window[j]);
                fetch();  // row t + kRingRows - 1, into the slot row t - 1 used, which this thread has read
#pragma unroll
                for (int j = 0; j < M; ++j) {
                    const int r = S * j + u;
                    if (r >= K) continue;
                    float(&sum)[kCols][V] = acc[(phase - j + M) % M];
#pragma unroll
                    for (int s = 0; s < K; ++s) {
                        float w[V];
                        load_tap<D, typename Staging::Slice>(taps[r * K + s], vec, w);
#pragma unroll
                        for (int t = 0; t < kCols; ++t)
#pragma unroll
                            for (int e = 0; e < V; ++e) sum[t][e] += window[t * S + s][e] * w[e];
                    }
                }
            }
            float(&done)[kCols][V] = acc[(phase + 1) % M];
            if (step >= M - 1) {  // output row oh_begin + step - (M - 1) is in the band
                int64_t offset = out_row;
#pragma unroll
                for (int t = 0; t < kCols; ++t) {
                    if (ow0 + t >= prm.q) break;
                    float out[V];
#pragma unroll
                    for (int e = 0; e < V; ++e) out[e] = epilogue<D, kFused>(prm, done[t][e], bias[e], offset + e);
                    Io::store(y + offset, out);
                    offset += prm.y_stride[kW];
                }
            }
            out_row += prm.y_stride[kH];
#pragma unroll
            for (int t = 0; t < kCols; ++t)
#pragma unroll
                for (int e = 0; e < V; ++e) done[t][e] = 0.0f;
        }
    }
    wait_copies<0>();  // the copies issued past the band (zero fills) complete before the ring goes away
}

int nhwc_vector_elems(DType dtype) {
    return dtype == DType::kFloat ? 4 : 8;
}

// Channel vectors split evenly over as few blocks as hold them (36 vectors: 2 x 18, not 32 + 4); bands as tall
// as kMaxBandRows while the launch has enough threads, shorter (more halo rows re-read) for small problems, down
// to min_band_rows.
template <typename Shape>
bool make_strip_grid(const DepthwiseParams& p, StripGrid* g, int64_t* channel_blocks) {
    constexpr int max_vectors_per_block = Shape::Staging::kVectors, cols_per_strip = Shape::kCols;
    const int64_t vectors = p.c / Shape::V;
    *channel_blocks = (vectors + max_vectors_per_block - 1) / max_vectors_per_block;
    g->vectors_per_block = static_cast<int>((vectors + *channel_blocks - 1) / *channel_blocks);
    g->strips_per_block = kNhwcVecThreads / g->vectors_per_block;
    g->col_strips = (p.q + cols_per_strip - 1) / cols_per_strip;
    const auto strips_with = [&](int64_t rows) { return p.n * ((p.p + rows - 1) / rows) * g->col_strips; };
    g->band_rows = kMaxBandRows;
    const int64_t min_rows = min_band_rows(Shape::M - 1);
    while (g->band_rows / 2 >= min_rows && strips_with(g->band_rows) * vectors < kEnoughThreads) g->band_rows /= 2;
    g->bands = (p.p + g->band_rows - 1) / g->band_rows;
    g->strips = strips_with(g->band_rows);
    const int64_t blocks = (g->strips + g->strips_per_block - 1) / g->strips_per_block;
    return blocks <= 0x7fffffff && *channel_blocks <= 65535;
}

template <DType D, int K, int S>
cudaError_t launch_with_stride(const DepthwiseParams& params, cudaStream_t stream) {
    using Shape = StripShape<D, K, S>;
    StripGrid grid;
    int64_t channel_blocks = 0;
    if (!make_strip_grid<Shape>(params, &grid, &channel_blocks)) {
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
