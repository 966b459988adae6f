// The data gradient at stride 2 for data whose rows are contiguous (NCHW). With u = ih + pad_h = 2a + e, dx row ih
// gathers dy rows a - j through filter rows e + 2j (columns likewise). So the two dx rows 2t, 2t + 1 read the dy
// rows a - R .. a + P between them (R = (K - 1) / 2, P the padding's parity) and 8 dx columns the dy columns
// b - R .. b + 3 + P. A thread owns such a 2 x 8 block of one plane: it loads that dy window (at most 5 x 8 values,
// at 7x7) and the plane's taps into registers once and feeds every output from them. Consecutive threads own
// consecutive column blocks, so the dy loads (overlapping windows, from L1) and the dx stores coalesce. The generic
// gather kernel it replaces loaded a dy value per tap and output and ran at 3-7% of the floor (bench/NOTES.md,
// 2026-12-03: c64_112x112_k3s2 fp32 0.92 ms against cuDNN's 0.66 and PyTorch's 0.80).
#include "kernels/data_grad/nchw_stride2.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/epilogue.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 128;
constexpr int kRows = 2;  // dx rows a thread owns, one of each parity
constexpr int kCols = 8;  // dx columns a thread owns, four of each parity: 32 bytes in fp32, 16 in 2-byte types

// The padding parity each filter size is instantiated for: "same" padding, K / 2 (others run on the generic
// kernel).
template <int K>
constexpr int kPadParity = K / 2 % 2;

// Threads' items: item = (plane * row_pairs + row_pair) * col_blocks + col_block, plane = n * channels + c, all in
// 32-bit integers (data_grad_nchw_s2_applies checks they fit).
struct ItemGrid {
    int col_blocks = 0, row_pairs = 0, channels = 0, items = 0;
};

template <DType D, int K>
__global__ void __launch_bounds__(kThreads) data_grad_nchw_s2_kernel(DepthwiseParams prm, ItemGrid grid) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;
    constexpr int P = kPadParity<K>;
    constexpr int R = (K - 1) / 2;
    constexpr int kWindowRows = R + 1 + P, kWindowCols = R + kCols / 2 + P;
    const T* dy = static_cast<const T*>(prm.y);
    const T* filter = static_cast<const T*>(prm.filter);
    T* dx = static_cast<T*>(prm.x);
    const int h = static_cast<int>(prm.h), w = static_cast<int>(prm.w);
    const int dy_rows = static_cast<int>(prm.p), dy_cols = static_cast<int>(prm.q);
    for (int item = blockIdx.x * kThreads + threadIdx.x; item < grid.items; item += gridDim.x * kThreads) {
        const int col_block = item % grid.col_blocks;
        const int rest = item / grid.col_blocks;
        const int row_pair = rest % grid.row_pairs;
        const int plane = rest / grid.row_pairs;
        const int64_t n = plane / grid.channels, c = plane % grid.channels;
        const int ih0 = kRows * row_pair, iw0 = kCols * col_block;
        // ih0 + pad_h = 2a + P (both even or both odd): the window's first dy row is a - R; columns likewise.
        const int row0 = (ih0 + static_cast<int>(prm.pad_h) - P) / 2 - R;
        const int col0 = (iw0 + static_cast<int>(prm.pad_w) - P) / 2 - R;

        float taps[K][K];
        const T* plane_taps = filter + c * K * K;
#pragma unroll
        for (int i = 0; i < K; ++i) {
#pragma unroll
            for (int j = 0; j < K; ++j) {
                taps[i][j] = Traits::load(plane_taps + (prm.flip ? (K - 1 - i) * K + (K - 1 - j) : i * K + j));
            }
        }
        float window[kWindowRows][kWindowCols];
        const T* dy_plane = dy + n * prm.y_stride[kN] + c * prm.y_stride[kC];
#pragma unroll
        for (int r = 0; r < kWindowRows; ++r) {
            const int row = row0 + r;
            const bool row_inside = row >= 0 && row < dy_rows;
            const T* dy_row = dy_plane + static_cast<int64_t>(row) * prm.y_stride[kH];
#pragma unroll
            for (int q = 0; q < kWindowCols; ++q) {
                const int col = col0 + q;
                window[r][q] = row_inside && col >= 0 && col < dy_cols ? Traits::load(dy_row + col) : 0.0f;
            }
        }

        const int64_t plane_offset = n * prm.x_stride[kN] + c * prm.x_stride[kC];
#pragma unroll
        for (int e = 0; e < kRows; ++e) {
            const int ih = ih0 + e;
            if (ih >= h) break;
            const int64_t row_offset = plane_offset + static_cast<int64_t>(ih) * prm.x_stride[kH] + iw0;
            T values[kCols];
#pragma unroll
            for (int j = 0; j < kCols; ++j) {
                // dx row 2a + P + e - pad_h takes filter rows i with P + e - i even, from window row
                // (P + e - i) / 2 + R; columns likewise.
                float sum = 0.0f;
#pragma unroll
                for (int i = (P + e) % 2; i < K; i += 2) {
#pragma unroll
                    for (int jj = (P + j) % 2; jj < K; jj += 2) {
                        sum += window[(P + e - i) / 2 + R][(P + j - jj) / 2 + R] * taps[i][jj];
                    }
                }
                // The residual is read inside the row only.
                values[j] = Traits::from_float(iw0 + j < w ? epilogue<D, false>(prm, sum, 0.0f, row_offset + j)
                                                           : 0.0f);
            }
            T* out = dx + row_offset;
            if (iw0 + kCols <= w && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
                constexpr int kVectors = static_cast<int>(sizeof values / 16);
                uint4 packed[kVectors];
                memcpy(packed, values, sizeof packed);
#pragma unroll
                for (int v = 0; v < kVectors; ++v) reinterpret_cast<uint4*>(out)[v] = packed[v];
            } else {
#pragma unroll
                for (int j = 0; j < kCols; ++j) {
                    if (iw0 + j < w) out[j] = values[j];
                }
            }
        }
    }
}

template <DType D, int K>
cudaError_t launch_size(const DepthwiseParams& p, cudaStream_t stream) {
    constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // the grid-stride loop covers the rest
    ItemGrid grid;
    grid.col_blocks = static_cast<int>((p.w + kCols - 1) / kCols);
    grid.row_pairs = static_cast<int>((p.h + kRows - 1) / kRows);
    grid.channels = static_cast<int>(p.c);
    grid.items = static_cast<int>(p.n * p.c * grid.row_pairs * grid.col_blocks);
    const int64_t blocks = std::min((int64_t{grid.items} + kThreads - 1) / kThreads, kMaxBlocks);
    data_grad_nchw_s2_kernel<D, K><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(p, grid);
    return cudaGetLastError();
}

template <DType D>
cudaError_t launch_dtype(const DepthwiseParams& p, cudaStream_t stream) {
    return with_filter_size(p.r, [&](auto k) { return launch_size<D, decltype(k)::value>(p, stream); });
}

int pad_parity_for(int64_t filter) {
    return with_filter_size(filter, [](auto k) { return kPadParity<decltype(k)::value>; });
}

}  // namespace

bool data_grad_nchw_s2_applies(const DepthwiseParams& p) {
    const bool size = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    const bool geometry = p.stride_h == 2 && p.stride_w == 2 && p.dil_h == 1 && p.dil_w == 1 && p.multiplier == 1;
    const bool padding = size && p.pad_h % 2 == pad_parity_for(p.r) && p.pad_w % 2 == pad_parity_for(p.r);
    const bool rows_contiguous = p.x_stride[kW] == 1 && p.y_stride[kW] == 1;
    constexpr int64_t kLimit = int64_t{1} << 30;
    const int64_t items = p.n * p.c * ((p.h + kRows - 1) / kRows) * ((p.w + kCols - 1) / kCols);
    const bool fits = p.n * p.c < kLimit && items < kLimit && p.h + p.pad_h < kLimit && p.w + p.pad_w < kLimit &&
                      p.p < kLimit && p.q < kLimit;
    return size && geometry && padding && rows_contiguous && fits;
}

cudaError_t data_grad_nchw_s2(const DepthwiseParams& p, cudaStream_t stream) {
    return with_dtype(p.dtype, [&](auto d) { return launch_dtype<decltype(d)::value>(p, stream); });
}

}  // namespace dwshim
