// The run-time choices a launch makes among its instantiations (the dtype, the square filter's size) as
// compile-time constants, so that each launch names its instantiations once.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <type_traits>

#include "kernels/depthwise_params.h"

namespace dwshim {

template <DType D>
using DTypeConstant = std::integral_constant<DType, D>;
template <int N>
using IntConstant = std::integral_constant<int, N>;

// f(DTypeConstant<dtype>{}); an unknown dtype gets `unknown`.
template <typename R, typename F>
R with_dtype_or(DType dtype, R unknown, F&& f) {
    switch (dtype) {
        case DType::kFloat:
            return f(DTypeConstant<DType::kFloat>{});
        case DType::kHalf:
            return f(DTypeConstant<DType::kHalf>{});
        case DType::kBFloat16:
            return f(DTypeConstant<DType::kBFloat16>{});
    }
    return unknown;
}

// A launch's dtype: f(DTypeConstant<dtype>{}), cudaErrorInvalidValue for an unknown one.
template <typename F>
cudaError_t with_dtype(DType dtype, F&& f) {
    return with_dtype_or(dtype, cudaErrorInvalidValue, f);
}

// f(DTypeConstant<dtype>{}) for fp16 and bf16, the dtypes of the kernels built for 2-byte types only (tensor cores,
// the image-tile filter gradient); fp32 or an unknown dtype gets `other`.
template <typename R, typename F>
R with_2byte_dtype_or(DType dtype, R other, F&& f) {
    switch (dtype) {
        case DType::kHalf:
            return f(DTypeConstant<DType::kHalf>{});
        case DType::kBFloat16:
            return f(DTypeConstant<DType::kBFloat16>{});
        case DType::kFloat:
            break;
    }
    return other;
}

// f(IntConstant<size>{}) for the filter sizes the fast paths instantiate: 3, 5 and (any other size) 7; callers
// pass a size their applies() accepted.
template <typename F>
auto with_filter_size(int64_t size, F&& f) {
    return size == 3 ? f(IntConstant<3>{}) : size == 5 ? f(IntConstant<5>{}) : f(IntConstant<7>{});
}

}  // namespace dwshim
