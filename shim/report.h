// Counting and logging of routing decisions. Counting is lock-free and allocation-free, so it is safe on the
// routed path; a log line is written only when DWSHIM_LOG asked for one.
#pragma once

#include <cstdint>

#include "kernels/depthwise_params.h"
#include "route_reason.h"

namespace dwshim {

// Logs one decision; counts it when the call `executes` a convolution (queries are logged, not counted).
// `params` may be null when the descriptors could not be read.
void report_decision(const char* api_function, bool executes, RouteReason reason, const DepthwiseParams* params);

// Executing calls counted so far with this reason.
uint64_t decisions_with(RouteReason reason);

}  // namespace dwshim
