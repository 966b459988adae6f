#include "route_policy.h"

#include "kernels/depthwise_forward.h"
#include "settings.h"

namespace dwshim {

// Measured on an H100 with cuDNN 9.19 (bench/NOTES.md); cuDNN's legacy API is far slower than its backend
// engines for depthwise convolutions, so the two APIs get different answers.
RouteReason route_if_faster(Api api, const DepthwiseParams& params) {
    if (settings().route_all) return RouteReason::kRouted;
    bool faster = false;
    switch (select_path(params)) {
        case KernelPath::kGeneric:  // 4-15x slower than cuDNN's backend engines on the suite
            faster = false;
            break;
        case KernelPath::kNchwVec:  // KB84 fp32 3.33 ms vs 9.20 legacy / 4.36 backend; fp16 1.97 vs 9.49 / 2.53
            faster = true;
            break;
        case KernelPath::kNchwRows:  // KB84 fp32 4.15 ms vs 9.26 legacy / 4.36 backend; fp16 3.60 vs 9.41 / 2.53
            faster = params.dtype == DType::kFloat || api == Api::kLegacy;
            break;
        case KernelPath::kNhwcVec:  // KB84 fp32 6.93 ms vs 60.8 legacy / 3.24 backend; fp16 4.84 vs 59.6 / 1.89
            faster = api == Api::kLegacy;
            break;
    }
    return faster ? RouteReason::kRouted : RouteReason::kSlowerThanCudnn;
}

}  // namespace dwshim
