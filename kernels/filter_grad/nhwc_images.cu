// Filter-gradient partial sums for channels-last 2-byte tensors whose output rows are short (at most
// kMaxColumns columns: the 7 x 7 to 28 x 28 layers of mobile and ConvNeXt-like networks), 5x5 and 7x7 filters at
// stride 1. The ring kernel gives each thread a strip of one such image and walks its rows one copy group at a
// time: small images leave it few threads, each waiting on its own rows (run 2026-12-04mm, c384_14x14_k7s1 bf16
// 0.052 ms against PyTorch's plan's 0.043; c960_7x7_k5s1 0.035 against 0.023). Here a block owns 32 channels and
// walks tiles (a band of output rows of one image): it copies the tile's input rows and dy rows into shared memory
// at once, then every thread computes from there. Thread (channel pair, filter row i, row lane) slides a K-wide
// register window along input row p + i of the tile for each output row p of its lane, adding dy[p][q] *
// x[p + i][q + j] into its K x 2 accumulators. Four blocks share an SM, so one block's copies overlap the others'
// arithmetic. Run 2026-12-04pp (dwshim-only, ms, ring -> image tiles): 5x5 and 7x7 won every layer (c384_14x14_k7s1
// bf16 0.052 -> 0.038, c768_7x7_k7s1 0.042 -> 0.031, c240_28x28_k5s1 0.074 -> 0.059, the least c120_28x28_k5s1 f16
// 0.037 -> 0.036); 3x3 lost on most (c672_14x14_k3s1 0.029 -> 0.034, c1152_7x7_k3s1 0.021 -> 0.023), with too few
// products per copied value: it stays with the ring kernel.
#include <algorithm>
#include <cstdint>

#include "kernels/common/async_copy.cuh"
#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/filter_grad/nhwc.h"

namespace dwshim {
namespace {

constexpr int kThreads = 256;
constexpr int kGroupChannels = 32;                  // a block's channels: 64 bytes of each pixel
constexpr int kPairs = kGroupChannels / 2;           // threads across a group's channels, two channels each
constexpr int kChunks = kGroupChannels * 2 / 16;     // 16-byte copies per pixel of a group
constexpr int kSharedBytes = 48 * 1024;              // four blocks an SM
constexpr int kMaxColumns = 28;
constexpr int64_t kTargetBlocks = 1024;              // about two waves of four blocks on 132 SMs
constexpr int kMinTilesPerSlice = 2;                 // fewer partial sums for the finalize pass to add

// Threads per filter row and channel pair, each taking every kRowLanes-th output row of a tile.
template <int K>
constexpr int kRowLanes = kThreads / (kPairs * K);

// Pixels per tile row in shared memory: odd, so that the two filter rows (or output rows) a warp reads lie in
// opposite halves of the banks.
int odd_pixels(int64_t pixels) {
    return static_cast<int>(pixels | 1);
}

struct ImageTiles {
    int band_rows = 1;   // output rows a tile holds
    int bands = 1;       // tiles per image
    int x_row_pixels = 1, dy_row_pixels = 1;
    int64_t channel_groups = 1;
    int64_t tiles = 0;  // n * bands
    int64_t tiles_per_slice = 1;
    int64_t slices = 1;
};

int64_t tile_bytes(const DepthwiseParams& p, int band_rows, int x_row_pixels, int dy_row_pixels) {
    return ((band_rows + p.r - 1) * x_row_pixels + int64_t{band_rows} * dy_row_pixels) * kGroupChannels * 2;
}
// make_image_tiles shortens tiles down to one output row, which must fit: 7 input rows and one dy row of the widest.
static_assert((7 * ((kMaxColumns + 6) | 1) + (kMaxColumns | 1)) * kGroupChannels * 2 <= kSharedBytes,
              "a tile of one output row fits shared memory");

// A function of the sizes only: the workspace query and the launch agree.
ImageTiles make_image_tiles(const DepthwiseParams& p) {
    ImageTiles t;
    t.x_row_pixels = odd_pixels(p.q + p.s - 1);
    t.dy_row_pixels = odd_pixels(p.q);
    // As many output rows as fit, then the image's rows spread evenly over that many tiles.
    int rows = static_cast<int>(std::min<int64_t>(p.p, 64));
    while (rows > 1 && tile_bytes(p, rows, t.x_row_pixels, t.dy_row_pixels) > kSharedBytes) --rows;
    t.bands = static_cast<int>((p.p + rows - 1) / rows);
    t.band_rows = static_cast<int>((p.p + t.bands - 1) / t.bands);
    t.channel_groups = (p.k + kGroupChannels - 1) / kGroupChannels;
    t.tiles = p.n * t.bands;
    const int64_t by_blocks = (kTargetBlocks + t.channel_groups - 1) / t.channel_groups;
    const int64_t by_tiles = (t.tiles + kMinTilesPerSlice - 1) / kMinTilesPerSlice;
    const int64_t wanted = std::max<int64_t>(1, std::min(by_blocks, by_tiles));
    t.tiles_per_slice = (t.tiles + wanted - 1) / wanted;
    t.slices = (t.tiles + t.tiles_per_slice - 1) / t.tiles_per_slice;
    return t;
}

// Copies tile `tile` of channel group c0 into shared memory: input rows oh0 - pad_h .. + band_rows + K - 2 and
// columns -pad_w .. q + K - 2 (zeros outside the image or past the channels), then dy's rows of the band.
template <typename T, int K>
__device__ __forceinline__ void copy_tile(const DepthwiseParams& prm, const ImageTiles& grid, int64_t tile,
                                          int64_t c0, int rows, T* x_tile, T* dy_tile) {
    const int64_t n = tile / grid.bands;
    const int oh0 = static_cast<int>(tile % grid.bands) * grid.band_rows;
    const int ih0 = oh0 - static_cast<int>(prm.pad_h), iw0 = -static_cast<int>(prm.pad_w);
    const int q = static_cast<int>(prm.q), x_cols = q + K - 1;
    const int x_copies = (rows + K - 1) * x_cols * kChunks, dy_copies = rows * q * kChunks;
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + c0;
    const T* dy =
        static_cast<const T*>(prm.y) + n * prm.y_stride[kN] + static_cast<int64_t>(oh0) * prm.y_stride[kH] + c0;
    for (int i = threadIdx.x; i < x_copies + dy_copies; i += kThreads) {
        const bool is_x = i < x_copies;
        const int j = is_x ? i : i - x_copies;
        const int chunk = j % kChunks, pixel = j / kChunks;
        const int cols = is_x ? x_cols : q;
        const int r = pixel / cols, c = pixel % cols;
        const int channel = chunk * 8;
        const bool channels_ok = c0 + channel < prm.k;
        if (is_x) {
            const int ih = ih0 + r, iw = iw0 + c;
            const bool valid = channels_ok && static_cast<unsigned>(ih) < prm.h && static_cast<unsigned>(iw) < prm.w;
            const T* source = valid ? x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW] + channel : x;
            copy_16_async(x_tile + (r * grid.x_row_pixels + c) * kGroupChannels + channel, source, valid);
        } else {
            const T* source = channels_ok ? dy + r * prm.y_stride[kH] + c * prm.y_stride[kW] + channel : dy;
            copy_16_async(dy_tile + (r * grid.dy_row_pixels + c) * kGroupChannels + channel, source, channels_ok);
        }
    }
    commit_copies();
}

template <DType D, int K>
__global__ void __launch_bounds__(kThreads, 4)
    filter_grad_nhwc_images_kernel(DepthwiseParams prm, ImageTiles grid, float* partial) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int R = kRowLanes<K>;
    __shared__ __align__(16) unsigned char shared[kSharedBytes];
    T* const x_tile = reinterpret_cast<T*>(shared);
    const int x_rows = grid.band_rows + K - 1;
    T* const dy_tile = x_tile + x_rows * grid.x_row_pixels * kGroupChannels;

    const int tid = threadIdx.x;
    const int pair = tid % kPairs, fr = (tid / kPairs) % K, lane = tid / (kPairs * K);
    const int64_t c0 = static_cast<int64_t>(blockIdx.x) * kGroupChannels;
    const bool computes = lane < R && c0 + 2 * pair < prm.k;
    const int q = static_cast<int>(prm.q);
    float acc[K][2];
#pragma unroll
    for (int j = 0; j < K; ++j) acc[j][0] = acc[j][1] = 0.0f;

    const int64_t tile_begin = blockIdx.y * grid.tiles_per_slice;
    const int64_t tile_end = min(grid.tiles, tile_begin + grid.tiles_per_slice);
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
        const int oh0 = static_cast<int>(tile % grid.bands) * grid.band_rows;
        const int rows = min(grid.band_rows, static_cast<int>(prm.p) - oh0);
        copy_tile<T, K>(prm, grid, tile, c0, rows, x_tile, dy_tile);
        wait_copies<0>();
        __syncthreads();  // every thread's copies have landed
        if (computes) {
            const int ih0 = oh0 - static_cast<int>(prm.pad_h) + fr;
            for (int p = lane; p < rows; p += R) {
                if (static_cast<unsigned>(ih0 + p) >= prm.h) continue;  // a padding row: zeros
                // 32-bit words: a pixel's channels are kPairs words, this thread's pair one of them.
                const unsigned* x_row =
                    reinterpret_cast<const unsigned*>(x_tile) + ((p + fr) * grid.x_row_pixels) * kPairs + pair;
                const unsigned* dy_row =
                    reinterpret_cast<const unsigned*>(dy_tile) + (p * grid.dy_row_pixels) * kPairs + pair;
                // window[(col) mod K] holds input column col of the row; columns q .. q + K - 1 feed output q.
                float window[K][2];
#pragma unroll
                for (int j = 0; j < K - 1; ++j) Traits::widen_pair(x_row[j * kPairs], window[j]);
                for (int q0 = 0; q0 < q; q0 += K) {
#pragma unroll
                    for (int u = 0; u < K; ++u) {
                        const int col = q0 + u;
                        if (col >= q) break;
                        Traits::widen_pair(x_row[(col + K - 1) * kPairs], window[(u + K - 1) % K]);
                        float g[2];
                        Traits::widen_pair(dy_row[col * kPairs], g);
#pragma unroll
                        for (int j = 0; j < K; ++j) {
                            acc[j][0] += g[0] * window[(u + j) % K][0];
                            acc[j][1] += g[1] * window[(u + j) % K][1];
                        }
                    }
                }
            }
        }
        __syncthreads();  // every thread is done with the tile before the next one's copies
    }

    // sums[lane][fr][pair][j][e]: each thread's accumulators, added over the row lanes in lane order.
    float* const sums = reinterpret_cast<float*>(shared);
    constexpr int kPerLane = K * kPairs * K * 2;
    static_assert(R * kPerLane * 4 <= kSharedBytes, "the reduction reuses the tile's memory");
    if (lane < R) {
#pragma unroll
        for (int j = 0; j < K; ++j) {
#pragma unroll
            for (int e = 0; e < 2; ++e) sums[lane * kPerLane + ((fr * kPairs + pair) * K + j) * 2 + e] = acc[j][e];
        }
    }
    __syncthreads();
    for (int o = tid; o < kPerLane; o += kThreads) {
        const int e = o % 2, j = (o / 2) % K, o_pair = (o / (2 * K)) % kPairs, o_fr = o / (2 * K * kPairs);
        const int64_t channel = c0 + 2 * o_pair + e;
        if (channel >= prm.k) continue;
        float total = 0.0f;
        for (int l = 0; l < R; ++l) total += sums[l * kPerLane + o];
        partial[(static_cast<int64_t>(blockIdx.y) * prm.k + channel) * (K * K) + o_fr * K + j] = total;
    }
}

template <DType D>
cudaError_t launch_dtype(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    const ImageTiles grid = make_image_tiles(p);
    if (grid.channel_groups > 0x7fffffff || grid.slices > 65535) return cudaErrorInvalidConfiguration;
    const dim3 blocks(static_cast<unsigned>(grid.channel_groups), static_cast<unsigned>(grid.slices));
    if (p.r == 5) {
        filter_grad_nhwc_images_kernel<D, 5><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    } else {
        filter_grad_nhwc_images_kernel<D, 7><<<blocks, kThreads, 0, stream>>>(p, grid, partial);
    }
    *slices = grid.slices;
    return cudaGetLastError();
}

bool strides_of_vectors(const int64_t (&s)[4]) {
    return s[kC] == 1 && s[kN] % 8 == 0 && s[kH] % 8 == 0 && s[kW] % 8 == 0;
}

}  // namespace

bool filter_grad_nhwc_images_applies(const DepthwiseParams& p) {
    const bool two_bytes = p.dtype == DType::kHalf || p.dtype == DType::kBFloat16;
    const bool filter = p.r == p.s && (p.r == 5 || p.r == 7);
    const bool geometry = p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.multiplier == 1;
    // Rows and images within 32-bit tile arithmetic; a tile of one output row always fits shared memory there.
    const bool sizes = p.q <= kMaxColumns && p.p < (int64_t{1} << 20) && p.h < (int64_t{1} << 20) &&
                       p.w < (int64_t{1} << 20) && p.n * p.p < (int64_t{1} << 30);
    return two_bytes && filter && geometry && sizes && p.k % 8 == 0 && strides_of_vectors(p.x_stride) &&
           strides_of_vectors(p.y_stride);
}

bool filter_grad_nhwc_images_aligned(const DepthwiseParams& p) {
    const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    return filter_grad_nhwc_images_applies(p) && aligned(p.x) && aligned(p.y);
}

int64_t filter_grad_nhwc_images_slices(const DepthwiseParams& p) {
    return make_image_tiles(p).slices;
}

cudaError_t filter_grad_nhwc_images(const DepthwiseParams& p, float* partial, int64_t* slices, cudaStream_t stream) {
    return with_2byte_dtype_or(p.dtype, cudaErrorInvalidValue, [&](auto d) {
        return launch_dtype<decltype(d)::value>(p, partial, slices, stream);
    });
}

}  // namespace dwshim
