// Filter-gradient partial sums for channels-innermost data that the ring kernel does not take (a channel
// multiplier, or 2-byte tensors whose channels do not pair into aligned 32-bit words). A thread owns one channel
// and walks tiles of V output rows x QT output columns over its block's slice of bands. Per input column under a
// tile it loads the L input rows once and feeds every tap and output column that reads them from registers, so a
// tile costs ((QT - 1) * S + K) * L + V * QT loads for K * K * V * QT products. Lanes take consecutive channels,
// so each warp load covers contiguous channels of a pixel; position lanes take neighbouring tiles, whose shared
// input columns then hit in L1.
#include "kernels/filter_grad/nhwc.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/filter_grad/filter_grad.h"
#include "kernels/filter_grad/partials.cuh"

namespace dwshim {
namespace {

constexpr int kMaxThreads = 256;
constexpr int kMaxVectorsPerBlock = 64;  // channels side by side in a block
constexpr int kReduceValues = 8;         // sums reduced per round through shared memory

// Output rows and columns of a tile. Larger tiles load fewer input rows and columns twice (a tile reads
// ((QT - 1) * S + K) * ((V - 1) * S + K) input pixels for V * QT outputs): with 4 x 2 tiles at stride 1 the
// kernel was bound by L2 throughput (81% of peak, KB84 fp32 NHWC 3.34 ms under ncu, H200).
constexpr int tile_rows(int stride) {
    return stride == 1 ? 8 : 4;
}
// As wide as the registers allow without spilling (ptxas, sm_90, at most 128 registers a thread).
constexpr int tile_cols(int k, int stride) {
    return stride == 2 || k == 7 ? 2 : 4;
}

// Within about 100 registers of accumulators, dy values and one input column.
template <int K, int S>
struct TileShape {
    static constexpr int V = tile_rows(S), QT = tile_cols(K, S);
    static constexpr int L = (V - 1) * S + K;    // input rows under the tile
    static constexpr int CW = (QT - 1) * S + K;  // input columns under the tile
    static_assert(K * K + V * QT + L <= 112, "register budget");
};

struct TileGrid {
    int vectors = 1;          // channels per block
    int position_lanes = 1;   // threads per channel
    int64_t groups = 1;       // blocks across the channels
    int tiles_per_row = 1;
    FilterGradSlices bands;
};

TileGrid make_tile_grid(const DepthwiseParams& p) {
    TileGrid g;
    g.groups = (p.k + kMaxVectorsPerBlock - 1) / kMaxVectorsPerBlock;
    g.vectors = static_cast<int>((p.k + g.groups - 1) / g.groups);
    g.position_lanes = std::max(1, kMaxThreads / g.vectors);
    const int stride = static_cast<int>(p.stride_h);
    const int cols = tile_cols(static_cast<int>(p.r), stride);
    g.tiles_per_row = static_cast<int>((p.q + cols - 1) / cols);
    g.bands = make_filter_grad_slices(p, tile_rows(stride), g.groups);
    return g;
}

// Two blocks per SM at most 128 registers a thread: more warps in flight to cover the load latency.
template <DType D, int K, int S>
__global__ void __launch_bounds__(kMaxThreads, 2)
    filter_grad_nhwc_tile_kernel(DepthwiseParams prm, TileGrid grid, float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    using Shape = TileShape<K, S>;
    constexpr int V = Shape::V, QT = Shape::QT, L = Shape::L, CW = Shape::CW;
    const int tid = threadIdx.x;
    const int vector = tid % grid.vectors, lane = tid / grid.vectors;
    const int64_t k = static_cast<int64_t>(blockIdx.x) * grid.vectors + vector;
    float acc[K * K];
#pragma unroll
    for (int u = 0; u < K * K; ++u) acc[u] = 0.0f;
    const int64_t band_begin = blockIdx.y * grid.bands.bands_per_slice;
    const int64_t band_end = min(prm.n * grid.bands.bands_per_image, band_begin + grid.bands.bands_per_slice);
    if (k < prm.k) {
        const T* x_plane = static_cast<const T*>(prm.x) + (k / prm.multiplier) * prm.x_stride[kC];
        const T* dy_plane = static_cast<const T*>(prm.y) + k * prm.y_stride[kC];
        const int h = static_cast<int>(prm.h), w = static_cast<int>(prm.w);
        const int p = static_cast<int>(prm.p), q = static_cast<int>(prm.q);
        const int bands_per_image = static_cast<int>(grid.bands.bands_per_image);
        const int items = static_cast<int>(band_end - band_begin) * grid.tiles_per_row;
        for (int item = lane; item < items; item += grid.position_lanes) {
            const int band = static_cast<int>(band_begin) + item / grid.tiles_per_row;
            const int ow0 = (item % grid.tiles_per_row) * QT;
            const int n = band / bands_per_image;
            const int oh0 = (band - n * bands_per_image) * V;
            const T* dy_image = dy_plane + n * prm.y_stride[kN];
            float g[QT][V];
#pragma unroll
            for (int jq = 0; jq < QT; ++jq)
#pragma unroll
                for (int j = 0; j < V; ++j) {
                    const T* dy_pixel = dy_image + (oh0 + j) * prm.y_stride[kH] + (ow0 + jq) * prm.y_stride[kW];
                    g[jq][j] = oh0 + j < p && ow0 + jq < q ? Traits::load(dy_pixel) : 0.0f;
                }
            const int ih0 = oh0 * S - static_cast<int>(prm.pad_h);
            unsigned rows_inside = 0;
#pragma unroll
            for (int j = 0; j < L; ++j) {
                rows_inside |= (static_cast<unsigned>(ih0 + j) < static_cast<unsigned>(h) ? 1u : 0u) << j;
            }
            const T* x_image = x_plane + n * prm.x_stride[kN];
            const int iw0 = ow0 * S - static_cast<int>(prm.pad_w);
#pragma unroll
            for (int col = 0; col < CW; ++col) {
                if (static_cast<unsigned>(iw0 + col) >= static_cast<unsigned>(w)) continue;
                const T* x_column = x_image + (iw0 + col) * prm.x_stride[kW];
                float column[L];
#pragma unroll
                for (int j = 0; j < L; ++j) {
                    column[j] = (rows_inside >> j) & 1u ? Traits::load(x_column + (ih0 + j) * prm.x_stride[kH]) : 0.0f;
                }
#pragma unroll
                for (int jq = 0; jq < QT; ++jq) {
                    const int fs = col - jq * S;  // the filter column joining this input and output column
                    if (fs < 0 || fs >= K) continue;
#pragma unroll
                    for (int fr = 0; fr < K; ++fr)
#pragma unroll
                        for (int j = 0; j < V; ++j) acc[fr * K + fs] += g[jq][j] * column[j * S + fr];
                }
            }
        }
    }
    // Adds each sum over the position lanes of its channel in lane order, kReduceValues at a time.
    __shared__ float sums[kReduceValues][kMaxThreads];
    const int outputs = kReduceValues * grid.vectors;
#pragma unroll
    for (int base = 0; base < K * K; base += kReduceValues) {
#pragma unroll
        for (int v = 0; v < kReduceValues; ++v) {
            if (base + v < K * K) sums[v][tid] = acc[base + v];
        }
        __syncthreads();  // every thread's sums of this round are in place
        for (int o = tid; o < outputs; o += blockDim.x) {
            const int v = o / grid.vectors, owner = o % grid.vectors;
            const int tap = base + v;
            const int64_t channel = static_cast<int64_t>(blockIdx.x) * grid.vectors + owner;
            if (tap >= K * K || channel >= prm.k) continue;
            float total = 0.0f;
            for (int l = 0; l < grid.position_lanes; ++l) total += sums[v][l * grid.vectors + owner];
            partial[(static_cast<int64_t>(blockIdx.y) * prm.k + channel) * (K * K) + tap] = total;
        }
        __syncthreads();  // read before the next round overwrites it
    }
}

template <DType D, int K, int S>
cudaError_t launch_tiles(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const TileGrid grid = make_tile_grid(p);
    if (grid.groups > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const dim3 blocks(static_cast<unsigned>(grid.groups), static_cast<unsigned>(grid.bands.slices));
    const int threads = grid.vectors * grid.position_lanes;
    filter_grad_nhwc_tile_kernel<D, K, S><<<blocks, threads, 0, stream>>>(p, grid, partial);
    *slices = grid.bands.slices;
    return cudaGetLastError();
}

template <DType D, int K>
cudaError_t launch_stride(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return p.stride_h == 1 ? launch_tiles<D, K, 1>(p, partial, slices, stream)
                           : launch_tiles<D, K, 2>(p, partial, slices, stream);
}

template <DType D>
cudaError_t launch_size(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return with_filter_size(p.r,
                            [&](auto k) { return launch_stride<D, decltype(k)::value>(p, partial, slices, stream); });
}

}  // namespace

bool filter_grad_nhwc_tiles_apply(const DepthwiseParams& p) {
    // The kernel counts a slice's tiles in 32-bit integers.
    return p.y_stride[kC] < p.y_stride[kW] && filter_grad_strip_applies(p) && p.n * p.p * p.q < (int64_t{1} << 31);
}

int64_t filter_grad_nhwc_tiles_slices(const DepthwiseParams& p) {
    return make_tile_grid(p).bands.slices;
}

cudaError_t filter_grad_nhwc_tiles(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return with_dtype(p.dtype, [&](auto d) { return launch_size<decltype(d)::value>(p, partial, slices, stream); });
}

}  // namespace dwshim
