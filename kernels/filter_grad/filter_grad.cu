// The filter gradient dw[k][tap] = sum over n, p, q of dy[n][k][p][q] * x[n][k / multiplier][tap's input pixel],
// a reduction over N * P * Q per tap. Two launches, both in a fixed order, so the result is bitwise reproducible
// (no floating-point atomics anywhere):
//   1. partial sums: each image's output rows are cut into bands, the bands of all images into slices; a block
//      takes one slice of one channel (or of a set of channels), each thread accumulating its taps in registers
//      over its share of the slice, then the block adds its threads' sums in a fixed order into workspace
//      partial[slice][k][tap];
//   2. finalize (filter_grad/finalize.cu): per (k, tap), groups of slices added in a fixed order, then alpha, beta
//      and the dtype applied.
// Partial-sum kernels, chosen by filter and dy's layout so that a warp's loads are contiguous:
//   NHWC image tiles (2-byte, channels innermost in 16-byte vectors, 5x5 and 7x7 at stride 1, output rows of
//     at most 28 columns): a band of an image's rows in shared memory per block, filter rows across threads
//     (filter_grad/nhwc_images.cu);
//   NHWC ring (channels innermost; 3x3, 5x5, 7x7 at equal strides 1 or 2, no dilation, one filter per channel,
//     aligned channel vectors): channel vectors per lane fed through per-thread rings of asynchronous copies
//     (filter_grad/nhwc_ring.cu);
//   NHWC tiles (the same filters with a channel multiplier or 2-byte tensors at odd channel offsets): one channel
//     per lane over tiles of output rows and columns (filter_grad/nhwc.cu);
//   NCHW rows (rows contiguous, the same filters at stride 1): the plane strip's grid, warps walking runs of
//     rows with dy rows held in registers (filter_grad/nchw.cu);
//   plane strip (row-contiguous layouts such as NCHW, the same filters): one channel per block, lanes along the
//     output row; a thread takes one output column of a band of kBandRows rows and per filter column loads the
//     input column under the band once, feeding every tap of that column from registers (K * (kBandRows - 1) *
//     S + K loads for K * K * kBandRows products);
//   large filters (wider or taller than 7, stride 1): output tiles and the input under them staged in shared
//     memory, a tile of taps per thread (filter_grad/large_filter.cu), which hands fp16/bf16 filters of 13 x 13
//     to 32 x 32 to tensor cores on the same tiles (filter_grad/large_filter_toeplitz.cu);
//   generic (anything else), in the plane mapping or the channels mapping (32 channels per block, one per lane,
//     8 lanes of positions): one output position at a time, kGenericTaps taps per block.
#include "kernels/filter_grad/filter_grad.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/packed_nchw_copy.h"
#include "kernels/filter_grad/finalize.h"
#include "kernels/filter_grad/large_filter.h"
#include "kernels/filter_grad/nchw.h"
#include "kernels/filter_grad/nhwc.h"
#include "kernels/filter_grad/partials.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kTileChannels = 32;                         // channels mapping: one lane per channel
constexpr int kPositionLanes = kThreads / kTileChannels;  // channels mapping: lanes walking positions
constexpr int kGenericTaps = 16;                          // taps per block of the generic kernel
constexpr int kBandRows = 8;                              // strip kernel: output rows per thread item
constexpr int kReduceValues = 8;                          // sums reduced per round through shared memory
constexpr int kNarrowMaxBandRows = 64;                    // NCHW rows kernel, narrow rows: the longest band
constexpr int64_t kNarrowMinBlocks = 512;                 // ... and the fewest blocks its longer bands may leave

struct FilterGradGrid {
    bool channels = false;  // the channels mapping, else the plane mapping
    bool strip = false;     // the strip kernel, else the generic one
    bool rows = false;      // the strip's grid walked by the NCHW rows kernel (filter_grad/nchw.cu)
    int col_lanes = 32;     // plane mapping: lanes along an output row (32 to kThreads, a power of two)
    int band_rows = 1;      // output rows per band
    int64_t bands_per_image = 0;
    int64_t groups = 0;  // channel sets: k (plane) or ceil(k / 32) (channels)
    int64_t tap_chunks = 1;
    int64_t slices = 1;
    int64_t bands_per_slice = 1;
};

}  // namespace

bool filter_grad_strip_applies(const DepthwiseParams& p) {
    const bool size = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    const bool stride = p.stride_h == p.stride_w && (p.stride_h == 1 || p.stride_h == 2);
    // The strip kernel counts rows, bands and columns in 32-bit integers.
    const bool fits = p.n * p.p < (int64_t{1} << 30) && p.h < (int64_t{1} << 30) && p.w < (int64_t{1} << 30);
    return size && stride && p.dil_h == 1 && p.dil_w == 1 && fits;
}

namespace {

// A function of the sizes and dy's layout only: the workspace query and the launch agree.
FilterGradGrid make_grid(const DepthwiseParams& p) {
    FilterGradGrid g;
    g.channels = p.y_stride[kC] < p.y_stride[kW];
    g.strip = !g.channels && filter_grad_strip_applies(p);
    g.rows = !g.channels && filter_grad_nchw_rows_applies(p);  // also asymmetric filters the strip kernel lacks
    while (g.col_lanes < kThreads && g.col_lanes < p.q) g.col_lanes *= 2;
    g.band_rows = g.strip || g.rows ? kBandRows : 1;
    g.groups = g.channels ? (p.k + kTileChannels - 1) / kTileChannels : p.k;
    g.tap_chunks = g.strip || g.rows ? 1 : (p.r * p.s + kGenericTaps - 1) / kGenericTaps;
    const int64_t block_bands = g.rows ? filter_grad_nchw_rows_block_bands(p) : 1;
    FilterGradSlices slices = make_filter_grad_slices(p, g.band_rows, g.groups * g.tap_chunks, block_bands);
    // Narrow rows take band_rows + KH - 1 steps a band (7x7 on bands of 8: 14 steps for 8 rows): longer bands,
    // up to the plane's height, while the grid keeps kNarrowMinBlocks blocks.
    while (g.rows && filter_grad_nchw_rows_long_bands(p) && g.band_rows < kNarrowMaxBandRows && g.band_rows < p.p) {
        const int longer = static_cast<int>(std::min<int64_t>(2 * g.band_rows, p.p));
        const FilterGradSlices longer_slices = make_filter_grad_slices(p, longer, g.groups, block_bands);
        if (g.groups * longer_slices.slices < kNarrowMinBlocks) break;
        g.band_rows = longer;
        slices = longer_slices;
    }
    g.bands_per_image = slices.bands_per_image;
    g.bands_per_slice = slices.bands_per_slice;
    g.slices = slices.slices;
    return g;
}

// Calls body(band, ow) for this thread's share of the slice's (band, output column) items: in the plane mapping
// lanes along the columns and rows of lanes along the bands; in the channels mapping the items in (band,
// column) order, every kPositionLanes-th one per lane.
template <bool kChannels, typename Body>
__device__ __forceinline__ void for_each_item(const FilterGradGrid& grid, int64_t q, int64_t band_begin,
                                              int64_t band_end, Body&& body) {
    const int tid = threadIdx.x;
    if (kChannels) {
        int64_t band = band_begin, ow = tid / kTileChannels;
        while (ow >= q) {
            ow -= q;
            ++band;
        }
        while (band < band_end) {
            body(band, ow);
            ow += kPositionLanes;
            while (ow >= q) {
                ow -= q;
                ++band;
            }
        }
    } else {
        const int band_lanes = kThreads / grid.col_lanes;
        for (int64_t band = band_begin + tid / grid.col_lanes; band < band_end; band += band_lanes) {
            for (int64_t ow = tid % grid.col_lanes; ow < q; ow += grid.col_lanes) body(band, ow);
        }
    }
}

// Adds each of a thread's kValues sums over the threads of its channel, in a fixed order (plane mapping: a warp
// butterfly, then the warps in order; channels mapping: the kPositionLanes lanes of the channel in order), and
// writes partial[(slice * k + channel) * taps + first_tap + v] for the taps that exist. `group` is the block's
// channel set (one channel in the plane mapping, kTileChannels in the channels mapping).
template <int kValues, bool kChannels>
__device__ __forceinline__ void store_block_sums(const DepthwiseParams& p, const float (&acc)[kValues], int64_t group,
                                                 int64_t first_tap, float* partial) {
    __shared__ float sums[kReduceValues][kThreads];
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int64_t taps = p.r * p.s;
    const int64_t channel = kChannels ? group * kTileChannels + lane : group;
#pragma unroll
    for (int base = 0; base < kValues; base += kReduceValues) {
#pragma unroll
        for (int v = 0; v < kReduceValues; ++v) {
            if (base + v >= kValues) break;
            float x = acc[base + v];
            if (!kChannels) {
                for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
            }
            sums[v][tid] = x;
        }
        __syncthreads();  // every thread's sums of this round are in place
        // Thread (v = warp, lane) adds value v of channel lane (plane mapping: lane 0 only) over the warps.
        const int64_t tap = first_tap + base + warp;
        if (base + warp < kValues && (kChannels || lane == 0) && channel < p.k && tap < taps) {
            float total = 0.0f;
            for (int w = 0; w < kWarps; ++w) total += sums[warp][w * 32 + lane];
            partial[(static_cast<int64_t>(blockIdx.y) * p.k + channel) * taps + tap] = total;
        }
        __syncthreads();  // read before the next round overwrites it
    }
}

template <DType D, int K, int S>
__global__ void __launch_bounds__(kThreads)
    filter_grad_strip_kernel(DepthwiseParams prm, FilterGradGrid grid, float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int V = kBandRows;
    constexpr int L = (V - 1) * S + K;  // input rows under a band of V output rows
    static_assert(L <= 32, "row masks are 32-bit");
    const int64_t k = blockIdx.x;
    float acc[K * K];
#pragma unroll
    for (int u = 0; u < K * K; ++u) acc[u] = 0.0f;
    const int64_t band_begin = blockIdx.y * grid.bands_per_slice;
    const int64_t band_end = min(prm.n * grid.bands_per_image, band_begin + grid.bands_per_slice);
    if (k < prm.k) {
        const T* x_plane = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
        const T* dy_plane = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
        const int bands_per_image = static_cast<int>(grid.bands_per_image);
        const int h = static_cast<int>(prm.h), w = static_cast<int>(prm.w), p = static_cast<int>(prm.p);
        for_each_item<false>(grid, prm.q, band_begin, band_end, [&](int64_t band, int64_t ow) {
            const int n = static_cast<int>(band) / bands_per_image;
            const int oh0 = (static_cast<int>(band) - n * bands_per_image) * V;
            const T* dy_column = dy_plane + n * prm.y_stride[kN] + ow * prm.y_stride[kW];
            float g[V];
#pragma unroll
            for (int j = 0; j < V; ++j) {
                g[j] = oh0 + j < p ? Traits::load(dy_column + (oh0 + j) * prm.y_stride[kH]) : 0.0f;
            }
            const int ih0 = oh0 * S - static_cast<int>(prm.pad_h);
            unsigned rows_inside = 0;
#pragma unroll
            for (int j = 0; j < L; ++j) {
                rows_inside |= (static_cast<unsigned>(ih0 + j) < static_cast<unsigned>(h) ? 1u : 0u) << j;
            }
            const T* x_image = x_plane + n * prm.x_stride[kN];
#pragma unroll
            for (int fs = 0; fs < K; ++fs) {
                const int iw = static_cast<int>(ow) * S - static_cast<int>(prm.pad_w) + fs;
                if (static_cast<unsigned>(iw) >= static_cast<unsigned>(w)) continue;
                const T* x_column = x_image + iw * prm.x_stride[kW];
                float column[L];
#pragma unroll
                for (int j = 0; j < L; ++j) {
                    column[j] = (rows_inside >> j) & 1u ? Traits::load(x_column + (ih0 + j) * prm.x_stride[kH]) : 0.0f;
                }
#pragma unroll
                for (int fr = 0; fr < K; ++fr)
#pragma unroll
                    for (int j = 0; j < V; ++j) acc[fr * K + fs] += g[j] * column[j * S + fr];
            }
        });
    }
    store_block_sums<K * K, false>(prm, acc, blockIdx.x, 0, partial);
}

// The taps a block of the generic kernel accumulates: kGenericTaps consecutive ones of the r x s filter.
struct GenericTaps {
    int fr[kGenericTaps], fs[kGenericTaps];
    bool used[kGenericTaps];
    __device__ __forceinline__ GenericTaps(const DepthwiseParams& p, int64_t chunk) {
#pragma unroll
        for (int u = 0; u < kGenericTaps; ++u) {
            const int64_t t = chunk * kGenericTaps + u;
            fr[u] = static_cast<int>(t / p.s);
            fs[u] = static_cast<int>(t % p.s);
            used[u] = t < p.r * p.s;
        }
    }
};

template <DType D, bool kChannels>
__global__ void __launch_bounds__(kThreads)
    filter_grad_generic_kernel(DepthwiseParams prm, FilterGradGrid grid, float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    const int tid = threadIdx.x;
    const int64_t group = blockIdx.x / grid.tap_chunks;
    const int64_t chunk = blockIdx.x % grid.tap_chunks;
    const int64_t k = kChannels ? group * kTileChannels + tid % kTileChannels : group;
    const GenericTaps taps(prm, chunk);
    float acc[kGenericTaps];
#pragma unroll
    for (int u = 0; u < kGenericTaps; ++u) acc[u] = 0.0f;
    const int64_t band_begin = blockIdx.y * grid.bands_per_slice;
    const int64_t band_end = min(prm.n * grid.bands_per_image, band_begin + grid.bands_per_slice);
    if (k < prm.k) {
        const T* x_plane = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
        const T* dy_plane = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
        for_each_item<kChannels>(grid, prm.q, band_begin, band_end, [&](int64_t row, int64_t ow) {
            const int64_t n = row / prm.p, oh = row % prm.p;  // bands are single rows here
            const float g =
                Traits::load(dy_plane + n * prm.y_stride[kN] + oh * prm.y_stride[kH] + ow * prm.y_stride[kW]);
            const int64_t ih0 = oh * prm.stride_h - prm.pad_h;
            const int64_t iw0 = ow * prm.stride_w - prm.pad_w;
            const T* x_image = x_plane + n * prm.x_stride[kN];
#pragma unroll
            for (int u = 0; u < kGenericTaps; ++u) {
                const int64_t ih = ih0 + taps.fr[u] * prm.dil_h;
                const int64_t iw = iw0 + taps.fs[u] * prm.dil_w;
                if (taps.used[u] && ih >= 0 && ih < prm.h && iw >= 0 && iw < prm.w) {
                    acc[u] += g * Traits::load(x_image + ih * prm.x_stride[kH] + iw * prm.x_stride[kW]);
                }
            }
        });
    }
    store_block_sums<kGenericTaps, kChannels>(prm, acc, group, chunk * kGenericTaps, partial);
}

template <DType D, int K>
void launch_strip(const DepthwiseParams& p, const FilterGradGrid& grid, dim3 blocks, float* partial,
                  cudaStream_t stream) {
    if (p.stride_h == 1) {
        filter_grad_strip_kernel<D, K, 1><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    } else {
        filter_grad_strip_kernel<D, K, 2><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    }
}

// The plane strip kernel or the generic one; returns the slices written through *slices.
template <DType D>
cudaError_t launch_partial(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const FilterGradGrid grid = make_grid(p);
    if (grid.groups * grid.tap_chunks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const dim3 blocks(static_cast<unsigned>(grid.groups * grid.tap_chunks), static_cast<unsigned>(grid.slices));
    *slices = grid.slices;
    if (grid.rows) {
        const FilterGradSlicing slicing{grid.band_rows, grid.bands_per_image, grid.bands_per_slice, grid.slices};
        return filter_grad_nchw_rows(p, slicing, partial, stream);
    }
    if (!grid.strip) {
        if (grid.channels) {
            filter_grad_generic_kernel<D, true><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
        } else {
            filter_grad_generic_kernel<D, false><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
        }
    } else if (p.r == 3) {
        launch_strip<D, 3>(p, grid, blocks, partial, stream);
    } else if (p.r == 5) {
        launch_strip<D, 5>(p, grid, blocks, partial, stream);
    } else {
        launch_strip<D, 7>(p, grid, blocks, partial, stream);
    }
    return cudaGetLastError();
}

// Large filters on channels-last (or other not row-contiguous) tensors: x and dy are copied into packed NCHW after
// the partial sums in the workspace, where the large-filter kernel, which needs contiguous rows, reads them.
DepthwiseParams as_packed_nchw(const DepthwiseParams& p) {
    DepthwiseParams q = p;
    const int64_t x_sizes[4] = {p.n, p.c, p.h, p.w}, y_sizes[4] = {p.n, p.k, p.p, p.q};
    packed_nchw_strides(x_sizes, q.x_stride);
    packed_nchw_strides(y_sizes, q.y_stride);
    return q;
}

bool large_on_packed_copies_applies(const DepthwiseParams& p) {
    return !filter_grad_large_applies(p) && filter_grad_large_filter_applies(p);
}

// Workspace regions: partial sums, then the copies of x and dy, each starting 256-byte aligned.
struct PackedCopyRegions {
    size_t partial_bytes = 0, x_bytes = 0, y_bytes = 0;
};

PackedCopyRegions packed_copy_regions(const DepthwiseParams& packed) {
    const auto aligned = [](int64_t bytes) { return static_cast<size_t>((bytes + 255) / 256 * 256); };
    const int64_t element = static_cast<int64_t>(dtype_bytes(packed.dtype));
    PackedCopyRegions r;
    r.partial_bytes = aligned(filter_grad_large_slices(packed) * packed.k * packed.r * packed.s * 4);
    r.x_bytes = aligned(packed.n * packed.c * packed.h * packed.w * element);
    r.y_bytes = aligned(packed.n * packed.k * packed.p * packed.q * element);
    return r;
}

cudaError_t large_on_packed_copies(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    DepthwiseParams packed = as_packed_nchw(p);
    const PackedCopyRegions regions = packed_copy_regions(packed);
    char* const base = reinterpret_cast<char*>(partial);
    packed.x = base + regions.partial_bytes;
    packed.y = base + regions.partial_bytes + regions.x_bytes;
    const int64_t x_sizes[4] = {p.n, p.c, p.h, p.w}, y_sizes[4] = {p.n, p.k, p.p, p.q};
    cudaError_t status = copy_to_packed_nchw(p.dtype, x_sizes, p.x_stride, p.x, packed.x, stream);
    if (status == cudaSuccess) status = copy_to_packed_nchw(p.dtype, y_sizes, p.y_stride, p.y, packed.y, stream);
    return status == cudaSuccess ? filter_grad_large(packed, partial, slices, stream) : status;
}

template <DType D>
cudaError_t launch(const DepthwiseParams& p, float* partial, cudaStream_t stream) {
    int64_t slices = 0;
    const cudaError_t status =
        filter_grad_nhwc_images_aligned(p)  ? filter_grad_nhwc_images(p, partial, &slices, stream)
        : filter_grad_nhwc_ring_aligned(p)  ? filter_grad_nhwc_ring(p, partial, &slices, stream)
        : filter_grad_nhwc_tiles_apply(p)   ? filter_grad_nhwc_tiles(p, partial, &slices, stream)
        : filter_grad_large_applies(p)      ? filter_grad_large(p, partial, &slices, stream)
        : large_on_packed_copies_applies(p) ? large_on_packed_copies(p, partial, &slices, stream)
                                            : launch_partial<D>(p, partial, &slices, stream);
    return status == cudaSuccess ? filter_grad_finalize(p, slices, partial, stream) : status;
}

}  // namespace

bool filter_grad_large_filter_applies(const DepthwiseParams& params) {
    return filter_grad_large_applies(as_packed_nchw(params));
}

size_t filter_grad_workspace_bytes(const DepthwiseParams& params) {
    if (large_on_packed_copies_applies(params)) {
        const PackedCopyRegions regions = packed_copy_regions(as_packed_nchw(params));
        return regions.partial_bytes + regions.x_bytes + regions.y_bytes;
    }
    int64_t slices = filter_grad_nhwc_tiles_apply(params) ? filter_grad_nhwc_tiles_slices(params)
                     : filter_grad_large_applies(params)  ? filter_grad_large_slices(params)
                                                          : make_grid(params).slices;
    // The tensors' addresses, unknown to a workspace query, decide between the image-tile, ring and tile kernels.
    if (filter_grad_nhwc_ring_applies(params)) slices = std::max(slices, filter_grad_nhwc_ring_max_slices(params));
    if (filter_grad_nhwc_images_applies(params)) slices = std::max(slices, filter_grad_nhwc_images_slices(params));
    return static_cast<size_t>(slices * params.k * params.r * params.s) * sizeof(float);
}

cudaError_t depthwise_filter_grad(const DepthwiseParams& params, void* workspace, cudaStream_t stream) {
    float* partial = static_cast<float*>(workspace);
    if (partial == nullptr) return cudaErrorInvalidValue;
    return with_dtype(params.dtype, [&](auto d) { return launch<decltype(d)::value>(params, partial, stream); });
}

}  // namespace dwshim
