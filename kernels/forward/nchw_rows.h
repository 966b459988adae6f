#pragma once

#include <cuda_runtime_api.h>

#include "kernels/depthwise_params.h"

namespace dwshim {

// The filter shapes the NCHW rows kernels are instantiated for (kh, kw), the forward's and the filter
// gradient's: the squares, the k x 1 and 1 x k classes and 3x7 / 7x3 (KernelBench level 1's 83 is 3x1, 85 is 3x7).
constexpr int kNchwRowsShapes[][2] = {{3, 3}, {5, 5}, {7, 7}, {3, 1}, {1, 3}, {5, 1},
                                      {1, 5}, {7, 1}, {1, 7}, {3, 7}, {7, 3}};
constexpr int kNchwRowsShapeCount = static_cast<int>(sizeof(kNchwRowsShapes) / sizeof(kNchwRowsShapes[0]));

inline bool nchw_rows_shape(const DepthwiseParams& p) {
    bool instantiated = false;
    for (const auto& shape : kNchwRowsShapes) instantiated = instantiated || (p.r == shape[0] && p.s == shape[1]);
    return instantiated;
}

// The NCHW row-streaming path: rows contiguous in x and y (w stride 1), stride_h 1 or 2, dil_h 1, and a filter
// of an instantiated shape.
bool nchw_rows_applies(const DepthwiseParams& params);

template <DType D>
cudaError_t launch_depthwise_nchw_rows(const DepthwiseParams& params, cudaStream_t stream);

}  // namespace dwshim
