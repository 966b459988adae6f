// Which routable calls are worth routing: only where dwshim's kernel was measured faster than what cuDNN does
// for the same call through the same API (bench/NOTES.md). DWSHIM_ROUTE=all routes every routable call.
#pragma once

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

// Where a routable call comes from, i.e. what dwshim's kernel would replace: cuDNN through either API, or
// PyTorch's own CUDA depthwise kernel (aten::_conv_depthwise2d, through the Python hook).
enum class Api { kLegacy, kBackend, kTorchNative };

// kRouted when worth it: as measured on this GPU where the tuning cache says (tuned_routes.h, else kTunedSlower),
// else by the static rules (else kNotFaster). `params` passed can_implement().
RouteReason route_if_faster(Api api, const DepthwiseParams& params);

}  // namespace dwshim
