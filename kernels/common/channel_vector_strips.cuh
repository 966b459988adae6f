// What the channels-innermost kernels that give each thread a 16-byte channel vector over a strip of outputs
// share (the forward's NHWC path, the stride-2 data gradient): the block's filter slice staged in shared memory
// as [tap][channel], and each thread's channel vector and strip.
#pragma once

#include <cstdint>

#include "kernels/common/dtype_traits.cuh"
#include "kernels/depthwise_params.h"

namespace dwshim {

// A block's filter slice in shared memory: taps[tap] holds kVectors channel vectors of V channels, stored as TapT
// (fp32, or the tensor's own type), laid out as [V / kPerRead][kVectors][kPerRead] so that lanes reading the same
// 16-byte part of consecutive vectors read consecutive 16 bytes: conflict-free, where [kVectors][V] in fp32 put
// the vectors of a 2-byte type 32 bytes apart (4-way conflicts: KB84 bf16 NHWC 1.79 ms against 1.25 without).
// A tap's row holds its values and kPadValues more: staging walks consecutive taps across a warp, and rows a
// multiple of 32 words long put those stores in one bank.
template <typename Tap, int kV, int kVectorCount, int kPadValues = 0>
struct TapSlice {
    using TapT = Tap;
    static constexpr int V = kV, kVectors = kVectorCount;
    static constexpr int kPerVector = 16 / static_cast<int>(sizeof(TapT));  // values in one 16-byte read
    static constexpr int kPerRead = kPerVector < V ? kPerVector : V;
    static constexpr int kValues = V * kVectors;
    static constexpr int kRow = kValues + kPadValues;
    static __device__ __forceinline__ int index(int c) {
        return ((c % V) / kPerRead * kVectors + c / V) * kPerRead + c % kPerRead;
    }
};

// Stores filter value `i` of the slice (channel i / (K * K), tap i % (K * K), rotated for true convolution) into the
// block's tap slices.
template <DType D, int K, typename Slice>
__device__ __forceinline__ void store_filter_value(const DepthwiseParams& prm, int i,
                                                   typename DTypeTraits<D>::Storage value,
                                                   typename Slice::TapT (*taps)[Slice::kRow]) {
    const int c = i / (K * K);
    const int source_tap = i % (K * K);
    const int tap = prm.flip ? K * K - 1 - source_tap : source_tap;
    if constexpr (sizeof(typename Slice::TapT) == sizeof(value)) {
        taps[tap][Slice::index(c)] = value;
    } else {
        taps[tap][Slice::index(c)] = DTypeTraits<D>::to_float(value);
    }
}

// Stages filter[c_begin + c][tap] (rotated for true convolution) into the block's tap slices for its `channels`
// channels; a channel past the tensor gets zeros, which no thread reads. The slice is contiguous in the filter:
// where it starts on 16 bytes and lies inside the tensor, each thread reads it 16 bytes at a time (a 2-byte 5 x 5
// slice of 16 channels: 50 loads instead of 400). Each thread issues kInFlight loads before it stores any: with one
// load and one store a step, each step waited out a load's latency, and a block of the stride-2 data gradient or of
// a small-plane forward has little else to hide it behind (H200 run 2026-12-04zh, 4 in flight: effnet_k5s2 bf16
// data gradient 0.104 -> 0.095 ms, c1152_7x7_k5s1 bf16 forward 0.030 -> 0.028, convnext7 f32 0.346 -> 0.317; 8 in
// flight gained less). Ends with a barrier.
template <DType D, int K, typename Slice, int kInFlight = 4>
__device__ __forceinline__ void stage_filter_taps(const DepthwiseParams& prm, int64_t c_begin, int channels,
                                                  typename Slice::TapT (*taps)[Slice::kRow]) {
    using T = typename DTypeTraits<D>::Storage;
    constexpr int kPerLoad = 16 / static_cast<int>(sizeof(T));
    const T* filter = static_cast<const T*>(prm.filter);
    const T* slice = filter + c_begin * K * K;
    const int count = K * K * channels;
    const bool by_vectors = reinterpret_cast<uintptr_t>(slice) % 16 == 0 && count % kPerLoad == 0 &&
                            c_begin + channels <= prm.c;
    if (by_vectors) {
        const uint4* vectors = reinterpret_cast<const uint4*>(slice);
        const int vector_count = count / kPerLoad;
        for (int first = threadIdx.x; first < vector_count; first += kInFlight * blockDim.x) {
            uint4 raw[kInFlight];
#pragma unroll
            for (int b = 0; b < kInFlight; ++b) {
                const int v = first + b * static_cast<int>(blockDim.x);
                raw[b] = v < vector_count ? __ldg(vectors + v) : make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (int b = 0; b < kInFlight; ++b) {
                const int v = first + b * static_cast<int>(blockDim.x);
                if (v >= vector_count) break;
                const T* values = reinterpret_cast<const T*>(&raw[b]);
#pragma unroll
                for (int e = 0; e < kPerLoad; ++e) {
                    store_filter_value<D, K, Slice>(prm, v * kPerLoad + e, values[e], taps);
                }
            }
        }
    } else {
        for (int first = threadIdx.x; first < count; first += kInFlight * blockDim.x) {
            T values[kInFlight];
#pragma unroll
            for (int b = 0; b < kInFlight; ++b) {
                const int i = first + b * static_cast<int>(blockDim.x);
                values[b] = i < count && c_begin + i / (K * K) < prm.c ? DTypeTraits<D>::load_raw(slice + i)
                                                                       : DTypeTraits<D>::from_float(0.0f);
            }
#pragma unroll
            for (int b = 0; b < kInFlight; ++b) {
                const int i = first + b * static_cast<int>(blockDim.x);
                if (i >= count) break;
                store_filter_value<D, K, Slice>(prm, i, values[b], taps);
            }
        }
    }
    __syncthreads();  // the filter slice is complete before any thread reads it
}

// The V weights of channel vector `vec` in one tap's slice, as fp32.
template <DType D, typename Slice>
__device__ __forceinline__ void load_tap(const typename Slice::TapT* slice, int vec, float (&w)[Slice::V]) {
    constexpr int kPerRead = Slice::kPerRead;
    constexpr DType kTapType = sizeof(typename Slice::TapT) == 4 ? DType::kFloat : D;
    using Read = typename VectorOf<kPerRead * static_cast<int>(sizeof(typename Slice::TapT))>::Type;
#pragma unroll
    for (int q = 0; q < Slice::V / kPerRead; ++q) {
        widen_vector<kTapType>(*reinterpret_cast<const Read*>(slice + (q * Slice::kVectors + vec) * kPerRead),
                               &w[q * kPerRead]);
    }
}

struct StripThread {
    int vec = 0;         // channel vector within the block
    int64_t strip = 0;   // strip within the launch
    int64_t c = 0;       // first channel
};

// This thread's place in the block's `strip_block`-th group of strips, when lanes take consecutive channel vectors
// of grid.vectors_per_block and rows of lanes take consecutive strips; false for a thread with no strip or no
// channels.
template <int V, typename Grid>
__device__ __forceinline__ bool place_strip_thread(const Grid& grid, int64_t strip_block, int64_t c_begin,
                                                   int64_t channels, StripThread* t) {
    t->vec = threadIdx.x % grid.vectors_per_block;
    t->strip = strip_block * grid.strips_per_block + threadIdx.x / grid.vectors_per_block;
    t->c = c_begin + static_cast<int64_t>(t->vec) * V;
    return threadIdx.x < grid.strips_per_block * grid.vectors_per_block && t->strip < grid.strips && t->c < channels;
}

}  // namespace dwshim
