// The fp16/bf16 forward on tensor cores: the tiling of forward/toeplitz_tiles.cuh with m16n8k16
// (common/toeplitz_2byte_mma.cuh).
#include "kernels/forward/toeplitz_2byte.h"

#include "kernels/common/toeplitz_2byte_mma.cuh"
#include "kernels/forward/toeplitz_tiles.cuh"

namespace dwshim {

bool toeplitz_2byte_applies(const DepthwiseParams& params) {
    return toeplitz_forward_applies<Mma2Byte<DType::kHalf>>(params) ||
           toeplitz_forward_applies<Mma2Byte<DType::kBFloat16>>(params);
}

cudaError_t launch_depthwise_toeplitz_2byte(const DepthwiseParams& params, cudaStream_t stream) {
    return params.dtype == DType::kHalf ? launch_toeplitz_forward<Mma2Byte<DType::kHalf>>(params, stream)
                                        : launch_toeplitz_forward<Mma2Byte<DType::kBFloat16>>(params, stream);
}

}  // namespace dwshim
