// What the channels-innermost kernels that give each thread a 16-byte channel vector over a strip of outputs
// share (the forward's NHWC path, the stride-2 data gradient): the block's filter slice staged in shared memory
// as [tap][channel], and each thread's channel vector and strip.
#pragma once

#include <cstdint>

#include "depthwise_params.h"

namespace dwshim {

// Stages filter[c_begin + c][tap] (rotated for true convolution) into taps[tap][c] for the block's `channels`
// channels; a channel past the tensor gets filter[0], which no thread reads. Ends with a barrier.
template <int K, typename T, int kTapStride>
__device__ __forceinline__ void stage_filter_taps(const DepthwiseParams& prm, int64_t c_begin, int channels,
                                                  T (*taps)[kTapStride]) {
    const T* filter = static_cast<const T*>(prm.filter);
    for (int i = threadIdx.x; i < K * K * channels; i += blockDim.x) {
        const int c = i / (K * K);
        const int tap = i % (K * K);
        const int r = tap / K, s = tap % K;
        const int source_tap = prm.flip ? (K - 1 - r) * K + (K - 1 - s) : tap;
        T value = filter[0];
        if (c_begin + c < prm.c) value = filter[(c_begin + c) * K * K + source_tap];
        taps[tap][c] = value;
    }
    __syncthreads();  // the filter slice is complete before any thread reads it
}

struct StripThread {
    int vec = 0;         // channel vector within the block
    int64_t strip = 0;   // strip within the launch
    int64_t c = 0;       // first channel
};

// This thread's place when lanes take consecutive channel vectors of grid.vectors_per_block and rows of lanes
// take consecutive strips; false for a thread with no strip or no channels.
template <int V, typename Grid>
__device__ __forceinline__ bool place_strip_thread(const Grid& grid, int64_t c_begin, int64_t channels,
                                                   StripThread* t) {
    t->vec = threadIdx.x % grid.vectors_per_block;
    t->strip = static_cast<int64_t>(blockIdx.x) * grid.strips_per_block + threadIdx.x / grid.vectors_per_block;
    t->c = c_begin + static_cast<int64_t>(t->vec) * V;
    return threadIdx.x < grid.strips_per_block * grid.vectors_per_block && t->strip < grid.strips && t->c < channels;
}

}  // namespace dwshim
