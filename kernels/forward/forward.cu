#include "kernels/forward/forward.h"

#include <algorithm>

#include "kernels/common/constant_dispatch.h"
#include "kernels/forward/generic.h"
#include "kernels/forward/large_filter.h"
#include "kernels/forward/nchw_quads.h"
#include "kernels/forward/nchw_rows.h"
#include "kernels/forward/nchw_vec.h"
#include "kernels/forward/nhwc_mma.h"
#include "kernels/forward/nhwc_planes.h"
#include "kernels/forward/nhwc_vec.h"
#include "kernels/forward/toeplitz_2byte.h"
#include "kernels/forward/toeplitz_tf32.h"

namespace dwshim {
namespace {

// The tensor-core forward takes large filters from the paths below, where it applies.
template <DType D>
bool toeplitz_applies(const DepthwiseParams& params) {
    if constexpr (D == DType::kFloat) {
        return toeplitz_tf32_applies(params);
    } else {
        return toeplitz_2byte_applies(params);
    }
}

template <DType D>
cudaError_t launch_toeplitz(const DepthwiseParams& params, cudaStream_t stream) {
    if constexpr (D == DType::kFloat) {
        return launch_depthwise_toeplitz_tf32(params, stream);
    } else {
        return launch_depthwise_toeplitz_2byte(params, stream);
    }
}

template <DType D>
cudaError_t dispatch(const DepthwiseParams& params, cudaStream_t stream) {
    if (toeplitz_applies<D>(params)) return launch_toeplitz<D>(params, stream);
    switch (select_path(params)) {
        case KernelPath::kNchwVec:
            if (nchw_vec_aligned(params)) {
                return with_filter_size(params.r, [&](auto k) {
                    return launch_depthwise_nchw_vec<D, decltype(k)::value>(params, stream);
                });
            }
            [[fallthrough]];
        case KernelPath::kNchwRows:
            if (nchw_quads_applies(params)) return launch_depthwise_nchw_quads<D>(params, stream);
            return launch_depthwise_nchw_rows<D>(params, stream);
        case KernelPath::kNhwcVec:
            if (!nhwc_vec_aligned(params)) break;
            if constexpr (D != DType::kFloat) {
                if (nhwc_mma_applies(params)) return launch_depthwise_nhwc_mma(params, stream);
            }
            if (nhwc_planes_applies(params)) return launch_depthwise_nhwc_planes<D>(params, stream);
            return with_filter_size(params.r, [&](auto k) {
                return launch_depthwise_nhwc_vec<D, decltype(k)::value>(params, stream);
            });
        case KernelPath::kLargeFilter:
            return launch_depthwise_large_filter<D>(params, stream);
        case KernelPath::kGeneric:
            break;
    }
    return launch_depthwise_generic<D>(params, stream);
}

}  // namespace

KernelPath select_path(const DepthwiseParams& params) {
    if (nchw_vec_applies(params)) return KernelPath::kNchwVec;
    if (nchw_rows_applies(params)) return KernelPath::kNchwRows;
    if (nhwc_vec_applies(params)) return KernelPath::kNhwcVec;
    if (large_filter_applies(params)) return KernelPath::kLargeFilter;
    return KernelPath::kGeneric;
}

cudaError_t depthwise_forward(const DepthwiseParams& params, cudaStream_t stream) {
    return with_dtype(params.dtype, [&](auto d) { return dispatch<decltype(d)::value>(params, stream); });
}

}  // namespace dwshim
