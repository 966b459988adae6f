// The data gradient at stride 2 for channels-innermost data (3x3, 5x5, 7x7, no dilation, one filter per channel,
// 16-byte channel vectors). With u = iw + pad_w = 2a + b, dx column u gathers dy columns a - j through filter
// columns b + 2j (and rows likewise), so a thread that owns one dx row, the dx columns of kPairs consecutive a
// (both parities) and a 16-byte vector of channels loads each dy row's window of kPairs + J - 1 vectors once and
// feeds every tap and output column from registers. The generic gather kernel it replaces loaded one value per
// tap and output element and ran at 2-8% of the floor (bench/NOTES.md, 2026-12-02).
#include "kernels/data_grad/nhwc_stride2.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common/channel_vector_strips.cuh"
#include "kernels/common/constant_dispatch.h"
#include "kernels/common/dtype_traits.cuh"
#include "kernels/common/resident_blocks.h"
#include "kernels/forward/nhwc_vec.h"

namespace dwshim {
namespace {

constexpr int kThreads = 128;
// The filter slice: in the tensor's type, 32 vectors a block, at 3 x 3 (H200 mbv2_s2 bf16 0.087 ms, against 0.117
// in fp32 at 16 vectors); in fp32, 128 channels a block (25 KiB at 7 x 7), from 5 x 5 on, where converting each
// tap's weights at every read was a third of the instructions (effnet_k5s2 bf16 0.165 -> 0.102 ms). A block stages
// its slice once and then walks groups of strips until the grid has covered them: staged once per group instead, the
// slice was 25-40% of the kernel's time (H200 run 2026-12-04zk, staged twice: c144_56x56_k5s2 bf16 0.094 -> 0.130
// ms, c96_112x112_k3s2 0.107 -> 0.137); walking, with padded tap rows, it gained 1.07-2.7x (run 2026-12-04zl:
// effnet_k5s2 bf16 0.095 -> 0.047 ms, c96_112x112_k3s2 bf16 0.107 -> 0.079). Its loads go one at a time at 3 x 3,
// where four in flight lost, for a reason not found (H200 run 2026-12-04zh: c64_112x112_k3s2 bf16 0.062 -> 0.067
// ms, mbv2_s2 0.087 -> 0.098), and four at a time from 5 x 5 on (effnet_k5s2 bf16 0.104 -> 0.095).
template <DType D, int K>
struct FilterStaging {
    using T = typename DTypeTraits<D>::Storage;
    static constexpr int V = 16 / static_cast<int>(sizeof(T));
    using TapT = std::conditional_t<K == 3, T, float>;
    static constexpr int kVectors = K == 3 ? 32 : 128 / V;
    static constexpr int kInFlight = K == 3 ? 1 : 4;
    // Tap rows padded by 16 bytes: unpadded, a warp's staging stores, which walk consecutive taps, met up to 32-way
    // bank conflicts (H200 run 2026-12-04zl, c144_56x56_k5s2 bf16: 9.0M store conflicts, 1.0M padded; 1.10-1.19x
    // from 5 x 5 on). The forward keeps unpadded rows: padded, its strip kernel lost up to 0.81x.
    using Slice = TapSlice<TapT, V, kVectors, 16 / static_cast<int>(sizeof(TapT))>;
};
constexpr int kPairs = 2;  // column pairs (a) per thread: 4 dx columns

struct StridedGrid {
    int vectors_per_block = 1;
    int strips_per_block = 1;
    int64_t col_strips = 1;  // strips of 2 * kPairs dx columns (counted from u = 0) across a row
    int64_t strips = 0;      // images x rows x col_strips
    int64_t strip_blocks = 0;  // groups of strips_per_block strips
};

// One thread's strip: 2 * kPairs dx columns of one dx row, one channel vector.
template <DType D, int K, typename Slice = typename FilterStaging<D, K>::Slice>
__device__ __forceinline__ void sum_strip(const DepthwiseParams& prm, const StridedGrid& grid,
                                          const typename Slice::TapT (*taps)[Slice::kRow], const StripThread& place) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int V = 16 / static_cast<int>(sizeof(T));
    constexpr int J = (K + 1) / 2;            // filter taps of one parity at most
    constexpr int kWindow = kPairs + J - 1;  // dy columns under a strip
    const int vec = place.vec;
    const int64_t c = place.c;
    const int a0 = static_cast<int>(place.strip % grid.col_strips) * kPairs;
    const int64_t row = place.strip / grid.col_strips;
    const int ih = static_cast<int>(row % prm.h);
    const int64_t n = row / prm.h;

    float acc[2 * kPairs][V];
#pragma unroll
    for (int t = 0; t < 2 * kPairs; ++t)
#pragma unroll
        for (int e = 0; e < V; ++e) acc[t][e] = 0.0f;
    const int rows_u = ih + static_cast<int>(prm.pad_h);
    const int row_parity = rows_u & 1, row_half = rows_u >> 1;
    const int ow0 = a0 - (J - 1);  // dy column of window vector 0
    const T* dy_image = static_cast<const T*>(prm.y) + n * prm.y_stride[kN] + c;
#pragma unroll
    for (int i = 0; i < J; ++i) {
        const int fr = row_parity + 2 * i;
        const int oh = row_half - i;
        if (fr >= K || oh < 0) break;
        if (oh >= prm.p) continue;
        const T* dy_row = dy_image + oh * prm.y_stride[kH];
        float window[kWindow][V];
#pragma unroll
        for (int m = 0; m < kWindow; ++m) {
            const int ow = ow0 + m;
            const uint4 raw = static_cast<unsigned>(ow) < prm.q
                                  ? __ldg(reinterpret_cast<const uint4*>(dy_row + ow * prm.y_stride[kW]))
                                  : make_uint4(0, 0, 0, 0);
            widen_vector<D>(raw, window[m]);
        }
#pragma unroll
        for (int fs = 0; fs < K; ++fs) {
            float w[V];
            load_tap<D, Slice>(taps[fr * K + fs], vec, w);
            const int b = fs & 1, j = fs >> 1;
#pragma unroll
            for (int qa = 0; qa < kPairs; ++qa)
#pragma unroll
                for (int e = 0; e < V; ++e) acc[2 * qa + b][e] += window[qa - j + J - 1][e] * w[e];
        }
    }

    T* dx = static_cast<T*>(prm.x);
    const T* residual = static_cast<const T*>(prm.residual);
#pragma unroll
    for (int t = 0; t < 2 * kPairs; ++t) {
        const int iw = 2 * a0 + t - static_cast<int>(prm.pad_w);
        if (iw < 0 || iw >= prm.w) continue;
        const int64_t offset = n * prm.x_stride[kN] + ih * prm.x_stride[kH] + iw * prm.x_stride[kW] + c;
        float old[V];
        if (residual != nullptr) widen_vector<D>(__ldg(reinterpret_cast<const uint4*>(residual + offset)), old);
        uint4 out;
        T* values = reinterpret_cast<T*>(&out);
#pragma unroll
        for (int e = 0; e < V; ++e) {
            const float v = prm.alpha * acc[t][e] + (residual != nullptr ? prm.residual_scale * old[e] : 0.0f);
            values[e] = DTypeTraits<D>::from_float(v);
        }
        *reinterpret_cast<uint4*>(dx + offset) = out;
    }
}

template <DType D, int K>
__global__ void __launch_bounds__(kThreads)
    data_grad_nhwc_s2_kernel(DepthwiseParams prm, StridedGrid grid) {
    using Staging = FilterStaging<D, K>;
    constexpr int V = Staging::V;
    __shared__ __align__(16) typename Staging::TapT taps[K * K][Staging::Slice::kRow];

    const int64_t c_begin = static_cast<int64_t>(blockIdx.y) * grid.vectors_per_block * V;
    stage_filter_taps<D, K, typename Staging::Slice, Staging::kInFlight>(prm, c_begin, grid.vectors_per_block * V,
                                                                        taps);
    for (int64_t strip_block = blockIdx.x; strip_block < grid.strip_blocks; strip_block += gridDim.x) {
        StripThread place;
        if (place_strip_thread<V>(grid, strip_block, c_begin, prm.c, &place)) {
            sum_strip<D, K>(prm, grid, taps, place);
        }
    }
}

template <DType D, int K>
cudaError_t launch_size(const DepthwiseParams& p, cudaStream_t stream) {
    constexpr int V = 16 / static_cast<int>(sizeof(typename DTypeTraits<D>::Storage));
    StridedGrid grid;
    const int64_t vectors = p.c / V;
    constexpr int kVectors = FilterStaging<D, K>::kVectors;
    const int64_t channel_blocks = (vectors + kVectors - 1) / kVectors;
    grid.vectors_per_block = static_cast<int>((vectors + channel_blocks - 1) / channel_blocks);
    grid.strips_per_block = kThreads / grid.vectors_per_block;
    grid.col_strips = (p.w + p.pad_w + 2 * kPairs - 1) / (2 * kPairs);
    grid.strips = p.n * p.h * grid.col_strips;
    grid.strip_blocks = (grid.strips + grid.strips_per_block - 1) / grid.strips_per_block;
    if (channel_blocks > 65535) return cudaErrorInvalidConfiguration;
    // As many blocks as the GPU holds at once, each walking groups of strips: the filter slice is staged once a block.
    const int64_t resident = resident_blocks<data_grad_nhwc_s2_kernel<D, K>, kThreads>();
    const int64_t walkers = resident > 0 ? std::max<int64_t>(1, resident / channel_blocks) : grid.strip_blocks;
    const int64_t blocks = std::min<int64_t>({grid.strip_blocks, walkers, 0x7fffffff});
    data_grad_nhwc_s2_kernel<D, K>
        <<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(channel_blocks)), kThreads, 0, stream>>>(p,
                                                                                                               grid);
    return cudaGetLastError();
}

template <DType D>
cudaError_t launch_dtype(const DepthwiseParams& p, cudaStream_t stream) {
    return with_filter_size(p.r, [&](auto k) { return launch_size<D, decltype(k)::value>(p, stream); });
}

}  // namespace

bool data_grad_nhwc_s2_applies(const DepthwiseParams& p) {
    // The forward NHWC path's layout conditions (16-byte channel vectors in dx and dy, square 3/5/7, no dilation,
    // multiplier 1) at stride 2; rows and columns are counted in 32-bit integers.
    const bool fits = p.h + p.pad_h < (int64_t{1} << 30) && p.w + p.pad_w < (int64_t{1} << 30) &&
                      p.p < (int64_t{1} << 30) && p.q < (int64_t{1} << 30);
    return p.stride_h == 2 && nhwc_vec_applies(p) && fits;
}

bool data_grad_nhwc_s2_aligned(const DepthwiseParams& p) {
    return data_grad_nhwc_s2_applies(p) && nhwc_vec_aligned(p) && reinterpret_cast<uintptr_t>(p.residual) % 16 == 0;
}

cudaError_t data_grad_nhwc_s2(const DepthwiseParams& p, cudaStream_t stream) {
    return with_dtype(p.dtype, [&](auto d) { return launch_dtype<decltype(d)::value>(p, stream); });
}

}  // namespace dwshim
