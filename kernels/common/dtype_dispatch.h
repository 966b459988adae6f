// The dtype a launch was asked for as a compile-time constant, so that each launch names its instantiations once
// for the three dtypes.
#pragma once

#include <cuda_runtime_api.h>

#include <type_traits>

#include "kernels/depthwise_params.h"

namespace dwshim {

template <DType D>
using DTypeConstant = std::integral_constant<DType, D>;

// f(DTypeConstant<dtype>{}); an unknown dtype gets cudaErrorInvalidValue.
template <typename F>
cudaError_t with_dtype(DType dtype, F&& f) {
    switch (dtype) {
        case DType::kFloat:
            return f(DTypeConstant<DType::kFloat>{});
        case DType::kHalf:
            return f(DTypeConstant<DType::kHalf>{});
        case DType::kBFloat16:
            return f(DTypeConstant<DType::kBFloat16>{});
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
