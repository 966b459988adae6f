// Storage types and their conversions to and from the fp32 accumulator.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

template <DType D>
struct DTypeTraits;

// load_raw reads a value without widening it, so that a prefetched value holds one register until it is used.
template <>
struct DTypeTraits<DType::kFloat> {
    using Storage = float;
    static __device__ __forceinline__ Storage load_raw(const Storage* p) { return __ldg(p); }
    static __device__ __forceinline__ float load(const Storage* p) { return __ldg(p); }
    static __device__ __forceinline__ float to_float(Storage v) { return v; }
    static __device__ __forceinline__ Storage from_float(float v) { return v; }
};

template <>
struct DTypeTraits<DType::kHalf> {
    using Storage = __half;
    // Through the 16-bit integer __ldg: the __half overload is inline assembly, which the compiler may execute
    // speculatively ahead of a null check (seen: an optional bias read at address 0x10).
    static __device__ __forceinline__ Storage load_raw(const Storage* p) {
        return __ushort_as_half(__ldg(reinterpret_cast<const unsigned short*>(p)));
    }
    static __device__ __forceinline__ float load(const Storage* p) { return __half2float(load_raw(p)); }
    static __device__ __forceinline__ float to_float(Storage v) { return __half2float(v); }
    static __device__ __forceinline__ Storage from_float(float v) { return __float2half_rn(v); }
    // The two values packed in a 32-bit word (the lower half first).
    static __device__ __forceinline__ void widen_pair(unsigned word, float* out) {
        __half2 pair;
        memcpy(&pair, &word, sizeof pair);
        const float2 wide = __half22float2(pair);
        out[0] = wide.x;
        out[1] = wide.y;
    }
};

template <>
struct DTypeTraits<DType::kBFloat16> {
    using Storage = __nv_bfloat16;
    // Widening bf16 is a 16-bit shift: exact, and it needs no sm_80 instructions.
    static __device__ __forceinline__ Storage load_raw(const Storage* p) {
        __nv_bfloat16_raw raw;
        raw.x = __ldg(reinterpret_cast<const unsigned short*>(p));
        return raw;
    }
    static __device__ __forceinline__ float load(const Storage* p) {
        return widen(__ldg(reinterpret_cast<const unsigned short*>(p)));
    }
    static __device__ __forceinline__ float to_float(Storage v) { return widen(__nv_bfloat16_raw(v).x); }
    static __device__ __forceinline__ float widen(unsigned short bits) {
        return __uint_as_float(static_cast<unsigned int>(bits) << 16);
    }
    static __device__ __forceinline__ Storage from_float(float v) { return __float2bfloat16_rn(v); }
    static __device__ __forceinline__ void widen_pair(unsigned word, float* out) {
        out[0] = __uint_as_float(word << 16);
        out[1] = __uint_as_float(word & 0xffff0000u);
    }
};

// Stores v with the streaming (evict-first) hint. 2-byte values go through the 16-bit integer overload: CUDA 11.8
// declares __stcs for bf16 only from sm_80 on.
template <typename T>
__device__ __forceinline__ void store_streaming(T* p, T v) {
    static_assert(sizeof(T) == 2 || sizeof(T) == 4, "fp32, fp16 or bf16");
    if constexpr (sizeof(T) == 4) {
        __stcs(p, v);
    } else {
        unsigned short bits;
        memcpy(&bits, &v, sizeof bits);
        __stcs(reinterpret_cast<unsigned short*>(p), bits);
    }
}

// The unsigned integer vector of kBytes bytes (4, 8 or 16).
template <int kBytes>
struct VectorOf;
template <>
struct VectorOf<4> {
    using Type = unsigned;
};
template <>
struct VectorOf<8> {
    using Type = uint2;
};
template <>
struct VectorOf<16> {
    using Type = uint4;
};

// The sizeof(Vec) / sizeof(storage) values packed in an integer vector, widened to floats in out[0 ..). 2-byte
// values are taken two to a 32-bit word: one instruction per value, where extracting each 16-bit value first
// costs two.
template <DType D, typename Vec>
__device__ __forceinline__ void widen_vector(const Vec& raw, float* out) {
    constexpr int kWords = static_cast<int>(sizeof(Vec)) / 4;
    unsigned words[kWords];
    memcpy(words, &raw, sizeof raw);
#pragma unroll
    for (int j = 0; j < kWords; ++j) {
        if constexpr (sizeof(typename DTypeTraits<D>::Storage) == 4) {
            out[j] = __uint_as_float(words[j]);
        } else {
            DTypeTraits<D>::widen_pair(words[j], &out[2 * j]);
        }
    }
}

}  // namespace dwshim
