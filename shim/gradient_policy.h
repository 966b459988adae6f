// The measured routing rules of the two gradients (gradient_policy.cpp); route_policy.cpp asks them.
#pragma once

#include "kernels/depthwise_params.h"
#include "route_policy.h"

namespace dwshim {

bool data_grad_faster(Api api, const DepthwiseParams& params);
bool filter_grad_faster(Api api, const DepthwiseParams& params);

}  // namespace dwshim
