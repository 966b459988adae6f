// Large filters, stride 1: a block computes a 64 x 64 output tile of one (n, k) plane from an input tile staged
// once in shared memory as fp32 (zero outside x), so each input element is read from memory about once whatever
// the filter size. Each thread owns an 8-row x 4-column register tile; per input row and group of 4 taps it
// reads 8 inputs as two 16-byte shared loads and, for each of its rows that input row meets, 4 weights as one
// broadcast load, then does 16 FMAs: several FMAs per shared-memory wavefront, so arithmetic is the limit.
#include "kernels/common/epilogue.cuh"
#include "kernels/common/plane_tiles.cuh"
#include "kernels/forward/large_filter.h"

namespace dwshim {
namespace {

constexpr int kTile = 64;  // output rows and columns per block
constexpr int kRowsPerThread = 8;
constexpr int kColsPerThread = 4;
constexpr int kColGroups = kTile / kColsPerThread;
constexpr int kLargeFilterThreads = (kTile / kRowsPerThread) * kColGroups;
constexpr int kTapGroup = 4;
constexpr size_t kMaxSharedBytes = 48 * 1024;

int64_t round_up(int64_t v, int64_t m) {
    return (v + m - 1) / m * m;
}

// Shared memory: the input tile, rows of `pitch` floats (16-byte aligned, wide enough that every thread's
// last 8-value read stays inside its row), then the filter, rows of `taps` floats zero-padded to a multiple of 4.
struct SharedLayout {
    int taps, pitch, rows;
};

SharedLayout shared_layout(const DepthwiseParams& p) {
    SharedLayout l;
    l.taps = static_cast<int>(round_up(p.s, kTapGroup));
    l.pitch = kTile + l.taps;
    l.rows = kTile + static_cast<int>(p.r) - 1;
    return l;
}

size_t shared_bytes(const DepthwiseParams& p) {
    const SharedLayout l = shared_layout(p);
    return (static_cast<size_t>(l.rows) * l.pitch + static_cast<size_t>(p.r) * l.taps) * sizeof(float);
}

template <DType D, bool kFused>
__global__ void __launch_bounds__(kLargeFilterThreads)
    depthwise_large_filter_kernel(DepthwiseParams prm, PlaneGrid grid, SharedLayout layout) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    extern __shared__ float4 shared_storage[];
    float* tile_in = reinterpret_cast<float*>(shared_storage);
    float* weights = tile_in + layout.rows * layout.pitch;

    const PlaneTile tile = plane_tile(prm, grid);
    const int R = static_cast<int>(prm.r), S = static_cast<int>(prm.s);
    const int64_t oh0 = tile.band * kTile, ow0 = tile.col_block * kTile;
    const T* x = static_cast<const T*>(prm.x) + tile.n * prm.x_stride[kN] +
                 (tile.k / prm.multiplier) * prm.x_stride[kC];
    const int in_cols = kTile + S - 1;
    bool non_finite = false;
    for (int e = threadIdx.x; e < layout.rows * layout.pitch; e += kLargeFilterThreads) {
        const int i = e / layout.pitch, j = e % layout.pitch;
        const int64_t ih = oh0 - prm.pad_h + i, iw = ow0 - prm.pad_w + j;
        float v = 0.0f;
        if (j < in_cols && ih >= 0 && ih < prm.h && iw >= 0 && iw < prm.w) {
            v = Traits::load(x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW]);
        }
        non_finite |= !isfinite(v);
        tile_in[e] = v;
    }
    const T* filter = static_cast<const T*>(prm.filter) + tile.k * R * S;
    for (int e = threadIdx.x; e < R * layout.taps; e += kLargeFilterThreads) {
        const int r = e / layout.taps, s = e % layout.taps;
        const int tr = prm.flip ? R - 1 - r : r, ts = prm.flip ? S - 1 - s : s;
        weights[e] = s < S ? Traits::load(filter + tr * S + ts) : 0.0f;
    }
    // Both tiles are complete before any thread reads them. The tap groups' padding weights are zeros that meet
    // inputs outside an output's window: a tile holding an Inf or NaN is summed over the filter's own taps instead,
    // so that no NaN appears that the convolution does not have.
    const bool exact = __syncthreads_or(non_finite);

    const int col0 = (threadIdx.x % kColGroups) * kColsPerThread;
    const int row0 = (threadIdx.x / kColGroups) * kRowsPerThread;
    float acc[kRowsPerThread][kColsPerThread] = {};
    if (exact) {
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
            for (int c = 0; c < kColsPerThread; ++c)
                for (int r = 0; r < R; ++r)
                    for (int s = 0; s < S; ++s) {
                        acc[i][c] +=
                            tile_in[(row0 + i + r) * layout.pitch + col0 + c + s] * weights[r * layout.taps + s];
                    }
    }
    for (int j = 0; !exact && j < kRowsPerThread + R - 1; ++j) {
        const float* in_row = tile_in + (row0 + j) * layout.pitch + col0;
        for (int s0 = 0; s0 < layout.taps; s0 += kTapGroup) {
            const float4 lo = *reinterpret_cast<const float4*>(in_row + s0);
            const float4 hi = *reinterpret_cast<const float4*>(in_row + s0 + 4);
            const float window[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
            for (int i = 0; i < kRowsPerThread; ++i) {
                const int r = j - i;  // the filter row joining input row j to this thread's output row i
                if (r < 0 || r >= R) continue;
                const float4 w4 = *reinterpret_cast<const float4*>(weights + r * layout.taps + s0);
                const float w[kTapGroup] = {w4.x, w4.y, w4.z, w4.w};
#pragma unroll
                for (int c = 0; c < kColsPerThread; ++c)
#pragma unroll
                    for (int t = 0; t < kTapGroup; ++t) acc[i][c] += window[c + t] * w[t];
            }
        }
    }

    T* y = static_cast<T*>(prm.y);
    const int64_t y_plane = tile.n * prm.y_stride[kN] + tile.k * prm.y_stride[kC];
    const float bias = kFused ? bias_of<D>(prm, tile.k) : 0.0f;
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
        const int64_t oh = oh0 + row0 + i;
#pragma unroll
        for (int c = 0; c < kColsPerThread; ++c) {
            const int64_t ow = ow0 + col0 + c;
            if (oh < prm.p && ow < prm.q) {
                const int64_t offset = y_plane + oh * prm.y_stride[kH] + ow * prm.y_stride[kW];
                y[offset] = Traits::from_float(epilogue<D, kFused>(prm, acc[i][c], bias, offset));
            }
        }
    }
}

}  // namespace

bool large_filter_applies(const DepthwiseParams& p) {
    return (p.r > 7 || p.s > 7) && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 &&
           p.r <= 64 && p.s <= 64 && shared_bytes(p) <= kMaxSharedBytes;
}

template <DType D>
cudaError_t launch_depthwise_large_filter(const DepthwiseParams& params, cudaStream_t stream) {
    PlaneGrid grid;
    if (!make_plane_grid(params, kTile, kTile, &grid)) return cudaErrorInvalidConfiguration;
    const auto kernel = needs_fused_epilogue(params) ? depthwise_large_filter_kernel<D, true>
                                                     : depthwise_large_filter_kernel<D, false>;
    kernel<<<static_cast<unsigned>(grid.blocks), kLargeFilterThreads, shared_bytes(params), stream>>>(params, grid,
                                                                                          shared_layout(params));
    return cudaGetLastError();
}

template cudaError_t launch_depthwise_large_filter<DType::kFloat>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_large_filter<DType::kHalf>(const DepthwiseParams&, cudaStream_t);
template cudaError_t launch_depthwise_large_filter<DType::kBFloat16>(const DepthwiseParams&, cudaStream_t);

}  // namespace dwshim
