// A tiled transpose: a block moves a 32 x 32 tile of (channel, column) of one image row through shared memory,
// reading along the channels and writing along the columns, so that both sides are coalesced when the source is
// channels-last. Other layouts are copied correctly, if not at full speed.
#include "kernels/common/packed_nchw_copy.h"

#include <algorithm>

namespace dwshim {
namespace {

constexpr int kTile = 32;
constexpr int kRowsAtOnce = 8;  // threadIdx.y: a block of 32 x 8 threads moves 4 tile rows each

struct CopyShape {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t stride[4] = {};
    int64_t c_tiles = 0, w_tiles = 0, tiles = 0;
};

// T is the element's storage (2 or 4 bytes); the copy moves bits and converts nothing.
template <typename T>
__global__ void __launch_bounds__(kTile * kRowsAtOnce) to_packed_nchw_kernel(CopyShape s, const T* source, T* target) {
    __shared__ T tile[kTile][kTile + 1];  // [column][channel], padded against bank conflicts on the transposed read
    const int tx = threadIdx.x, ty = threadIdx.y;
    for (int64_t t = blockIdx.x; t < s.tiles; t += gridDim.x) {
        const int64_t w0 = t % s.w_tiles * kTile;
        const int64_t c0 = t / s.w_tiles % s.c_tiles * kTile;
        const int64_t row = t / (s.w_tiles * s.c_tiles);  // n * h + image row
        const int64_t n = row / s.h, h = row % s.h;
        const T* from = source + n * s.stride[kN] + h * s.stride[kH];
#pragma unroll
        for (int j = 0; j < kTile; j += kRowsAtOnce) {
            const int64_t c = c0 + tx, w = w0 + ty + j;
            if (c < s.c && w < s.w) tile[ty + j][tx] = from[c * s.stride[kC] + w * s.stride[kW]];
        }
        __syncthreads();
        T* to = target + (n * s.c * s.h + h) * s.w;
#pragma unroll
        for (int j = 0; j < kTile; j += kRowsAtOnce) {
            const int64_t c = c0 + ty + j, w = w0 + tx;
            if (c < s.c && w < s.w) to[c * s.h * s.w + w] = tile[tx][ty + j];
        }
        __syncthreads();  // the tile is read before the next one is written
    }
}

}  // namespace

void packed_nchw_strides(const int64_t sizes[4], int64_t strides[4]) {
    strides[kW] = 1;
    strides[kH] = sizes[kW];
    strides[kC] = sizes[kH] * sizes[kW];
    strides[kN] = sizes[kC] * sizes[kH] * sizes[kW];
}

size_t dtype_bytes(DType dtype) {
    return dtype == DType::kFloat ? 4 : 2;
}

cudaError_t copy_to_packed_nchw(DType dtype, const int64_t sizes[4], const int64_t strides[4], const void* source,
                                void* target, cudaStream_t stream) {
    CopyShape s;
    s.n = sizes[kN];
    s.c = sizes[kC];
    s.h = sizes[kH];
    s.w = sizes[kW];
    for (int d = 0; d < 4; ++d) s.stride[d] = strides[d];
    s.c_tiles = (s.c + kTile - 1) / kTile;
    s.w_tiles = (s.w + kTile - 1) / kTile;
    s.tiles = s.n * s.h * s.c_tiles * s.w_tiles;
    if (s.tiles == 0) return cudaSuccess;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(s.tiles, int64_t{1} << 20));
    const dim3 threads(kTile, kRowsAtOnce);
    if (dtype_bytes(dtype) == 4) {
        to_packed_nchw_kernel<uint32_t><<<blocks, threads, 0, stream>>>(s, static_cast<const uint32_t*>(source),
                                                                        static_cast<uint32_t*>(target));
    } else {
        to_packed_nchw_kernel<uint16_t><<<blocks, threads, 0, stream>>>(s, static_cast<const uint16_t*>(source),
                                                                        static_cast<uint16_t*>(target));
    }
    return cudaGetLastError();
}

}  // namespace dwshim
