// Filter-gradient partial sums for channels-innermost data whose channel vectors are aligned (multiplier 1).
// A thread owns CV adjacent channels, RG consecutive filter rows and a strip of kCols output columns, and walks
// down a band of output rows. Per output row it reads the strip's dy vectors and, for each of its filter rows,
// the input row's window under the strip ((kCols - 1) * S + K vectors), and adds every product of the row into
// its RG x K x CV accumulators. Both arrive through a per-thread ring in shared memory, filled kAhead rows
// ahead by asynchronous copies that the thread alone issues and reads back, so no barrier is needed and DRAM
// latency is hidden without holding registers: the tile kernel that loaded its inputs straight into registers
// was latency-bound in 2-byte types (bench/NOTES.md g5: DRAM 16% busy, KB84 bf16 3.25 ms against a 1.0 ms floor).
// Lanes own consecutive channel vectors, so a warp's copies cover whole contiguous pixels and its shared-memory
// reads are conflict-free.
#include <algorithm>
#include <type_traits>

#include "async_copy.cuh"
#include "depthwise_backward.h"
#include "depthwise_filter_grad_nhwc.h"
#include "dtype_traits.cuh"

namespace dwshim {
namespace {

constexpr int kRingThreads = 128;
constexpr int kRingBytesPerThread = 384;  // 48 KiB of static shared memory per block, four blocks per SM
constexpr int kMaxVectorsPerBlock = 32;
constexpr int kReduceValues = 8;  // sums reduced per round through shared memory
constexpr int kMaxBandRows = 32;
constexpr int kMinBandRows = 8;
// Threads' worth of work below which bands are shortened to give the GPU more to run.
constexpr int64_t kEnoughTasks = int64_t{1} << 17;
constexpr int64_t kTargetBlocks = 2048;

// Channels per thread: as many as the accumulators allow (about 64 registers of them).
template <int K>
constexpr int kWideChannels = K == 3 ? 4 : 2;
// Channels per thread where the wide vector does not fit the layout: one 32-bit word.
template <typename T>
constexpr int kNarrowChannels = 4 / static_cast<int>(sizeof(T));

// The largest strip and the deepest ring (output rows in flight) within kRingBytesPerThread.
template <int K, int S, int kVectorBytes>
struct RingShape {
    static constexpr int RG = K == 7 ? 4 : K;  // filter rows per thread: 7x7 splits its rows over two threads
    static constexpr int kGroups = (K + RG - 1) / RG;
    static constexpr int bytes(int cols, int ahead) {
        return ((ahead * S + RG) * ((cols - 1) * S + K) + (ahead + 1) * cols) * kVectorBytes;
    }
    static constexpr int kCandidates[6][2] = {{4, 2}, {2, 2}, {4, 1}, {2, 1}, {1, 2}, {1, 1}};
    static constexpr int pick() {
        for (int i = 0; i < 6; ++i) {
            if (bytes(kCandidates[i][0], kCandidates[i][1]) <= kRingBytesPerThread) return i;
        }
        return 5;
    }
    static constexpr int kCols = kCandidates[pick()][0];
    static constexpr int kAhead = kCandidates[pick()][1];
    static constexpr int kWindow = (kCols - 1) * S + K;
    static constexpr int kXSlots = kAhead * S + RG;  // input rows alive: the current step's and those in flight
    static constexpr int kDySlots = kAhead + 1;
    static constexpr int kBytes = bytes(kCols, kAhead) * kRingThreads;
    static_assert(bytes(kCols, kAhead) <= kRingBytesPerThread, "ring does not fit");
    static_assert(kReduceValues * kRingThreads * 4 <= kBytes, "the reduction reuses the ring's memory");
};

template <int kBytes>
struct VectorOf;
template <>
struct VectorOf<4> {
    using Type = unsigned;
};
template <>
struct VectorOf<8> {
    using Type = uint2;
};
template <>
struct VectorOf<16> {
    using Type = uint4;
};

// CV channels packed in 32-bit words, widened to fp32. 2-byte values are unpacked with integer operations
// (element-wise __nv_bfloat16 conversions cost the tile kernel half its speed, NOTES g5).
template <DType D, int CV, typename Vec>
__device__ __forceinline__ void widen_channels(const Vec& raw, float (&out)[CV]) {
    const unsigned* words = reinterpret_cast<const unsigned*>(&raw);
    if constexpr (D == DType::kFloat) {
#pragma unroll
        for (int e = 0; e < CV; ++e) out[e] = __uint_as_float(words[e]);
    } else {
#pragma unroll
        for (int i = 0; i < CV / 2; ++i) {
            const unsigned word = words[i];  // element 2i in the low half
            if constexpr (D == DType::kBFloat16) {
                out[2 * i] = __uint_as_float(word << 16);
                out[2 * i + 1] = __uint_as_float(word & 0xffff0000u);
            } else {
                out[2 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(word & 0xffffu)));
                out[2 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(word >> 16)));
            }
        }
    }
}

struct RingGrid {
    int vectors = 1;     // channel vectors per block
    int item_lanes = 1;  // threads per channel vector and filter-row group
    int band_rows = kMaxBandRows;
    int bands_per_image = 1;
    int col_strips = 1;
    int64_t channel_blocks = 1;
    int64_t items = 0;  // (image, band, column strip) triples, in that order
    int64_t items_per_slice = 1;
    int64_t slices = 1;
};

template <int K, int S, int kVectorBytes>
RingGrid make_ring_grid(const DepthwiseParams& p, int cv) {
    using Shape = RingShape<K, S, kVectorBytes>;
    RingGrid g;
    const int64_t vectors = p.k / cv;
    g.channel_blocks = (vectors + kMaxVectorsPerBlock - 1) / kMaxVectorsPerBlock;
    g.vectors = static_cast<int>((vectors + g.channel_blocks - 1) / g.channel_blocks);
    g.item_lanes = std::max(1, kRingThreads / g.vectors / Shape::kGroups);
    g.col_strips = static_cast<int>((p.q + Shape::kCols - 1) / Shape::kCols);
    const auto items_with = [&](int rows) { return p.n * ((p.p + rows - 1) / rows) * g.col_strips; };
    while (g.band_rows > kMinBandRows && items_with(g.band_rows) * Shape::kGroups * vectors < kEnoughTasks) {
        g.band_rows /= 2;
    }
    g.bands_per_image = static_cast<int>((p.p + g.band_rows - 1) / g.band_rows);
    g.items = items_with(g.band_rows);
    // Enough slices for about kTargetBlocks blocks, each thread with an item at least, and partial sums (read
    // again by the finalize pass) within an eighth of the input's bytes.
    const int64_t partial_bytes = p.k * K * K * 4;
    const int64_t input_bytes = p.n * p.c * p.h * p.w * (kVectorBytes / cv);
    const int64_t by_blocks = (kTargetBlocks + g.channel_blocks - 1) / g.channel_blocks;
    const int64_t by_items = (g.items + g.item_lanes - 1) / g.item_lanes;
    const int64_t by_bytes = std::max<int64_t>(1, input_bytes / 8 / partial_bytes);
    const int64_t wanted = std::max<int64_t>(1, std::min({by_blocks, by_items, by_bytes}));
    g.items_per_slice = (g.items + wanted - 1) / wanted;
    g.slices = (g.items + g.items_per_slice - 1) / g.items_per_slice;
    return g;
}

template <DType D, int K, int S, int CV>
__global__ void __launch_bounds__(kRingThreads, 4)
    filter_grad_nhwc_ring_kernel(DepthwiseParams prm, RingGrid grid, float* partial) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kVectorBytes = CV * static_cast<int>(sizeof(T));
    using Vec = typename VectorOf<kVectorBytes>::Type;
    using Shape = RingShape<K, S, kVectorBytes>;
    constexpr int RG = Shape::RG, kCols = Shape::kCols, kWindow = Shape::kWindow, kAhead = Shape::kAhead;
    constexpr int kXSlots = Shape::kXSlots, kDySlots = Shape::kDySlots;
    __shared__ __align__(16) unsigned char shared[Shape::kBytes];
    // x_ring[slot][j][thread], dy_ring[slot][column][thread]: consecutive threads, consecutive vectors.
    auto x_ring = reinterpret_cast<Vec(*)[kWindow][kRingThreads]>(shared);
    auto dy_ring =
        reinterpret_cast<Vec(*)[kCols][kRingThreads]>(shared + kXSlots * kWindow * kRingThreads * sizeof(Vec));

    const int tid = threadIdx.x;
    const int vector = tid % grid.vectors, position = tid / grid.vectors;
    const int group = position % Shape::kGroups, item_lane = position / Shape::kGroups;
    const int fr0 = group * RG;
    const int64_t k0 = (static_cast<int64_t>(blockIdx.x) * grid.vectors + vector) * CV;
    float acc[RG][K][CV];
#pragma unroll
    for (int r = 0; r < RG; ++r)
#pragma unroll
        for (int s = 0; s < K; ++s)
#pragma unroll
            for (int e = 0; e < CV; ++e) acc[r][s][e] = 0.0f;

    const int64_t item_end = min(grid.items, (blockIdx.y + 1) * grid.items_per_slice);
    if (k0 < prm.k && item_lane < grid.item_lanes) {
        const T* x_channels = static_cast<const T*>(prm.x) + k0;
        const T* dy_channels = static_cast<const T*>(prm.y) + k0;
        for (int64_t item = blockIdx.y * grid.items_per_slice + item_lane; item < item_end; item += grid.item_lanes) {
            const int strip = static_cast<int>(item % grid.col_strips);
            const int64_t band_index = item / grid.col_strips;
            const int64_t n = band_index / grid.bands_per_image;
            const int oh0 = static_cast<int>(band_index % grid.bands_per_image) * grid.band_rows;
            const int rows = min(grid.band_rows, static_cast<int>(prm.p) - oh0);
            const int ow0 = strip * kCols;
            const int ih0 = oh0 * S - static_cast<int>(prm.pad_h) + fr0;  // input row of step 0's first filter row
            const int iw0 = ow0 * S - static_cast<int>(prm.pad_w);
            unsigned x_cols = 0, dy_cols = 0;  // which window and strip columns lie inside the image
#pragma unroll
            for (int j = 0; j < kWindow; ++j) x_cols |= (static_cast<unsigned>(iw0 + j) < prm.w ? 1u : 0u) << j;
#pragma unroll
            for (int c = 0; c < kCols; ++c) dy_cols |= (ow0 + c < prm.q ? 1u : 0u) << c;
            const T* x_image = x_channels + n * prm.x_stride[kN] + static_cast<int64_t>(iw0) * prm.x_stride[kW];
            const T* dy_image = dy_channels + n * prm.y_stride[kN] + static_cast<int64_t>(ow0) * prm.y_stride[kW];
            // Step j reads input rows t = j * S .. j * S + RG - 1 (from ih0) and dy row j; its copies are the
            // input rows no earlier step read and dy row j, one commit group per step (empty past the band).
            const auto fetch = [&](int j) {
                if (j < rows) {
                    const int first = j == 0 ? 0 : (j - 1) * S + RG;
                    const int count = j == 0 ? RG : S;
#pragma unroll
                    for (int u = 0; u < (RG > S ? RG : S); ++u) {
                        if (u >= count) break;
                        const int t = first + u;
                        const int ih = ih0 + t;
                        const bool row_ok = static_cast<unsigned>(ih) < prm.h;
                        const T* row = x_image + static_cast<int64_t>(ih) * prm.x_stride[kH];
#pragma unroll
                        for (int w = 0; w < kWindow; ++w) {
                            const bool valid = row_ok && ((x_cols >> w) & 1u);
                            copy_async<kVectorBytes>(&x_ring[t % kXSlots][w][tid],
                                                     valid ? row + w * prm.x_stride[kW] : prm.x, valid);
                        }
                    }
                    const T* dy_row = dy_image + static_cast<int64_t>(oh0 + j) * prm.y_stride[kH];
#pragma unroll
                    for (int c = 0; c < kCols; ++c) {
                        const bool valid = (dy_cols >> c) & 1u;
                        copy_async<kVectorBytes>(&dy_ring[j % kDySlots][c][tid],
                                                 valid ? dy_row + c * prm.y_stride[kW] : prm.y, valid);
                    }
                }
                commit_copies();
            };
#pragma unroll
            for (int j = 0; j <= kAhead; ++j) fetch(j);
            for (int j = 0; j < rows; ++j) {
                wait_copies<kAhead>();  // step j's group has landed; the kAhead after it may be in flight
                float g[kCols][CV];
#pragma unroll
                for (int c = 0; c < kCols; ++c) widen_channels<D, CV>(dy_ring[j % kDySlots][c][tid], g[c]);
#pragma unroll
                for (int r = 0; r < RG; ++r) {
                    if (fr0 + r >= K) break;
                    const int t = j * S + r;
                    float window[kWindow][CV];
#pragma unroll
                    for (int w = 0; w < kWindow; ++w) widen_channels<D, CV>(x_ring[t % kXSlots][w][tid], window[w]);
#pragma unroll
                    for (int s = 0; s < K; ++s)
#pragma unroll
                        for (int c = 0; c < kCols; ++c)
#pragma unroll
                            for (int e = 0; e < CV; ++e) acc[r][s][e] += g[c][e] * window[c * S + s][e];
                }
                // Into slots no later step reads before they land again; this step's reads are consumed above.
                fetch(j + kAhead + 1);
            }
        }
    }
    wait_copies<0>();
    __syncthreads();  // every thread is past its ring before the reduction reuses the memory
    // Adds each sum over the item lanes of its channel vector and row group in lane order, kReduceValues at a time.
    auto sums = reinterpret_cast<float(*)[kRingThreads]>(shared);
    constexpr int kValues = RG * K * CV;
    const int owners = grid.vectors * Shape::kGroups;
    const int64_t taps = K * K;
#pragma unroll
    for (int base = 0; base < kValues; base += kReduceValues) {
#pragma unroll
        for (int v = 0; v < kReduceValues; ++v) {
            if (base + v < kValues) sums[v][tid] = (&acc[0][0][0])[base + v];
        }
        __syncthreads();  // every thread's sums of this round are in place
        for (int o = tid; o < kReduceValues * owners; o += kRingThreads) {
            const int v = o / owners, owner = o % owners;
            const int owner_vector = owner % grid.vectors, owner_group = owner / grid.vectors;
            const int u = base + v;
            const int fr = owner_group * RG + u / (K * CV), fs = (u / CV) % K;
            const int64_t channel = (static_cast<int64_t>(blockIdx.x) * grid.vectors + owner_vector) * CV + u % CV;
            if (u >= kValues || fr >= K || channel >= prm.k) continue;
            float total = 0.0f;
            for (int l = 0; l < grid.item_lanes; ++l) {
                total += sums[v][(l * Shape::kGroups + owner_group) * grid.vectors + owner_vector];
            }
            partial[(static_cast<int64_t>(blockIdx.y) * prm.k + channel) * taps + fr * K + fs] = total;
        }
        __syncthreads();  // read before the next round overwrites it
    }
}

// Whether every pixel's cv channels are one vector in x and dy (channels and strides), and whether the tensors
// start on such a vector's alignment.
bool layout_fits(const DepthwiseParams& p, int cv) {
    const auto strides_fit = [cv](const int64_t (&s)[4]) {
        return s[kC] == 1 && s[kN] % cv == 0 && s[kH] % cv == 0 && s[kW] % cv == 0;
    };
    return p.k % cv == 0 && strides_fit(p.x_stride) && strides_fit(p.y_stride);
}

bool addresses_fit(const DepthwiseParams& p, int64_t vector_bytes) {
    const auto aligned = [vector_bytes](const void* ptr) {
        return reinterpret_cast<uintptr_t>(ptr) % static_cast<uintptr_t>(vector_bytes) == 0;
    };
    return aligned(p.x) && aligned(p.y);
}

template <DType D, int K, int S, int CV>
cudaError_t launch_ring(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    using T = typename DTypeTraits<D>::Storage;
    const RingGrid grid = make_ring_grid<K, S, CV * static_cast<int>(sizeof(T))>(p, CV);
    if (grid.channel_blocks > 0x7fffffff || grid.slices > 65535) return cudaErrorInvalidConfiguration;
    const dim3 blocks(static_cast<unsigned>(grid.channel_blocks), static_cast<unsigned>(grid.slices));
    filter_grad_nhwc_ring_kernel<D, K, S, CV><<<blocks, kRingThreads, 0, stream>>>(p, grid, partial);
    *slices = grid.slices;
    return cudaGetLastError();
}

template <DType D, int K, int S>
cudaError_t launch_vector(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kWide = kWideChannels<K>, kNarrow = kNarrowChannels<T>;
    if (layout_fits(p, kWide) && addresses_fit(p, kWide * sizeof(T))) {
        return launch_ring<D, K, S, kWide>(p, partial, slices, stream);
    }
    return launch_ring<D, K, S, kNarrow>(p, partial, slices, stream);
}

template <DType D, int K, int S>
int64_t max_slices(const DepthwiseParams& p) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kWide = kWideChannels<K>, kNarrow = kNarrowChannels<T>;
    constexpr int kSize = static_cast<int>(sizeof(T));
    return std::max(make_ring_grid<K, S, kWide * kSize>(p, kWide).slices,
                    make_ring_grid<K, S, kNarrow * kSize>(p, kNarrow).slices);
}

template <DType D>
using DTypeConstant = std::integral_constant<DType, D>;
template <int N>
using IntConstant = std::integral_constant<int, N>;

// Calls f(dtype, filter size, stride) with compile-time constants for the instantiated shapes.
template <typename F>
auto with_shape(const DepthwiseParams& p, F&& f) {
    const auto with_size = [&](auto dtype) {
        const auto with_stride = [&](auto k) {
            return p.stride_h == 1 ? f(dtype, k, IntConstant<1>{}) : f(dtype, k, IntConstant<2>{});
        };
        return p.r == 3 ? with_stride(IntConstant<3>{}) : p.r == 5 ? with_stride(IntConstant<5>{})
                                                                     : with_stride(IntConstant<7>{});
    };
    return p.dtype == DType::kHalf       ? with_size(DTypeConstant<DType::kHalf>{})
           : p.dtype == DType::kBFloat16 ? with_size(DTypeConstant<DType::kBFloat16>{})
                                         : with_size(DTypeConstant<DType::kFloat>{});
}

int64_t element_bytes(DType dtype) {
    return dtype == DType::kFloat ? 4 : 2;
}

}  // namespace

bool filter_grad_nhwc_ring_applies(const DepthwiseParams& p) {
    // Multiplier 1 and the narrow vector (one 32-bit word of channels) in the layout; the kernel counts rows and
    // columns in 32-bit integers.
    return p.multiplier == 1 && p.y_stride[kC] < p.y_stride[kW] && filter_grad_strip_applies(p) &&
           layout_fits(p, static_cast<int>(4 / element_bytes(p.dtype))) && p.h < (int64_t{1} << 30) &&
           p.w < (int64_t{1} << 30);
}

bool filter_grad_nhwc_ring_aligned(const DepthwiseParams& p) {
    return filter_grad_nhwc_ring_applies(p) && addresses_fit(p, 4);
}

int64_t filter_grad_nhwc_ring_max_slices(const DepthwiseParams& p) {
    return with_shape(p, [&](auto d, auto k, auto s) {
        return max_slices<decltype(d)::value, decltype(k)::value, decltype(s)::value>(p);
    });
}

cudaError_t filter_grad_nhwc_ring(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return with_shape(p, [&](auto d, auto k, auto s) {
        return launch_vector<decltype(d)::value, decltype(k)::value, decltype(s)::value>(p, partial, slices, stream);
    });
}

}  // namespace dwshim
