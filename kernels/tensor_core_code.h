// Whether a tensor-core kernel can run on the current device.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <mutex>

namespace dwshim {

// Whether the code of `kernel` that runs on the current device has mma.sync and ldmatrix: built for compute
// capability 8.0 on, and not JIT-compiled from older PTX (where those bodies are empty). Asked once per device and
// kernel signature: the library builds every kernel for the same architectures, so one answers for the others.
template <typename Kernel>
bool has_mma_code(Kernel kernel) {
    constexpr int kMaxDevices = 64;
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
    static std::array<std::once_flag, kMaxDevices> once;
    static std::array<bool, kMaxDevices> usable{};
    std::call_once(once[device], [device, kernel] {
        cudaFuncAttributes attributes{};
        const bool read = cudaFuncGetAttributes(&attributes, kernel) == cudaSuccess;
        usable[device] = read && attributes.binaryVersion >= 80 && attributes.ptxVersion >= 80;
    });
    return usable[device];
}

}  // namespace dwshim
