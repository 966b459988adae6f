// The measured routing rules of the two gradients (gradient_policy.cpp); route_policy.cpp asks them.
#pragma once

#include "kernels/depthwise_params.h"
#include "route_policy.h"

namespace dwshim {

// What the forward and gradient rules call an input's size, and a large one: KB84 (2^30 elements) and larger.
inline int64_t x_elements(const DepthwiseParams& p) {
    return p.n * p.c * p.h * p.w;
}
constexpr int64_t kLargeInput = int64_t{1} << 28;
// The smallest input asymmetric filters were measured on in every direction (bench/classes.csv's k1x7 and k7x1,
// 32 x 160 x 28 x 28).
constexpr int64_t kSmallestAsymmetric = int64_t{32} * 160 * 28 * 28;

// The smallest input the large filters' gradients, and the 13x13 forward on 28-wide NCHW planes, were measured on
// (bench/classes.csv's k13, 32 x 256 x 28 x 28).
constexpr int64_t kSmallestLargeFilter = int64_t{32} * 256 * 28 * 28;

// Whether the NHWC small-plane kernel (7 x 7, and 5 x 5 in fp16/bf16: forward/nhwc_planes.cu) takes `forward` in a
// measured shape, forward and data gradient alike: output rows of 7, 14 or 28 columns (bench/models.csv's c768_7x7,
// c384_14x14 and c192_28x28 k7s1, c960_7x7 to c672_14x14 k5s1; other widths compute partly idle segments and were
// not timed), an input of `elements` from the smallest it was measured on at that filter size (64 x 768 x 7 x 7 at
// 7 x 7, 64 x 960 x 7 x 7 at 5 x 5).
bool nhwc_planes_measured(const DepthwiseParams& forward, int64_t elements);

// The large-filter kernels' square filters measured in every direction (route_policy.cpp).
bool measured_large_filter(const DepthwiseParams& p);
// The forward's large-filter kernel (filters over 7) against cuDNN's and PyTorch's forwards.
bool large_filter_faster(const DepthwiseParams& forward);

bool data_grad_faster(Api api, const DepthwiseParams& params);
bool filter_grad_faster(Api api, const DepthwiseParams& params);

}  // namespace dwshim
