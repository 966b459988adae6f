// NCHW, stride_h == 1: each thread owns one output column of one (n, k) plane and walks down a band of rows.
// Every input row it loads feeds K output rows at once, so x is read once per band (plus a K-1 row halo)
// instead of K times; lanes own consecutive columns, so loads and stores coalesce.
#include "depthwise_nchw_rows.h"
#include "epilogue.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 128;   // columns per block
constexpr int kBandRows = 32;   // output rows per block

template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kThreads) depthwise_nchw_rows_kernel(DepthwiseParams prm, int64_t col_blocks,
                                                                         int64_t bands) {
    using Traits = DTypeTraits<D>;
    using T = typename Traits::Storage;

    int64_t block = blockIdx.x;
    const int64_t col_block = block % col_blocks;
    block /= col_blocks;
    const int64_t band = block % bands;
    const int64_t plane = block / bands;  // n * k + output channel
    const int64_t n = plane / prm.k;
    const int64_t k = plane % prm.k;
    const int64_t ow = col_block * kThreads + threadIdx.x;
    if (ow >= prm.q) return;

    float taps[K][K];
    const T* filter = static_cast<const T*>(prm.filter) + k * K * K;
#pragma unroll
    for (int r = 0; r < K; ++r)
#pragma unroll
        for (int s = 0; s < K; ++s) {
            const int tr = prm.flip ? K - 1 - r : r;
            const int ts = prm.flip ? K - 1 - s : s;
            taps[r][s] = Traits::load(filter + tr * K + ts);
        }

    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + (k / prm.multiplier) * prm.x_stride[kC];
    const int64_t y_plane = n * prm.y_stride[kN] + k * prm.y_stride[kC] + ow;
    T* y = static_cast<T*>(prm.y);
    const float bias = kFused ? bias_of<D>(prm, k) : 0.0f;

    // Input columns this output reads, and whether each lies inside the row.
    const int64_t iw0 = ow * prm.stride_w - prm.pad_w;
    bool col_ok[K];
#pragma unroll
    for (int s = 0; s < K; ++s) {
        const int64_t iw = iw0 + s * prm.dil_w;
        col_ok[s] = iw >= 0 && iw < prm.w;
    }

    const int64_t oh_begin = band * kBandRows;
    const int64_t oh_end = oh_begin + kBandRows < prm.p ? oh_begin + kBandRows : prm.p;
    // acc[r] collects output row (ih + pad_h - r); after input row ih, acc[K-1] is complete.
    float acc[K];
#pragma unroll
    for (int r = 0; r < K; ++r) acc[r] = 0.0f;
    for (int64_t ih = oh_begin - prm.pad_h; ih < oh_end - prm.pad_h + K - 1; ++ih) {
        float v[K];
        const bool row_ok = ih >= 0 && ih < prm.h;
        const T* row = x + ih * prm.x_stride[kH] + iw0;
#pragma unroll
        for (int s = 0; s < K; ++s) v[s] = row_ok && col_ok[s] ? Traits::load(row + s * prm.dil_w) : 0.0f;
#pragma unroll
        for (int r = 0; r < K; ++r)
#pragma unroll
            for (int s = 0; s < K; ++s) acc[r] += v[s] * taps[r][s];
        const int64_t oh = ih + prm.pad_h - (K - 1);
        if (oh >= oh_begin) {
            const int64_t offset = y_plane + oh * prm.y_stride[kH];
            y[offset] = Traits::from_float(epilogue<D, kFused>(prm, acc[K - 1], bias, offset));
        }
#pragma unroll
        for (int r = K - 1; r > 0; --r) acc[r] = acc[r - 1];
        acc[0] = 0.0f;
    }
}

}  // namespace

bool nchw_rows_applies(const DepthwiseParams& p) {
    const bool size_instantiated = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    return size_instantiated && p.x_stride[kW] == 1 && p.y_stride[kW] == 1 && p.stride_h == 1 && p.dil_h == 1;
}

template <DType D, int K>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream) {
    const int64_t col_blocks = (params.q + kThreads - 1) / kThreads;
    const int64_t bands = (params.p + kBandRows - 1) / kBandRows;
    const int64_t blocks = params.n * params.k * bands * col_blocks;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const auto kernel = needs_fused_epilogue(params) ? depthwise_nchw_rows_kernel<D, K, true>
                                                     : depthwise_nchw_rows_kernel<D, K, false>;
    kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(params, col_blocks, bands);
    return cudaGetLastError();
}

#define DWSHIM_INSTANTIATE_NCHW_ROWS(D)                                                                  \
    template cudaError_t launch_depthwise_nchw_rows<D, 3>(const DepthwiseParams&, cudaStream_t);        \
    template cudaError_t launch_depthwise_nchw_rows<D, 5>(const DepthwiseParams&, cudaStream_t);        \
    template cudaError_t launch_depthwise_nchw_rows<D, 7>(const DepthwiseParams&, cudaStream_t);
DWSHIM_INSTANTIATE_NCHW_ROWS(DType::kFloat)
DWSHIM_INSTANTIATE_NCHW_ROWS(DType::kHalf)
DWSHIM_INSTANTIATE_NCHW_ROWS(DType::kBFloat16)
#undef DWSHIM_INSTANTIATE_NCHW_ROWS

}  // namespace dwshim
