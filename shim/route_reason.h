// Why a call was or was not taken by dwshim. The first entry is the only one that routes.
#pragma once

namespace dwshim {

#define DWSHIM_ROUTE_REASONS(X)                                                       \
    X(kRouted, "routed to the dwshim kernel")                                         \
    X(kDisabled, "DWSHIM_DISABLE is set")                                             \
    X(kNoRealCudnn, "no real cuDNN to read descriptors with")                         \
    X(kBadArgument, "null or unreadable handle, descriptor, pointer or algorithm")   \
    X(kNot2d, "not a 2-D convolution")                                                \
    X(kDataType, "data type is not float, half or bfloat16, or x/w/y types differ")   \
    X(kComputeType, "compute type cuDNN does not pair with this data type")           \
    X(kFilterFormat, "filter format is not NCHW or NHWC")                             \
    X(kNotDepthwise, "groups != input channels, or filter has more than one channel") \
    X(kShapeMismatch, "output or filter shape inconsistent with the convolution")     \
    X(kKernelCannotImplement, "the kernel cannot implement these sizes or strides")          \
    X(kUntracedPlan, "plan built from descriptors dwshim did not see set and finalized")  \
    X(kNotSingleConv, "graph is not one convolution (forward or gradient) over real tensors")           \
    X(kVariantPack, "variant pack lacks a tensor's pointer, or overrides shapes")        \
    X(kNotFaster, "dwshim's kernel was not measured faster than what it would replace for this case") \
    X(kTunedSlower, "dwshim's kernel was measured slower on this GPU (the DWSHIM_TUNE_CACHE file)") \
    X(kEpilogue, "bias, residual or activation dwshim does not fuse")                     \
    X(kWorkspace, "the caller's workspace is smaller than dwshim's kernel needs")

enum class RouteReason : int {
#define DWSHIM_REASON_ENUM(name, text) name,
    DWSHIM_ROUTE_REASONS(DWSHIM_REASON_ENUM)
#undef DWSHIM_REASON_ENUM
        kCount
};

const char* route_reason_text(RouteReason reason);

}  // namespace dwshim
