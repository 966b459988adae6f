// The filter gradient dw[k][tap] = sum over n, p, q of dy[n][k][p][q] * x[n][k / multiplier][tap's input pixel],
// a reduction over N * P * Q per tap. Two launches, both in a fixed order, so the result is bitwise reproducible
// (no floating-point atomics anywhere):
//   1. partial sums: the (n, p) rows of the output are cut into slices; a block takes one slice of one channel
//      (or of 32 channels) and a set of taps, each thread accumulating every tap of the set in registers over
//      its share of the slice, then the block adds its threads' sums in a fixed tree into workspace
//      partial[slice][k][tap];
//   2. finalize: one thread per (k, tap) adds the slices in order and applies alpha, beta and the dtype.
// Two ways to walk a slice, chosen by dy's layout so that a warp's loads are contiguous:
//   plane:    one channel per block, lanes along the output row (NCHW and other row-contiguous layouts);
//   channels: 32 channels per block, one per lane, 8 lanes of positions (channels innermost: NHWC).
// 3x3, 5x5 and 7x7 filters hold all their taps in registers (one block per channel set and slice); any other
// size takes its taps 16 at a time (one block per 16 taps).
#include "depthwise_backward.h"

#include <algorithm>

#include "dtype_traits.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 256;
constexpr int kTileChannels = 32;                             // channels mapping: one lane per channel
constexpr int kPositionLanes = kThreads / kTileChannels;      // channels mapping: lanes walking positions
constexpr int kGenericTaps = 16;                              // taps per block for sizes not instantiated
constexpr int64_t kTargetBlocks = 2048;                       // enough to fill any current GPU several times
constexpr int64_t kMinPositionsPerSlice = 1024;               // below this a slice's reduction costs too much

struct FilterGradGrid {
    bool channels = false;  // the channels mapping, else the plane mapping
    int col_lanes = 32;     // plane mapping: lanes along an output row (32 to kThreads, a power of two)
    int64_t groups = 0;     // channel sets: k (plane) or ceil(k / 32) (channels)
    int64_t tap_chunks = 1;
    int64_t slices = 1;
    int64_t rows_per_slice = 1;  // (n, p) output rows in a slice
};

bool instantiated(const DepthwiseParams& p) {
    return p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
}

// A function of the sizes and dy's layout only: the workspace query and the launch agree.
FilterGradGrid make_grid(const DepthwiseParams& p) {
    FilterGradGrid g;
    g.channels = p.y_stride[kC] < p.y_stride[kW];
    g.col_lanes = 32;  // a power of two, so that the block's threads make whole rows of lanes
    while (g.col_lanes < kThreads && g.col_lanes < p.q) g.col_lanes *= 2;
    g.groups = g.channels ? (p.k + kTileChannels - 1) / kTileChannels : p.k;
    g.tap_chunks = instantiated(p) ? 1 : (p.r * p.s + kGenericTaps - 1) / kGenericTaps;
    const int64_t rows = p.n * p.p;
    const int64_t by_work = std::max<int64_t>(1, rows * p.q / kMinPositionsPerSlice);
    const int64_t wanted = (kTargetBlocks + g.groups * g.tap_chunks - 1) / (g.groups * g.tap_chunks);
    const int64_t slices = std::max<int64_t>(1, std::min({wanted, rows, by_work}));
    g.rows_per_slice = (rows + slices - 1) / slices;
    g.slices = (rows + g.rows_per_slice - 1) / g.rows_per_slice;
    return g;
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

// Adds every tap's product for one output position (n, oh, ow) of channel k. kFixedSize > 0: all taps of a
// kFixedSize x kFixedSize filter, placed at compile time; 0: the block's generic taps.
template <DType D, int kFixedSize, int kTaps>
__device__ __forceinline__ void accumulate(const DepthwiseParams& p, const GenericTaps& taps,
                                           const typename DTypeTraits<D>::Storage* x_plane,
                                           const typename DTypeTraits<D>::Storage* dy_plane, int64_t n, int64_t oh,
                                           int64_t ow, float (&acc)[kTaps]) {
    using Traits = DTypeTraits<D>;
    const float g = Traits::load(dy_plane + n * p.y_stride[kN] + oh * p.y_stride[kH] + ow * p.y_stride[kW]);
    const int64_t ih0 = oh * p.stride_h - p.pad_h;
    const int64_t iw0 = ow * p.stride_w - p.pad_w;
    const auto* x_image = x_plane + n * p.x_stride[kN];
#pragma unroll
    for (int u = 0; u < kTaps; ++u) {
        const int fr = kFixedSize > 0 ? u / kFixedSize : taps.fr[u];
        const int fs = kFixedSize > 0 ? u % kFixedSize : taps.fs[u];
        const int64_t ih = ih0 + fr * p.dil_h;
        const int64_t iw = iw0 + fs * p.dil_w;
        if ((kFixedSize > 0 || taps.used[u]) && ih >= 0 && ih < p.h && iw >= 0 && iw < p.w) {
            acc[u] += g * Traits::load(x_image + ih * p.x_stride[kH] + iw * p.x_stride[kW]);
        }
    }
}

// kFixedSize > 0: a kFixedSize x kFixedSize filter, all taps in one block; 0: kGenericTaps taps per block.
template <DType D, int kFixedSize, bool kChannels>
__global__ void __launch_bounds__(kThreads)
    filter_grad_partial_kernel(DepthwiseParams prm, FilterGradGrid grid, float* partial) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr bool kFixed = kFixedSize > 0;
    constexpr int kTaps = kFixed ? kFixedSize * kFixedSize : kGenericTaps;
    __shared__ float sums[kThreads];

    const int64_t group = blockIdx.x / grid.tap_chunks;
    const int64_t chunk = blockIdx.x % grid.tap_chunks;
    const int64_t slice = blockIdx.y;
    const int tid = threadIdx.x;
    const int64_t k = kChannels ? group * kTileChannels + tid % kTileChannels : group;
    const GenericTaps taps(prm, kFixed ? 0 : chunk);
    float acc[kTaps];
#pragma unroll
    for (int u = 0; u < kTaps; ++u) acc[u] = 0.0f;

    const int64_t row_begin = slice * grid.rows_per_slice;
    const int64_t row_end = min(prm.n * prm.p, row_begin + grid.rows_per_slice);
    if (k < prm.k) {
        const T* x_plane = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
        const T* dy_plane = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
        if (kChannels) {
            // The slice's positions in (row, column) order, every kPositionLanes-th one per lane.
            int64_t row = row_begin, ow = tid / kTileChannels;
            while (ow >= prm.q) {
                ow -= prm.q;
                ++row;
            }
            int64_t n = row / prm.p, oh = row % prm.p;
            while (row < row_end) {
                accumulate<D, kFixedSize, kTaps>(prm, taps, x_plane, dy_plane, n, oh, ow, acc);
                ow += kPositionLanes;
                while (ow >= prm.q) {
                    ow -= prm.q;
                    ++row;
                    if (++oh == prm.p) {
                        oh = 0;
                        ++n;
                    }
                }
            }
        } else {
            const int row_lanes = kThreads / grid.col_lanes;
            for (int64_t row = row_begin + tid / grid.col_lanes; row < row_end; row += row_lanes) {
                const int64_t n = row / prm.p, oh = row % prm.p;
                for (int64_t ow = tid % grid.col_lanes; ow < prm.q; ow += grid.col_lanes) {
                    accumulate<D, kFixedSize, kTaps>(prm, taps, x_plane, dy_plane, n, oh, ow, acc);
                }
            }
        }
    }

    // Per tap, the threads of a channel add up in a fixed order: in the channels mapping the kPositionLanes
    // lanes of each channel in lane order; in the plane mapping a warp butterfly, then the warps in order.
    const int64_t taps_total = prm.r * prm.s;
#pragma unroll
    for (int u = 0; u < kTaps; ++u) {
        float v = acc[u];
        if (!kChannels) {
            for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
        }
        sums[tid] = v;
        __syncthreads();  // every thread's sum for tap u is in place
        const int64_t t = chunk * kTaps + u;
        if (kChannels && tid < kTileChannels && k < prm.k && t < taps_total) {
            float total = 0.0f;
            for (int lane = 0; lane < kPositionLanes; ++lane) total += sums[lane * kTileChannels + tid];
            partial[(slice * prm.k + k) * taps_total + t] = total;
        } else if (!kChannels && tid == 0 && k < prm.k && t < taps_total) {
            float total = 0.0f;
            for (int warp = 0; warp < kThreads / 32; ++warp) total += sums[warp * 32];
            partial[(slice * prm.k + k) * taps_total + t] = total;
        }
        __syncthreads();  // sums[] is read before the next tap overwrites it
    }
}

template <DType D>
__global__ void filter_grad_finalize_kernel(DepthwiseParams prm, int64_t slices, const float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    const int64_t taps_total = prm.r * prm.s;
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= prm.k * taps_total) return;
    float sum = 0.0f;
    for (int64_t slice = 0; slice < slices; ++slice) sum += partial[slice * prm.k * taps_total + i];
    // Partial sums are indexed by the tap's placement; true convolution stores the filter rotated.
    const int64_t k = i / taps_total, t = i % taps_total;
    const int64_t fr = t / prm.s, fs = t % prm.s;
    const int64_t stored = prm.flip ? (prm.r - 1 - fr) * prm.s + (prm.s - 1 - fs) : t;
    const int64_t offset = k * taps_total + stored;
    float v = prm.alpha * sum;
    if (prm.residual != nullptr) v += prm.residual_scale * Traits::load(static_cast<const T*>(prm.residual) + offset);
    static_cast<T*>(prm.filter)[offset] = Traits::from_float(v);
}

template <DType D, bool kChannels>
cudaError_t launch_partial(const DepthwiseParams& p, const FilterGradGrid& grid, float* partial,
                           cudaStream_t stream) {
    const dim3 blocks(static_cast<unsigned>(grid.groups * grid.tap_chunks), static_cast<unsigned>(grid.slices));
    if (!instantiated(p)) {
        filter_grad_partial_kernel<D, 0, kChannels><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    } else if (p.r == 3) {
        filter_grad_partial_kernel<D, 3, kChannels><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    } else if (p.r == 5) {
        filter_grad_partial_kernel<D, 5, kChannels><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    } else {
        filter_grad_partial_kernel<D, 7, kChannels><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    }
    return cudaGetLastError();
}

template <DType D>
cudaError_t launch(const DepthwiseParams& p, float* partial, cudaStream_t stream) {
    const FilterGradGrid grid = make_grid(p);
    if (grid.groups * grid.tap_chunks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const cudaError_t status = grid.channels ? launch_partial<D, true>(p, grid, partial, stream)
                                             : launch_partial<D, false>(p, grid, partial, stream);
    if (status != cudaSuccess) return status;
    constexpr int kFinalizeThreads = 128;
    const int64_t outputs = p.k * p.r * p.s;
    filter_grad_finalize_kernel<D><<<static_cast<unsigned>((outputs + kFinalizeThreads - 1) / kFinalizeThreads),
                                     kFinalizeThreads, 0, stream>>>(p, grid.slices, partial);
    return cudaGetLastError();
}

}  // namespace

size_t filter_grad_workspace_bytes(const DepthwiseParams& params) {
    return static_cast<size_t>(make_grid(params).slices * params.k * params.r * params.s) * sizeof(float);
}

cudaError_t depthwise_filter_grad(const DepthwiseParams& params, void* workspace, cudaStream_t stream) {
    float* partial = static_cast<float*>(workspace);
    if (partial == nullptr) return cudaErrorInvalidValue;
    switch (params.dtype) {
        case DType::kFloat:
            return launch<DType::kFloat>(params, partial, stream);
        case DType::kHalf:
            return launch<DType::kHalf>(params, partial, stream);
        case DType::kBFloat16:
            return launch<DType::kBFloat16>(params, partial, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
