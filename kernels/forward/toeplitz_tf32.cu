// The fp32 forward on tensor cores: the tiling of forward/toeplitz_tiles.cuh with three TF32 products a
// product (forward/toeplitz_tf32_mma.cuh).
#include "kernels/forward/toeplitz_tf32.h"

#include "kernels/forward/toeplitz_tf32_mma.cuh"
#include "kernels/forward/toeplitz_tiles.cuh"

namespace dwshim {

bool toeplitz_tf32_applies(const DepthwiseParams& params) {
    return toeplitz_forward_applies<Tf32x3>(params);
}

cudaError_t launch_depthwise_toeplitz_tf32(const DepthwiseParams& params, cudaStream_t stream) {
    return launch_toeplitz_forward<Tf32x3>(params, stream);
}

}  // namespace dwshim
