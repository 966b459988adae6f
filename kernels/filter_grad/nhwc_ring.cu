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

#include "kernels/common/async_copy.cuh"
#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/filter_grad/filter_grad.h"
#include "kernels/filter_grad/nhwc.h"

namespace dwshim {
namespace {

constexpr int kRingThreads = 128;
constexpr int kRingBytesPerThread = 384;  // 48 KiB of static shared memory per block, four blocks per SM
constexpr int kMaxVectorsPerBlock = 32;
constexpr int kMinVectorsPerBlock = 8;
constexpr int64_t kEnoughBlocks = 256;  // about two blocks an SM of an H100 or H200
constexpr int kReduceValues = 8;  // sums reduced per round through shared memory
constexpr int kMaxBandRows = 32;
constexpr int kMinBandRows = 8;
// Threads' worth of work below which bands are shortened to give the GPU more to run.
constexpr int64_t kEnoughTasks = int64_t{1} << 17;
// Blocks the slicing aims at on large problems, from kLargeInputElements input elements, and on the input-row walk.
// Run 2026-12-05d: the dy-row walk's 512 blocks lost on KB84 (2^30 input elements; f32 2.35 -> 2.45 ms, f16 1.28 ->
// 1.32, bf16 1.23 -> 1.27) and won on convnext7 (2^25.6; f32 0.497 -> 0.463, 2-byte tied). Nothing between them
// was timed: the split is a guess between the two.
constexpr int64_t kLargeTargetBlocks = 2048;
constexpr int64_t kLargeInputElements = int64_t{1} << 28;

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
    // Blocks the slicing aims at below kLargeInputElements. Run 2026-12-04nn (H200, fp16/bf16 model layers,
    // dwshim-only GPU time) against 2048: every layer this walk takes was as fast or faster at 512 (stride 2:
    // c72_56x56_k5s2 bf16 0.0550 -> 0.0387 ms, c144_56x56_k5s2 0.0897 -> 0.0709, c96_112x112_k3s2 0.0744 -> 0.0685;
    // 3x3 at stride 1: c192_28x28_k3s1 0.0379 -> 0.0271, c144_56x56_k3s1 0.0643 -> 0.0550, c960_7x7_k3s1 0.0210 ->
    // 0.0176), the rest within 1%, while the input-row walk lost (InputRowShape); run 2026-12-05c confirmed it in
    // fp32 and bf16. Fewer, longer slices restart a thread's ring less often and leave the finalize pass fewer
    // partial sums.
    static constexpr int64_t kTargetBlocks = 512;
    static constexpr int kXSlots = kAhead * S + RG;  // input rows alive: the current step's and those in flight
    static constexpr int kDySlots = kAhead + 1;
    static constexpr int kBytes = bytes(kCols, kAhead) * kRingThreads;
    static_assert(bytes(kCols, kAhead) <= kRingBytesPerThread, "ring does not fit");
    static_assert(kReduceValues * kRingThreads * 4 <= kBytes, "the reduction reuses the ring's memory");
};

// The input-row walk (stride 1, 2-byte types from 5x5 on): a ring slot per filter row of the group, so that
// slot indices are compile-time constants within a group of RG steps; a strip of 4 output columns.
template <int K, int kVectorBytes>
struct InputRowShape {
    static constexpr int RG = K == 7 ? 4 : K;
    static constexpr int kGroups = (K + RG - 1) / RG;
    static constexpr int kCols = 4;
    static constexpr int kWindow = kCols + K - 1;
    static constexpr int kSlots = RG;
    // Run 2026-12-04nn: 512 blocks lost here (c384_14x14_k7s1 bf16 1.61x the time, c192_28x28_k7s1 1.50x,
    // c1152_7x7_k5s1 1.32x).
    static constexpr int64_t kTargetBlocks = kLargeTargetBlocks;
    static constexpr int kBytes = kSlots * (kWindow + kCols) * kVectorBytes * kRingThreads;
    static_assert(kBytes <= kRingBytesPerThread * kRingThreads, "ring does not fit");
    static_assert(kReduceValues * kRingThreads * 4 <= kBytes, "the reduction reuses the ring's memory");
};

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

// Shape: RingShape or InputRowShape (its strip width and filter-row groups); kVectorBytes: CV channels' bytes;
// at most max_vectors channel vectors a block.
template <int K, typename Shape, int kVectorBytes>
RingGrid ring_grid_with(const DepthwiseParams& p, int cv, int max_vectors) {
    RingGrid g;
    // At least one: the workspace query sizes every channel vector width, also those wider than k (3 fp32
    // channels, launched with vectors of 1), which then merely overestimate.
    const int64_t vectors = std::max<int64_t>(1, p.k / cv);
    g.channel_blocks = (vectors + max_vectors - 1) / max_vectors;
    g.vectors = static_cast<int>((vectors + g.channel_blocks - 1) / g.channel_blocks);
    g.item_lanes = std::max(1, kRingThreads / g.vectors / Shape::kGroups);
    g.col_strips = static_cast<int>((p.q + Shape::kCols - 1) / Shape::kCols);
    const auto items_with = [&](int rows) { return p.n * ((p.p + rows - 1) / rows) * g.col_strips; };
    while (g.band_rows > kMinBandRows && items_with(g.band_rows) * Shape::kGroups * vectors < kEnoughTasks) {
        g.band_rows /= 2;
    }
    g.bands_per_image = static_cast<int>((p.p + g.band_rows - 1) / g.band_rows);
    g.items = items_with(g.band_rows);
    // Enough slices for about the target's blocks, each thread with an item at least, and partial sums (read again by
    // the finalize pass) within an eighth of the input's bytes.
    const int64_t partial_bytes = p.k * K * K * 4;
    const int64_t input_elements = p.n * p.c * p.h * p.w;
    const int64_t input_bytes = input_elements * (kVectorBytes / cv);
    const int64_t target_blocks = input_elements >= kLargeInputElements ? kLargeTargetBlocks : Shape::kTargetBlocks;
    const int64_t by_blocks = (target_blocks + g.channel_blocks - 1) / g.channel_blocks;
    const int64_t by_items = (g.items + g.item_lanes - 1) / g.item_lanes;
    const int64_t by_bytes = std::max<int64_t>(1, input_bytes / 8 / partial_bytes);
    const int64_t wanted = std::max<int64_t>(1, std::min({by_blocks, by_items, by_bytes}));
    g.items_per_slice = (g.items + wanted - 1) / wanted;
    g.slices = (g.items + g.items_per_slice - 1) / g.items_per_slice;
    return g;
}

// kMaxVectorsPerBlock vectors a block, or for 3x3 and 7x7 filters fewer where that leaves the GPU short of blocks:
// small images (7 x 7, 14 x 14) have few items, so a block's threads walked many items each, one after another.
// Fewer vectors a block means more blocks and more threads on each vector's items. Run 2026-12-03c (H200,
// dwshim-only GPU time, ms): 7x7 wins (c768_7x7_k7s1 bf16 0.089 -> 0.042, fp32 0.095 -> 0.044; c384_14x14_k7s1 bf16
// 0.088 -> 0.052; c192_28x28_k7s1 bf16 0.087 -> 0.071), 5x5 mostly loses (c120_28x28_k5s1 bf16 0.037 -> 0.043,
// c480_14x14_k5s1 0.043 -> 0.050, c1152_7x7_k5s1 0.036 -> 0.039; c960_7x7_k5s1 0.035 -> 0.030). 3x3 with the
// dy-row walk's 512-block target, run 2026-12-05c: c960_7x7_k3s1 bf16 0.0210 -> 0.0152, c184_14x14_k3s1 bf16
// 0.0192 -> 0.0147, no model layer slower (0.98-1.5x in fp32 and bf16).
template <int K, typename Shape, int kVectorBytes>
RingGrid make_ring_grid(const DepthwiseParams& p, int cv) {
    RingGrid best = ring_grid_with<K, Shape, kVectorBytes>(p, cv, kMaxVectorsPerBlock);
    if constexpr (K != 5) {
        for (int max_vectors = kMaxVectorsPerBlock / 2; max_vectors >= kMinVectorsPerBlock; max_vectors /= 2) {
            if (best.channel_blocks * best.slices >= kEnoughBlocks) break;
            const RingGrid g = ring_grid_with<K, Shape, kVectorBytes>(p, cv, max_vectors);
            if (g.channel_blocks * g.slices > best.channel_blocks * best.slices) best = g;
        }
    }
    return best;
}

template <int RG, int K, int CV>
__device__ __forceinline__ void zero_accumulators(float (&acc)[RG][K][CV]) {
#pragma unroll
    for (int r = 0; r < RG; ++r)
#pragma unroll
        for (int s = 0; s < K; ++s)
#pragma unroll
            for (int e = 0; e < CV; ++e) acc[r][s][e] = 0.0f;
}

// The rings in a block's shared memory: x_ring[slot][j][thread], then dy_ring[slot][column][thread] after the
// input ring's x_slots slots; consecutive threads, consecutive vectors.
template <typename Vec, int kWindow>
__device__ __forceinline__ Vec (*input_ring(unsigned char* shared))[kWindow][kRingThreads] {
    return reinterpret_cast<Vec(*)[kWindow][kRingThreads]>(shared);
}

template <typename Vec, int kWindow, int kCols>
__device__ __forceinline__ Vec (*dy_ring_after(unsigned char* shared, int x_slots))[kCols][kRingThreads] {
    return reinterpret_cast<Vec(*)[kCols][kRingThreads]>(shared + x_slots * kWindow * kRingThreads * sizeof(Vec));
}

// A thread's channel vector (first channel k0), filter-row group and item lane in its block.
struct RingThread {
    int vector, group, item_lane;
    int64_t k0;
};

template <int kGroups, int CV>
__device__ __forceinline__ RingThread place_ring_thread(const RingGrid& grid) {
    const int tid = threadIdx.x;  // signed: unsigned division here costs the step loop 39 instructions (3x3 f16)
    RingThread t;
    t.vector = tid % grid.vectors;
    const int position = tid / grid.vectors;
    t.group = position % kGroups;
    t.item_lane = position / kGroups;
    t.k0 = (static_cast<int64_t>(blockIdx.x) * grid.vectors + t.vector) * CV;
    return t;
}

// One item (image, band, column strip): its first output row and column, its rows, the input row and column of
// its first filter row's window, and which window and strip columns lie inside the image.
struct RingItem {
    int64_t n;
    int oh0, rows, ow0, ih0, iw0;
    unsigned x_cols, dy_cols;
};

template <int S, int kWindow, int kCols>
__device__ __forceinline__ RingItem place_item(const DepthwiseParams& prm, const RingGrid& grid, int64_t item,
                                               int fr0) {
    RingItem it;
    const int strip = static_cast<int>(item % grid.col_strips);
    const int64_t band_index = item / grid.col_strips;
    it.n = band_index / grid.bands_per_image;
    it.oh0 = static_cast<int>(band_index % grid.bands_per_image) * grid.band_rows;
    it.rows = min(grid.band_rows, static_cast<int>(prm.p) - it.oh0);
    it.ow0 = strip * kCols;
    it.ih0 = it.oh0 * S - static_cast<int>(prm.pad_h) + fr0;
    it.iw0 = it.ow0 * S - static_cast<int>(prm.pad_w);
    it.x_cols = 0;
    it.dy_cols = 0;
#pragma unroll
    for (int j = 0; j < kWindow; ++j) it.x_cols |= (static_cast<unsigned>(it.iw0 + j) < prm.w ? 1u : 0u) << j;
#pragma unroll
    for (int c = 0; c < kCols; ++c) it.dy_cols |= (it.ow0 + c < prm.q ? 1u : 0u) << c;
    return it;
}

// Adds each sum over the item lanes of its channel vector and row group in lane order, kReduceValues at a time
// through `shared` (the ring's memory, which every thread of the block has left), and stores the block's partial
// sums for slice blockIdx.y.
template <int RG, int K, int CV, int kGroups>
__device__ __forceinline__ void store_partial_sums(const float (&acc)[RG][K][CV], const RingGrid& grid,
                                                   int64_t channels, unsigned char* shared, float* partial) {
    const int tid = threadIdx.x;
    auto sums = reinterpret_cast<float(*)[kRingThreads]>(shared);
    constexpr int kValues = RG * K * CV;
    const int owners = grid.vectors * kGroups;
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
            if (u >= kValues || fr >= K || channel >= channels) continue;
            float total = 0.0f;
            for (int l = 0; l < grid.item_lanes; ++l) {
                total += sums[v][(l * kGroups + owner_group) * grid.vectors + owner_vector];
            }
            partial[(static_cast<int64_t>(blockIdx.y) * channels + channel) * taps + fr * K + fs] = total;
        }
        __syncthreads();  // read before the next round overwrites it
    }
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
    const auto x_ring = input_ring<Vec, kWindow>(shared);
    const auto dy_ring = dy_ring_after<Vec, kWindow, kCols>(shared, kXSlots);

    const int tid = threadIdx.x;
    const RingThread me = place_ring_thread<Shape::kGroups, CV>(grid);
    const int fr0 = me.group * RG;
    float acc[RG][K][CV];
    zero_accumulators(acc);

    const int64_t item_end = min(grid.items, (blockIdx.y + 1) * grid.items_per_slice);
    if (me.k0 < prm.k && me.item_lane < grid.item_lanes) {
        const T* x_channels = static_cast<const T*>(prm.x) + me.k0;
        const T* dy_channels = static_cast<const T*>(prm.y) + me.k0;
        for (int64_t item = blockIdx.y * grid.items_per_slice + me.item_lane; item < item_end;
             item += grid.item_lanes) {
            const RingItem it = place_item<S, kWindow, kCols>(prm, grid, item, fr0);
            const int rows = it.rows, oh0 = it.oh0, ih0 = it.ih0;  // ih0: input row of step 0's first filter row
            const unsigned x_cols = it.x_cols, dy_cols = it.dy_cols;
            const T* x_image = x_channels + it.n * prm.x_stride[kN] + static_cast<int64_t>(it.iw0) * prm.x_stride[kW];
            const T* dy_image = dy_channels + it.n * prm.y_stride[kN] + static_cast<int64_t>(it.ow0) * prm.y_stride[kW];
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
                for (int c = 0; c < kCols; ++c) widen_vector<D>(dy_ring[j % kDySlots][c][tid], g[c]);
#pragma unroll
                for (int r = 0; r < RG; ++r) {
                    if (fr0 + r >= K) break;
                    const int t = j * S + r;
                    float window[kWindow][CV];
#pragma unroll
                    for (int w = 0; w < kWindow; ++w) widen_vector<D>(x_ring[t % kXSlots][w][tid], window[w]);
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
    store_partial_sums<RG, K, CV, Shape::kGroups>(acc, grid, prm.k, shared, partial);
}

// Stride 1, 2-byte types from 5x5 on, where the kernel above is issue-bound (it widens each input row once for
// every filter row that reads it: 80 of its ~650 instructions per step at 7x7, bench/NOTES.md g6). Here step t
// brings input row t and dy row t, each widened once: input row t meets dy row t - r through filter row fr0 + r,
// so the thread keeps the last RG dy rows in registers (g[(t - r) mod RG]) and walks RG + rows - 1 input rows
// per item; dy rows outside the band are zeros (a zero-filled copy, or g as it starts), so the first and last
// steps need no conditions. Steps run in groups of RG, making ring slots and dy-row indices compile-time.
template <DType D, int K, int CV>
__global__ void __launch_bounds__(kRingThreads, 3)  // 168 registers: no spills (at 4 blocks, 128 and a stack)
    filter_grad_nhwc_input_rows_kernel(DepthwiseParams prm, RingGrid grid, float* partial) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kVectorBytes = CV * static_cast<int>(sizeof(T));
    using Vec = typename VectorOf<kVectorBytes>::Type;
    using Shape = InputRowShape<K, kVectorBytes>;
    constexpr int RG = Shape::RG, kCols = Shape::kCols, kWindow = Shape::kWindow, kSlots = Shape::kSlots;
    __shared__ __align__(16) unsigned char shared[Shape::kBytes];
    const auto x_ring = input_ring<Vec, kWindow>(shared);
    const auto dy_ring = dy_ring_after<Vec, kWindow, kCols>(shared, kSlots);

    const int tid = threadIdx.x;
    const RingThread me = place_ring_thread<Shape::kGroups, CV>(grid);
    const int fr0 = me.group * RG;
    float acc[RG][K][CV];
    zero_accumulators(acc);

    const int64_t item_end = min(grid.items, (blockIdx.y + 1) * grid.items_per_slice);
    if (me.k0 < prm.k && me.item_lane < grid.item_lanes) {
        const T* x_channels = static_cast<const T*>(prm.x) + me.k0;
        const T* dy_channels = static_cast<const T*>(prm.y) + me.k0;
        for (int64_t item = blockIdx.y * grid.items_per_slice + me.item_lane; item < item_end;
             item += grid.item_lanes) {
            const RingItem it = place_item<1, kWindow, kCols>(prm, grid, item, fr0);
            const int rows = it.rows, steps = it.rows + RG - 1, ih0 = it.ih0;  // ih0: input row of step 0
            const unsigned x_cols = it.x_cols, dy_cols = it.dy_cols;
            const T* x_row = x_channels + it.n * prm.x_stride[kN] + static_cast<int64_t>(it.iw0) * prm.x_stride[kW] +
                             static_cast<int64_t>(ih0) * prm.x_stride[kH];
            const T* dy_row = dy_channels + it.n * prm.y_stride[kN] + static_cast<int64_t>(it.ow0) * prm.y_stride[kW] +
                              static_cast<int64_t>(it.oh0) * prm.y_stride[kH];
            // Copies input row t and dy row t into slot t mod kSlots, one commit group per step (empty past the
            // item); rows are fetched in order, so the pointers advance a row per call.
            int fetched = 0;
            const auto fetch = [&]() {
                if (fetched < steps) {
                    const int slot = fetched % kSlots;
                    const bool x_ok = static_cast<unsigned>(ih0 + fetched) < prm.h;
                    const T* source = x_row;
#pragma unroll
                    for (int w = 0; w < kWindow; ++w) {
                        const bool valid = x_ok && ((x_cols >> w) & 1u);
                        copy_async<kVectorBytes>(&x_ring[slot][w][tid], source, valid);
                        source += prm.x_stride[kW];
                    }
                    const bool dy_ok = fetched < rows;
                    source = dy_row;
#pragma unroll
                    for (int c = 0; c < kCols; ++c) {
                        const bool valid = dy_ok && ((dy_cols >> c) & 1u);
                        copy_async<kVectorBytes>(&dy_ring[slot][c][tid], source, valid);
                        source += prm.y_stride[kW];
                    }
                    x_row += prm.x_stride[kH];
                    dy_row += prm.y_stride[kH];
                }
                commit_copies();
                ++fetched;
            };
#pragma unroll
            for (int t = 0; t < kSlots - 1; ++t) fetch();
            float g[RG][kCols][CV];
#pragma unroll
            for (int i = 0; i < RG; ++i)
#pragma unroll
                for (int c = 0; c < kCols; ++c)
#pragma unroll
                    for (int e = 0; e < CV; ++e) g[i][c][e] = 0.0f;
            for (int t0 = 0; t0 < steps; t0 += RG) {
#pragma unroll
                for (int phase = 0; phase < RG; ++phase) {
                    if (t0 + phase >= steps) break;
                    wait_copies<kSlots - 2>();  // step t0 + phase's group has landed
#pragma unroll
                    for (int c = 0; c < kCols; ++c) widen_vector<D>(dy_ring[phase][c][tid], g[phase][c]);
                    float window[kWindow][CV];
#pragma unroll
                    for (int w = 0; w < kWindow; ++w) widen_vector<D>(x_ring[phase][w][tid], window[w]);
                    fetch();  // into the slot the previous step used, which this thread has read
#pragma unroll
                    for (int r = 0; r < RG; ++r) {
                        if (fr0 + r >= K) break;
                        const float(&dy)[kCols][CV] = g[(phase - r + RG) % RG];
#pragma unroll
                        for (int s = 0; s < K; ++s)
#pragma unroll
                            for (int c = 0; c < kCols; ++c)
#pragma unroll
                                for (int e = 0; e < CV; ++e) acc[r][s][e] += dy[c][e] * window[c + s][e];
                    }
                }
            }
        }
    }
    wait_copies<0>();
    __syncthreads();  // every thread is past its ring before the reduction reuses the memory
    store_partial_sums<RG, K, CV, Shape::kGroups>(acc, grid, prm.k, shared, partial);
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

// Which walk a shape takes: input rows (stride 1, 2-byte types, 5x5 and 7x7) or dy rows.
template <DType D, int K, int S>
constexpr bool kWalksInputRows = S == 1 && K >= 5 && D != DType::kFloat;

template <DType D, int K, int S, int CV>
using ShapeOf = std::conditional_t<kWalksInputRows<D, K, S>,
                                   InputRowShape<K, CV * static_cast<int>(sizeof(typename DTypeTraits<D>::Storage))>,
                                   RingShape<K, S, CV * static_cast<int>(sizeof(typename DTypeTraits<D>::Storage))>>;

template <DType D, int K, int S, int CV>
RingGrid grid_for(const DepthwiseParams& p) {
    return make_ring_grid<K, ShapeOf<D, K, S, CV>, CV * static_cast<int>(sizeof(typename DTypeTraits<D>::Storage))>(
        p, CV);
}

template <DType D, int K, int S, int CV>
cudaError_t launch_ring(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const RingGrid grid = grid_for<D, K, S, CV>(p);
    if (grid.channel_blocks > 0x7fffffff || grid.slices > 65535) return cudaErrorInvalidConfiguration;
    const dim3 blocks(static_cast<unsigned>(grid.channel_blocks), static_cast<unsigned>(grid.slices));
    if constexpr (kWalksInputRows<D, K, S>) {
        filter_grad_nhwc_input_rows_kernel<D, K, CV><<<blocks, kRingThreads, 0, stream>>>(p, grid, partial);
    } else {
        filter_grad_nhwc_ring_kernel<D, K, S, CV><<<blocks, kRingThreads, 0, stream>>>(p, grid, partial);
    }
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
    return std::max(grid_for<D, K, S, kWide>(p).slices, grid_for<D, K, S, kNarrow>(p).slices);
}

// f(dtype, filter size, stride) with compile-time constants for the instantiated shapes; `unknown` for an
// unknown dtype.
template <typename R, typename F>
R with_shape(const DepthwiseParams& p, R unknown, F&& f) {
    return with_dtype_or(p.dtype, unknown, [&](auto dtype) {
        return with_filter_size(p.r, [&](auto k) {
            return p.stride_h == 1 ? f(dtype, k, IntConstant<1>{}) : f(dtype, k, IntConstant<2>{});
        });
    });
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
    return with_shape(p, int64_t{0}, [&](auto d, auto k, auto s) {
        return max_slices<decltype(d)::value, decltype(k)::value, decltype(s)::value>(p);
    });
}

cudaError_t filter_grad_nhwc_ring(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return with_shape(p, cudaErrorInvalidValue, [&](auto d, auto k, auto s) {
        return launch_vector<decltype(d)::value, decltype(k)::value, decltype(s)::value>(p, partial, slices, stream);
    });
}

}  // namespace dwshim
