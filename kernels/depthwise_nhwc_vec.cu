// NHWC: each thread computes one output pixel for one 16-byte vector of channels (4 fp32 or 8 fp16/bf16), so
// loads and stores are 16 bytes wide and consecutive lanes touch consecutive channels. The block's filter slice
// is staged in shared memory transposed to [tap][channel], so each tap's weights are one vector read too.
#include <cstdint>

#include "depthwise_nhwc_vec.h"
#include "epilogue.cuh"

namespace dwshim {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxVectorsPerPixel = 32;  // channel vectors one block covers

template <typename T>
constexpr int kVector = 16 / static_cast<int>(sizeof(T));

template <DType D>
struct VectorIo {
    using T = typename DTypeTraits<D>::Storage;
    static constexpr int V = kVector<T>;
    static __device__ __forceinline__ void load(const T* p, float (&out)[V]) {
        const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
        const T* v = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) out[j] = DTypeTraits<D>::to_float(v[j]);
    }
    static __device__ __forceinline__ void load_shared(const T* p, float (&out)[V]) {
        const uint4 raw = *reinterpret_cast<const uint4*>(p);
        const T* v = reinterpret_cast<const T*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) out[j] = DTypeTraits<D>::to_float(v[j]);
    }
    static __device__ __forceinline__ void store(T* p, const float (&in)[V]) {
        uint4 raw;
        T* v = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int j = 0; j < V; ++j) v[j] = DTypeTraits<D>::from_float(in[j]);
        *reinterpret_cast<uint4*>(p) = raw;
    }
};

template <DType D, int K, bool kFused>
__global__ void __launch_bounds__(kThreads) depthwise_nhwc_vec_kernel(DepthwiseParams prm, int vectors_per_block) {
    using Io = VectorIo<D>;
    using T = typename Io::T;
    constexpr int V = Io::V;
    // [tap][channel within the block], 16-byte aligned rows.
    __shared__ __align__(16) T taps[K * K][kMaxVectorsPerPixel * V];

    const int channels_in_block = vectors_per_block * V;
    const int64_t c_begin = static_cast<int64_t>(blockIdx.y) * channels_in_block;
    const T* filter = static_cast<const T*>(prm.filter);
    for (int i = threadIdx.x; i < K * K * channels_in_block; i += blockDim.x) {
        const int c = i / (K * K);
        const int tap = i % (K * K);
        const int r = tap / K, s = tap % K;
        const int source_tap = prm.flip ? (K - 1 - r) * K + (K - 1 - s) : tap;
        T value = filter[0];
        if (c_begin + c < prm.c) value = filter[(c_begin + c) * K * K + source_tap];
        taps[tap][c] = value;
    }
    __syncthreads();  // the filter slice is complete before any thread reads it

    const int pixels_per_block = kThreads / vectors_per_block;
    const int vec = threadIdx.x % vectors_per_block;
    const int64_t pixel = static_cast<int64_t>(blockIdx.x) * pixels_per_block + threadIdx.x / vectors_per_block;
    const int64_t c = c_begin + static_cast<int64_t>(vec) * V;
    if (threadIdx.x >= pixels_per_block * vectors_per_block || pixel >= prm.n * prm.p * prm.q || c >= prm.c) return;
    const int64_t ow = pixel % prm.q;
    const int64_t oh = (pixel / prm.q) % prm.p;
    const int64_t n = pixel / (prm.q * prm.p);

    const T* x = static_cast<const T*>(prm.x) + n * prm.x_stride[kN] + c;
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = 0.0f;
#pragma unroll
    for (int r = 0; r < K; ++r) {
        const int64_t ih = oh * prm.stride_h - prm.pad_h + r * prm.dil_h;
        if (ih < 0 || ih >= prm.h) continue;
#pragma unroll
        for (int s = 0; s < K; ++s) {
            const int64_t iw = ow * prm.stride_w - prm.pad_w + s * prm.dil_w;
            if (iw < 0 || iw >= prm.w) continue;
            float xv[V], wv[V];
            Io::load(x + ih * prm.x_stride[kH] + iw * prm.x_stride[kW], xv);
            Io::load_shared(&taps[r * K + s][vec * V], wv);
#pragma unroll
            for (int j = 0; j < V; ++j) acc[j] += xv[j] * wv[j];
        }
    }
    const int64_t offset = n * prm.y_stride[kN] + oh * prm.y_stride[kH] + ow * prm.y_stride[kW] + c;
#pragma unroll
    for (int j = 0; j < V; ++j) {
        acc[j] = epilogue<D, kFused>(prm, acc[j], kFused ? bias_of<D>(prm, c + j) : 0.0f, offset + j);
    }
    Io::store(static_cast<T*>(prm.y) + offset, acc);
}

int vector_elems(DType dtype) {
    return dtype == DType::kFloat ? 4 : 8;
}

}  // namespace

bool nhwc_vec_applies(const DepthwiseParams& p) {
    const int64_t v = vector_elems(p.dtype);
    const bool size_instantiated = p.r == p.s && (p.r == 3 || p.r == 5 || p.r == 7);
    return size_instantiated && p.multiplier == 1 && p.x_stride[kC] == 1 && p.y_stride[kC] == 1 && p.c % v == 0 &&
           p.x_stride[kN] % v == 0 && p.x_stride[kH] % v == 0 && p.x_stride[kW] % v == 0 &&
           p.y_stride[kN] % v == 0 && p.y_stride[kH] % v == 0 && p.y_stride[kW] % v == 0;
}

bool nhwc_vec_aligned(const DepthwiseParams& p) {
    const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    return nhwc_vec_applies(p) && aligned(p.x) && aligned(p.y);
}

template <DType D, int K>
cudaError_t launch_depthwise_nhwc_vec(const DepthwiseParams& params, cudaStream_t stream) {
    const int64_t vectors = params.c / vector_elems(params.dtype);
    const int vectors_per_block = static_cast<int>(vectors < kMaxVectorsPerPixel ? vectors : kMaxVectorsPerPixel);
    const int pixels_per_block = kThreads / vectors_per_block;
    const int64_t pixels = params.n * params.p * params.q;
    const int64_t pixel_blocks = (pixels + pixels_per_block - 1) / pixels_per_block;
    const int64_t channel_blocks = (vectors + vectors_per_block - 1) / vectors_per_block;
    if (pixel_blocks > 0x7fffffff || channel_blocks > 65535) return cudaErrorInvalidConfiguration;
    const dim3 grid(static_cast<unsigned>(pixel_blocks), static_cast<unsigned>(channel_blocks));
    const auto kernel = needs_fused_epilogue(params) ? depthwise_nhwc_vec_kernel<D, K, true>
                                                     : depthwise_nhwc_vec_kernel<D, K, false>;
    kernel<<<grid, kThreads, 0, stream>>>(params, vectors_per_block);
    return cudaGetLastError();
}

#define DWSHIM_INSTANTIATE_NHWC_VEC(D)                                                              \
    template cudaError_t launch_depthwise_nhwc_vec<D, 3>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nhwc_vec<D, 5>(const DepthwiseParams&, cudaStream_t);    \
    template cudaError_t launch_depthwise_nhwc_vec<D, 7>(const DepthwiseParams&, cudaStream_t);
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kFloat)
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kHalf)
DWSHIM_INSTANTIATE_NHWC_VEC(DType::kBFloat16)
#undef DWSHIM_INSTANTIATE_NHWC_VEC

}  // namespace dwshim
