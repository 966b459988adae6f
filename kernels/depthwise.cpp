#include "kernels/depthwise.h"

#include <algorithm>

#include "kernels/data_grad/data_grad.h"
#include "kernels/filter_grad/filter_grad.h"
#include "kernels/forward/forward.h"

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
    } else if (prm.direction != Direction::kForward && prm.activation != Activation::kIdentity) {
        reason = "activation on a gradient";
    } else if (prm.direction == Direction::kDataGrad && !data_grad_fits(prm)) {
        reason = "too large for the data gradient's 32-bit coordinates";
    } else if (!non_overlapping(prm.direction == Direction::kDataGrad ? x_sizes : y_sizes,
                                prm.direction == Direction::kDataGrad ? prm.x_stride : prm.y_stride)) {
        reason = "output elements overlap";  // the filter gradient is packed
    }
    if (why != nullptr) *why = reason;
    return reason == nullptr;
}

size_t workspace_bytes(const DepthwiseParams& params) {
    return params.direction == Direction::kFilterGrad ? filter_grad_workspace_bytes(params) : 0;
}

cudaError_t run_depthwise(const DepthwiseParams& params, void* workspace, cudaStream_t stream) {
    switch (params.direction) {
        case Direction::kForward:
            return depthwise_forward(params, stream);
        case Direction::kDataGrad:
            return depthwise_data_grad(params, stream);
        case Direction::kFilterGrad:
            return depthwise_filter_grad(params, workspace, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace dwshim
