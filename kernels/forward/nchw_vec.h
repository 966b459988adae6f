#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The NCHW row-vector path: the rows path's conditions plus stride_w == dil_w == 1, no left padding, and
// input rows made of whole 16-byte vectors, so each lane loads one aligned vector of a row.
bool nchw_vec_applies(const DepthwiseParams& params);
// The same, plus 16-byte alignment of x, which only the pointer can tell.
bool nchw_vec_aligned(const DepthwiseParams& params);

template <DType D, int K>
cudaError_t launch_depthwise_nchw_vec(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
