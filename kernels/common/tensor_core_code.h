// Whether a tensor-core kernel can run on the current device.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/common/per_device_cache.h"

namespace dwshim {

// Whether the code of `kernel` that runs on the current device has mma.sync and ldmatrix: built for compute
// capability 8.0 on, and not JIT-compiled from older PTX (where those bodies are empty). Asked once per device and
// kernel signature: the library builds every kernel for the same architectures, so one answers for the others.
template <typename Kernel>
bool has_mma_code(Kernel kernel) {
    return per_device_cached<bool>(false, [kernel](int) {
        cudaFuncAttributes attributes{};
        const bool read = cudaFuncGetAttributes(&attributes, kernel) == cudaSuccess;
        return read && attributes.binaryVersion >= 80 && attributes.ptxVersion >= 80;
    });
}

}  // namespace dwshim
