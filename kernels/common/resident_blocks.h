// How many blocks of a kernel the current GPU holds at once, for launches that size their grid to one wave and let
// each block walk several units of work (staging what the units share once a block).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/per_device_cache.h"

namespace dwshim {

// Blocks of kKernel at kThreads threads and no dynamic shared memory that the current device holds at once; asked
// once per device, 0 where the device cannot tell.
template <auto* kKernel, int kThreads>
int64_t resident_blocks() {
    return per_device_cached<int64_t>(0, [](int device) -> int64_t {
        int sms = 0, per_sm = 0;
        const bool read = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
                          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kKernel, kThreads, 0) == cudaSuccess;
        return read ? int64_t{sms} * per_sm : 0;
    });
}

}  // namespace dwshim
