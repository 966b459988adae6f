// Copies a 4-D tensor of any strides into packed NCHW, so that a kernel measured on row-contiguous data can serve
// channels-last calls from a copy in its workspace (common/packed_nchw_copy.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

// Strides (in elements) of a packed NCHW tensor of these sizes (N, C, H, W).
void packed_nchw_strides(const int64_t sizes[4], int64_t strides[4]);
size_t dtype_bytes(DType dtype);
// target[n][c][h][w] = source[n * strides[kN] + c * strides[kC] + h * strides[kH] + w * strides[kW]].
cudaError_t copy_to_packed_nchw(DType dtype, const int64_t sizes[4], const int64_t strides[4], const void* source,
                                void* target, cudaStream_t stream);

}  // namespace dwshim
