// Staging a row of a tile in shared memory from a tensor of any strides, zero where the row has no data, and where to
// start the tile so that contiguous rows load in pairs: what the tensor-core kernels share (forward/toeplitz_tiles.cuh,
// filter_grad/large_filter_toeplitz.cu).
#pragma once

#include <cstdint>

#include "kernels/common/dtype_traits.cuh"
#include "kernels/depthwise_params.h"

namespace dwshim {

// target[c] = row[(first + c) * step] for the c in [begin, end) whose source column first + c lies in [0, extent),
// else 0 (all 0 where !inside), for c in [0, width); the lanes of a warp take every 32nd column (pair of columns on
// contiguous rows). Returns whether a staged value is an Inf or NaN (Atom::non_finite). width is even and target
// aligned for two values.
template <typename Atom>
__device__ __forceinline__ bool stage_row(typename Atom::Value* target, const typename Atom::Value* row, int64_t first,
                                          int64_t step, int begin, int end, int64_t extent, int width, bool inside,
                                          int lane) {
    using Value = typename Atom::Value;
    using Pair = typename VectorOf<2 * sizeof(Value)>::Type;
    const int64_t lo = first < 0 ? max(static_cast<int64_t>(begin), -first) : begin;
    const int64_t hi = min(static_cast<int64_t>(end), extent - first);
    const unsigned count = inside && hi > lo ? static_cast<unsigned>(hi - lo) : 0u;
    const int lo_col = static_cast<int>(lo);
    const auto valid = [&](int c) { return static_cast<unsigned>(c - lo_col) < count; };
    bool non_finite = false;
    // Contiguous rows whose even columns are aligned for a pair (target's are: width and its start are even): a
    // lane stages two columns with one load where both hold data.
    if (step == 1 && reinterpret_cast<uintptr_t>(row + first) % sizeof(Pair) == 0) {
        const Value* source = row + first;
#pragma unroll 2
        for (int c = 2 * lane; c < width; c += 64) {
            Value v[2] = {0, 0};
            if (valid(c) && valid(c + 1)) {
                const Pair pair = __ldg(reinterpret_cast<const Pair*>(source + c));
                memcpy(v, &pair, sizeof pair);
            } else {
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    if (valid(c + e)) v[e] = __ldg(source + c + e);
                }
            }
            non_finite |= Atom::non_finite(v[0]) || Atom::non_finite(v[1]);
            Pair pair;
            memcpy(&pair, v, sizeof pair);
            *reinterpret_cast<Pair*>(target + c) = pair;
        }
        return non_finite;
    }
    const Value* source = row + (first + lane) * step;
#pragma unroll 4
    for (int c = lane; c < width; c += 32, source += 32 * step) {
        Value v = 0;
        if (valid(c)) {
            v = __ldg(source);
            non_finite |= Atom::non_finite(v);
        }
        target[c] = v;
    }
    return non_finite;
}

// Where x's rows are contiguous and all start at the same parity: the columns (0 or 1) to stage before a tile's
// first window column so that its even columns sit on addresses aligned for two values (stage_row then loads them
// in pairs); 0 elsewhere.
template <typename Atom>
int aligning_shift(const DepthwiseParams& p) {
    const bool same_parity = p.x_stride[kW] == 1 && p.x_stride[kH] % 2 == 0 && p.x_stride[kC] % 2 == 0 &&
                             p.x_stride[kN] % 2 == 0;
    const auto element = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p.x) / sizeof(typename Atom::Value));
    return same_parity ? static_cast<int>((element - p.pad_w) & 1) : 0;
}

}  // namespace dwshim
