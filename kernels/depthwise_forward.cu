#include "depthwise_forward.h"

#include <algorithm>

#include "depthwise_generic.h"
#include "depthwise_large_filter.h"
#include "depthwise_nchw_rows.h"
#include "depthwise_nchw_vec.h"
#include "depthwise_nhwc_vec.h"

namespace dwshim {
namespace {

// Element offsets must stay far from int64 overflow: (size - 1) * stride summed over dimensions.
constexpr int64_t kMaxOffset = int64_t{1} << 60;

bool offsets_fit(const int64_t sizes[4], const int64_t strides[4]) {
    int64_t reach = 0;
    for (int d = 0; d < 4; ++d) {
        if (sizes[d] > 1 && strides[d] > kMaxOffset / (sizes[d] - 1)) return false;
        reach += (sizes[d] - 1) * strides[d];
        if (reach > kMaxOffset) return false;
    }
    return true;
}

// True when no two elements of the tensor share an address: sorted by stride, each dimension steps over the
// whole extent of the ones inside it. Dimensions of size 1 never move the address and are ignored.
bool non_overlapping(const int64_t sizes[4], const int64_t strides[4]) {
    int order[4] = {0, 1, 2, 3};
    std::sort(order, order + 4, [&](int a, int b) { return strides[a] < strides[b]; });
    int64_t extent = 1;
    for (int d : order) {
        if (sizes[d] == 1) continue;
        if (strides[d] < extent) return false;
        extent = strides[d] * sizes[d];
    }
    return true;
}

bool strides_positive(const int64_t sizes[4], const int64_t strides[4]) {
    for (int d = 0; d < 4; ++d) {
        if (sizes[d] > 1 && strides[d] <= 0) return false;
    }
    return true;
}

}  // namespace

bool can_implement(const DepthwiseParams& prm, const char** why) {
    const char* reason = nullptr;
    const int64_t x_sizes[4] = {prm.n, prm.c, prm.h, prm.w};
    const int64_t y_sizes[4] = {prm.n, prm.k, prm.p, prm.q};
    if (prm.dtype != DType::kFloat && prm.dtype != DType::kHalf && prm.dtype != DType::kBFloat16) {
        reason = "data type";
    } else if (prm.n < 1 || prm.c < 1 || prm.h < 1 || prm.w < 1 || prm.p < 1 || prm.q < 1 || prm.r < 1 ||
               prm.s < 1) {
        reason = "empty or negative size";
    } else if (prm.multiplier < 1 || prm.k != prm.c * prm.multiplier) {
        reason = "output channels are not a multiple of input channels";
    } else if (prm.stride_h < 1 || prm.stride_w < 1 || prm.dil_h < 1 || prm.dil_w < 1 || prm.pad_h < 0 ||
               prm.pad_w < 0) {
        reason = "stride, dilation or padding out of range";
    } else if (!strides_positive(x_sizes, prm.x_stride) || !strides_positive(y_sizes, prm.y_stride)) {
        reason = "non-positive tensor stride";
    } else if (!offsets_fit(x_sizes, prm.x_stride) || !offsets_fit(y_sizes, prm.y_stride)) {
        reason = "tensor too large for 64-bit offsets";
    } else if (!non_overlapping(y_sizes, prm.y_stride)) {
        reason = "output elements overlap";
    }
    if (why != nullptr) *why = reason;
    return reason == nullptr;
}

namespace {

template <DType D>
cudaError_t dispatch(const DepthwiseParams& params, cudaStream_t stream) {
    switch (select_path(params)) {
        case KernelPath::kNchwVec:
            if (nchw_vec_aligned(params)) {
                switch (params.r) {
                    case 3:
                        return launch_depthwise_nchw_vec<D, 3>(params, stream);
                    case 5:
                        return launch_depthwise_nchw_vec<D, 5>(params, stream);
                    default:
                        return launch_depthwise_nchw_vec<D, 7>(params, stream);
                }
            }
            [[fallthrough]];
        case KernelPath::kNchwRows:
            switch (params.r) {
                case 3:
                    return launch_depthwise_nchw_rows<D, 3>(params, stream);
                case 5:
                    return launch_depthwise_nchw_rows<D, 5>(params, stream);
                default:
                    return launch_depthwise_nchw_rows<D, 7>(params, stream);
            }
        case KernelPath::kNhwcVec:
            if (!nhwc_vec_aligned(params)) break;
            switch (params.r) {
                case 3:
                    return launch_depthwise_nhwc_vec<D, 3>(params, stream);
                case 5:
                    return launch_depthwise_nhwc_vec<D, 5>(params, stream);
                default:
                    return launch_depthwise_nhwc_vec<D, 7>(params, stream);
            }
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
    switch (params.dtype) {
        case DType::kFloat:
            return dispatch<DType::kFloat>(params, stream);
        case DType::kHalf:
            return dispatch<DType::kHalf>(params, stream);
        case DType::kBFloat16:
            return dispatch<DType::kBFloat16>(params, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
