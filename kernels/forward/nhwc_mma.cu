// Channels-innermost fp16/bf16 at 7 x 7, stride 1, on tensor cores. For one channel and filter row i,
// the outputs of an 8-column strip are a matrix product:
//   y[p][q0 + n] += sum over k of x[p + i][q0 + k] * B_i[k][n],   B_i[k][n] = w[i][k - n] (0 outside 0 <= k - n < K)
// B_i, 16 x 8, holds row i's K taps for every column of the strip (k - n < 7 and n < 8 keep k < 16), so 16 output
// rows x 8 columns of one channel are K mma.sync m16n8k16 with fp32 accumulators: A straight from a plane of the
// input tile by ldmatrix, B built once per channel in registers. The products of 2-byte values are exact in fp32.
// At 7 x 7, 49 of a product's 128 multiplies are real; the tensor cores still do them faster than the FMA path
// does the real ones alone (that path ran at 10-13% of the copy floor on convnext_tiny's layers, H200 run mm).
//
// A block: 16 channels (a warp each) x 16 output rows x 8 * strips output columns of one image. It copies the input
// tile (16 + K - 1 rows, 8 * strips + 8 columns, zero outside x) from NHWC into one [row][column] plane a channel
// (two 16-byte loads a pixel, two pixels a thread, packed into 32-bit stores), computes, then stages the fp32
// sums through the same shared memory so that a thread stores a pixel's 32 bytes of channels again.
//
// A zero of B times an Inf or NaN of x outside an output's window would make a NaN the direct sum does not have:
// a block whose tile holds a non-finite value sums its windows tap by tap instead, with IEEE semantics.
#include "kernels/forward/nhwc_mma.h"

#include <cstdint>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/epilogue.cuh"
#include "kernels/common/mma_16x8x16.cuh"
#include "kernels/common/tensor_core_code.h"
#include "kernels/forward/nhwc_vec.h"

namespace dwshim {
namespace {

constexpr int kChannels = 16;  // a block's channels, a warp each: 32 bytes a pixel, one whole sector
constexpr int kVector = 8;     // channels in one 16-byte load or store
constexpr int kThreads = 32 * kChannels;
constexpr int kRows = 16;        // a block's output rows: the mma's M
constexpr int kMaxStrips = 8;    // a block's 8-column strips (the mma's N), at most
constexpr int kStripCols = 8;
// Output rows narrower than this stay on the FMA path (forward/nhwc_vec.cu): a block of a 7 x 7 or 14 x 14 image
// is mostly padding and latency, even with the filter's fragments loaded before the tile (H200, second run of
// 2026-12-04, bf16 7x7: c768_7x7 0.070 ms against 0.029, c384_14x14 0.045 against 0.044; c192_28x28 0.062 against
// 0.073, c96_56x56 0.086 against 0.146, convnext7 0.215 against 0.40). 5x5 lost on every layer measured (rows of 7
// to 28: c240_28x28 0.062 against 0.055), so it is not built.
constexpr int64_t kMinOutputCols = 28;

struct TileGrid {
    int strips = 1;     // 8-column strips a block
    int in_pitch = 0;   // values between rows of an input plane
    int out_pitch = 0;  // floats between rows of an output plane
    int64_t col_tiles = 1, row_tiles = 1;
};

template <int K>
constexpr int kInRows = kRows + K - 1;

template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kThreads, 2) depthwise_nhwc_mma_kernel(DepthwiseParams prm, TileGrid grid) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kTileRows = kInRows<K>;
    extern __shared__ uint4 shared_storage[];
    // First the input planes [channel][row][column], then (after a barrier) the output planes of fp32 sums.
    unsigned short* in = reinterpret_cast<unsigned short*>(shared_storage);
    float* out = reinterpret_cast<float*>(shared_storage);

    // Channel groups vary fastest, so the two halves of a 32-byte sector (16 channels of a pixel) are read and
    // written by blocks that run at about the same time, not evicted from L2 in between.
    const int64_t groups = prm.c / kChannels;
    const int64_t c0 = static_cast<int64_t>(blockIdx.x) % groups * kChannels;
    int64_t tile = static_cast<int64_t>(blockIdx.x) / groups;
    const int64_t q0 = tile % grid.col_tiles * kStripCols * grid.strips;
    tile /= grid.col_tiles;
    const int64_t p0 = tile % grid.row_tiles * kRows;
    const int64_t n = tile / grid.row_tiles;
    const int in_plane = kTileRows * grid.in_pitch;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;  // the mma's fragment coordinates
    const unsigned short* filter = static_cast<const unsigned short*>(prm.filter) + (c0 + warp) * K * K;
    const auto tap = [&](int i, int j) { return prm.flip ? (K - 1 - i) * K + (K - 1 - j) : i * K + j; };
    // The filter's fragments first: their loads and the tile's are in flight together (a block of a small image
    // otherwise waited for memory twice, once on each side of the barrier).
    // b[i]: B_i's values at k = 2t, 2t + 1 (b[i][0]) and 2t + 8, 2t + 9 (b[i][1]), column n = g.
    unsigned b[K][2];
#pragma unroll
    for (int i = 0; i < K; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            unsigned word = 0;
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int j = 2 * t + 8 * h + e - g;
                const unsigned value = j >= 0 && j < K ? __ldg(filter + tap(i, j)) : 0u;
                word |= value << (16 * e);
            }
            b[i][h] = word;
        }
    // Thread j of a row copies tile columns 2j and 2j + 1: every 32-bit store of a warp lands in its own bank. All
    // of a thread's loads are issued before its first store, so a block waits for memory once.
    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + c0;
    const int pairs = (kStripCols * grid.strips + kStripCols) / 2;
    constexpr int kMaxPairs = (kStripCols * kMaxStrips + kStripCols) / 2;
    constexpr int kLoads = (kTileRows * kMaxPairs + kThreads - 1) / kThreads;
    uint4 pixels[kLoads][2][kChannels / kVector];
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
        const int task = threadIdx.x + l * kThreads;
        const int r = task / pairs, j = task % pairs;
        const int64_t ih = p0 - prm.pad_h + r;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int64_t iw = q0 - prm.pad_w + 2 * j + e;
            const bool inside = r < kTileRows && static_cast<uint64_t>(ih) < static_cast<uint64_t>(prm.h) &&
                                static_cast<uint64_t>(iw) < static_cast<uint64_t>(prm.w);
            const uint4* source = reinterpret_cast<const uint4*>(x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW]);
#pragma unroll
            for (int v = 0; v < kChannels / kVector; ++v) {
                pixels[l][e][v] = inside ? __ldg(source + v) : make_uint4(0, 0, 0, 0);
            }
        }
    }
    bool non_finite = false;
    const int plane_words = in_plane / 2;
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
        const int task = threadIdx.x + l * kThreads;
        if (task >= kTileRows * pairs) break;
        const int r = task / pairs, j = task % pairs;
        unsigned* target = reinterpret_cast<unsigned*>(in + r * grid.in_pitch + 2 * j);
#pragma unroll
        for (int v = 0; v < kChannels / kVector; ++v) {
            const uint4 a = pixels[l][0][v], b = pixels[l][1][v];
            const unsigned left[4] = {a.x, a.y, a.z, a.w};
            const unsigned right[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
            for (int m = 0; m < 4; ++m) {  // word m holds channels 2m (low half) and 2m + 1 of the vector
                const int channel = v * kVector + 2 * m;
                non_finite |= has_non_finite<D>(left[m]) || has_non_finite<D>(right[m]);
                target[channel * plane_words] = __byte_perm(left[m], right[m], 0x5410);
                target[(channel + 1) * plane_words] = __byte_perm(left[m], right[m], 0x7632);
            }
        }
    }
    const bool exact = __syncthreads_or(non_finite);

    const unsigned short* plane = in + warp * in_plane;
    // acc[s]: strip s's fragment, rows g and g + 8, columns 2t and 2t + 1.
    float acc[kMaxStrips][4];
#pragma unroll
    for (int s = 0; s < kMaxStrips; ++s)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[s][e] = 0.0f;
    if (!exact) {
        const unsigned short* a_row = plane + ((lane & 7) + (lane & 8)) * grid.in_pitch + (lane >> 4) * 8;
#pragma unroll
        for (int s = 0; s < kMaxStrips; ++s) {
            if (s >= grid.strips) break;
#pragma unroll
            for (int i = 0; i < K; ++i) {
                unsigned a[4];
                load_a(a, a_row + i * grid.in_pitch + s * kStripCols);
                mma_16x8x16<D>(acc[s], a, b[i]);
            }
        }
    } else {
#pragma unroll
        for (int s = 0; s < kMaxStrips; ++s) {
            if (s >= grid.strips) break;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = g + 8 * (e >> 1), col = s * kStripCols + 2 * t + (e & 1);
                float sum = 0.0f;
#pragma unroll 1
                for (int i = 0; i < K; ++i)
#pragma unroll 1
                    for (int j = 0; j < K; ++j) {
                        sum += widen_bits<D>(__ldg(filter + tap(i, j))) *
                               widen_bits<D>(plane[(row + i) * grid.in_pitch + col + j]);
                    }
                acc[s][e] = sum;
            }
        }
    }
    __syncthreads();  // every warp is done with the input planes the output planes overwrite

    float* sums = out + warp * kRows * grid.out_pitch;
#pragma unroll
    for (int s = 0; s < kMaxStrips; ++s) {
        if (s >= grid.strips) break;
        const int col = s * kStripCols + 2 * t;
        *reinterpret_cast<float2*>(sums + g * grid.out_pitch + col) = make_float2(acc[s][0], acc[s][1]);
        *reinterpret_cast<float2*>(sums + (g + 8) * grid.out_pitch + col) = make_float2(acc[s][2], acc[s][3]);
    }
    __syncthreads();

    float bias[kChannels];
#pragma unroll
    for (int e = 0; e < kChannels; ++e) bias[e] = kFused ? bias_of<D>(prm, c0 + e) : 0.0f;
    T* y = static_cast<T*>(prm.y);
    const int cols = kStripCols * grid.strips;
    for (int task = threadIdx.x; task < kRows * cols; task += kThreads) {
        const int r = task / cols, col = task % cols;
        const int64_t p = p0 + r, q = q0 + col;
        if (p >= prm.p || q >= prm.q) continue;
        const int64_t offset = n * prm.y_stride[kN] + p * prm.y_stride[kH] + q * prm.y_stride[kW] + c0;
        unsigned words[kChannels / 2];
#pragma unroll
        for (int m = 0; m < kChannels / 2; ++m) {
            unsigned short halves[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int e = 2 * m + h;
                const float sum = out[(e * kRows + r) * grid.out_pitch + col];
                const T value = DTypeTraits<D>::from_float(epilogue<D, kFused>(prm, sum, bias[e], offset + e));
                memcpy(&halves[h], &value, sizeof value);
            }
            words[m] = halves[0] | static_cast<unsigned>(halves[1]) << 16;
        }
        uint4* target = reinterpret_cast<uint4*>(y + offset);
#pragma unroll
        for (int v = 0; v < kChannels / kVector; ++v) {
            __stwb(target + v, make_uint4(words[4 * v], words[4 * v + 1], words[4 * v + 2], words[4 * v + 3]));
        }
    }
}

// Columns split evenly over as few 64-column tiles as cover a row; input rows padded to an odd number of 16-byte
// units and output rows to 8 or 24 floats past a multiple of 32, so that ldmatrix's eight row reads and a warp's
// 8-byte sum stores each fall in distinct banks.
TileGrid make_tile_grid(const DepthwiseParams& p) {
    TileGrid g;
    constexpr int64_t kMaxCols = kStripCols * kMaxStrips;
    g.col_tiles = (p.q + kMaxCols - 1) / kMaxCols;
    const int64_t cols = (p.q + g.col_tiles - 1) / g.col_tiles;
    g.strips = static_cast<int>((cols + kStripCols - 1) / kStripCols);
    g.in_pitch = kStripCols * g.strips + kStripCols;
    if (g.in_pitch / 8 % 2 == 0) g.in_pitch += 8;
    g.out_pitch = kStripCols * g.strips;
    while (g.out_pitch % 32 != 8 && g.out_pitch % 32 != 24) g.out_pitch += 8;
    g.row_tiles = (p.p + kRows - 1) / kRows;
    return g;
}

template <int K>
size_t shared_bytes(const TileGrid& g) {
    const size_t in_bytes = sizeof(unsigned short) * kChannels * kInRows<K> * g.in_pitch;
    const size_t out_bytes = sizeof(float) * kChannels * kRows * g.out_pitch;
    return in_bytes > out_bytes ? in_bytes : out_bytes;
}

template <DType D, int K>
cudaError_t launch(const DepthwiseParams& params, cudaStream_t stream) {
    const TileGrid grid = make_tile_grid(params);
    const int64_t blocks = params.n * grid.row_tiles * grid.col_tiles * (params.c / kChannels);
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const dim3 launch_grid(static_cast<unsigned>(blocks));
    const auto kernel = needs_fused_epilogue(params) ? depthwise_nhwc_mma_kernel<D, K, true>
                                                     : depthwise_nhwc_mma_kernel<D, K, false>;
    const size_t bytes = shared_bytes<K>(grid);
    if (bytes > 48 * 1024) {  // past the default limit: a per-function opt-in (a host-side setting, no sync)
        const cudaError_t status =
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
        if (status != cudaSuccess) return status;
    }
    kernel<<<launch_grid, kThreads, bytes, stream>>>(params, grid);
    return cudaGetLastError();
}

// What the tensor-core kernel adds to the NHWC vector path's conditions (2-byte vectors of 8 channels, square
// filter, one filter per channel, equal strides, no dilation): 2-byte types, 7 x 7 at stride 1, wide output rows,
// whole 16-channel groups.
bool tensor_core_shape(const DepthwiseParams& p) {
    return p.dtype != DType::kFloat && p.r == 7 && p.stride_h == 1 && p.q >= kMinOutputCols &&
           p.c % kChannels == 0;
}

}  // namespace

bool nhwc_mma_shape_applies(const DepthwiseParams& p) {
    return nhwc_vec_applies(p) && tensor_core_shape(p);
}

bool nhwc_mma_applies(const DepthwiseParams& p) {
    return nhwc_vec_aligned(p) && tensor_core_shape(p) &&
           has_mma_code(depthwise_nhwc_mma_kernel<DType::kHalf, 7, false>);
}

cudaError_t launch_depthwise_nhwc_mma(const DepthwiseParams& params, cudaStream_t stream) {
    return with_2byte_dtype_or(params.dtype, cudaErrorInvalidValue,
                               [&](auto d) { return launch<decltype(d)::value, 7>(params, stream); });
}

}  // namespace dwshim
