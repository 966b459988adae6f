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

// Logs a first-sight measurement (first_sight.h) and counts it for the summary at exit.
void report_measurement(const char* api_name, const DepthwiseParams& params, double dwshim_ms, double replaced_ms,
                        bool routed);

// Logs why a problem first seen was not measured (its static rule decides).
void report_unmeasured(const char* api_name, const DepthwiseParams& params, const char* why);

// Executing calls counted so far with this reason, in every direction.
uint64_t decisions_with(RouteReason reason);

// "fwd", "dgrad" or "wgrad".
const char* direction_name(Direction direction);

}  // namespace dwshim
