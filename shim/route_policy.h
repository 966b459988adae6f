// Which routable calls are worth routing: only where dwshim's kernel was measured faster than what cuDNN does
// for the same call through the same API (bench/NOTES.md). DWSHIM_ROUTE=all routes every routable call.
#pragma once

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

enum class Api { kLegacy, kBackend };

// kRouted when worth it, else kSlowerThanCudnn. `params` passed can_implement().
RouteReason route_if_faster(Api api, const DepthwiseParams& params);

}  // namespace dwshim
