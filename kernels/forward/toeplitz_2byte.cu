// The fp16/bf16 forward on tensor cores: the tiling of forward/toeplitz_tiles.cuh with m16n8k16
// (common/toeplitz_2byte_mma.cuh).
#include "kernels/forward/toeplitz_2byte.h"

#include "kernels/common/constant_dispatch.h"
#include "kernels/common/toeplitz_2byte_mma.cuh"
#include "kernels/forward/toeplitz_tiles.cuh"

namespace dwshim {

bool toeplitz_2byte_applies(const DepthwiseParams& params) {
    return with_2byte_dtype_or(params.dtype, false, [&](auto d) {
        return toeplitz_forward_applies<Mma2Byte<decltype(d)::value>>(params);
    });
}

cudaError_t launch_depthwise_toeplitz_2byte(const DepthwiseParams& params, cudaStream_t stream) {
    return with_2byte_dtype_or(params.dtype, cudaErrorInvalidValue, [&](auto d) {
        return launch_toeplitz_forward<Mma2Byte<decltype(d)::value>>(params, stream);
    });
}

}  // namespace dwshim
