// Counting and logging of routing decisions. Counting is lock-free and allocation-free, so it is safe on the
// routed path; a log line is written only when DWSHIM_LOG asked for one.
#pragma once

#include <cstdint>

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

// Logs one decision about a convolution in `direction`; counts it when the call `executes` one (queries are
// logged, not counted). `params` may be null when the descriptors could not be read.
void report_decision(const char* api_function, bool executes, RouteReason reason, Direction direction,
                     const DepthwiseParams* params);

// Executing calls counted so far with this reason, in every direction.
uint64_t decisions_with(RouteReason reason);

// "fwd", "dgrad" or "wgrad".
const char* direction_name(Direction direction);

}  // namespace dwshim
