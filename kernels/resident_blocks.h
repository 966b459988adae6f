// How many blocks of a kernel the current GPU holds at once, for launches that size their grid to one wave and let
// each block walk several units of work (staging what the units share once a block).
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <mutex>

namespace dwshim {

// Blocks of kKernel at kThreads threads and no dynamic shared memory that the current device holds at once; asked
// once per device, 0 where the device cannot tell.
template <auto* kKernel, int kThreads>
int64_t resident_blocks() {
    constexpr int kMaxDevices = 64;
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return 0;
    static std::array<std::once_flag, kMaxDevices> once;
    static std::array<int64_t, kMaxDevices> blocks{};
    std::call_once(once[device], [device] {
        int sms = 0, per_sm = 0;
        const bool read = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess &&
                          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kKernel, kThreads, 0) == cudaSuccess;
        blocks[device] = read ? int64_t{sms} * per_sm : 0;
    });
    return blocks[device];
}

}  // namespace dwshim
