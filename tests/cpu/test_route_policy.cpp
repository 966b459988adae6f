// The default policy routes only what was measured faster than cuDNN (shim/route_policy.cpp). Runs without
// DWSHIM_ROUTE (ctest's cpu_policy); every other test sets DWSHIM_ROUTE=all to reach all kernel paths.
#include <gtest/gtest.h>

#include <cstdlib>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"

using dwshim::DepthwiseParams;
using dwshim::RouteReason;
using dwtest::ConvCase;

namespace {

ConvCase kb84_like(cudnnDataType_t dtype) {
    ConvCase cc;
    cc.dtype = dtype;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 32;
    return cc;
}

RouteReason legacy(const ConvCase& cc) {
    dwtest::CudnnDescriptors d(cc);
    DepthwiseParams p;
    return static_cast<RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &p));
}

RouteReason backend(const ConvCase& cc) {
    dwtest::BackendConv conv(cc);
    DepthwiseParams p;
    return static_cast<RouteReason>(dwshim_route_backend_graph(conv.make_graph({conv.op}), &p));
}

TEST(EnvPolicy, RoutesOnlyMeasuredWins) {
    ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr);
    EXPECT_EQ(legacy(kb84_like(CUDNN_DATA_FLOAT)), RouteReason::kRouted);
    EXPECT_EQ(backend(kb84_like(CUDNN_DATA_FLOAT)), RouteReason::kRouted);
    EXPECT_EQ(legacy(kb84_like(CUDNN_DATA_HALF)), RouteReason::kRouted);
    EXPECT_EQ(backend(kb84_like(CUDNN_DATA_HALF)), RouteReason::kRouted);  // NCHW vector path
    ConvCase padded = kb84_like(CUDNN_DATA_HALF);
    padded.pad_w = 1;  // NCHW rows path: cuDNN's backend engines are faster in fp16
    EXPECT_EQ(legacy(padded), RouteReason::kRouted);
    EXPECT_EQ(backend(padded), RouteReason::kSlowerThanCudnn);
    ConvCase generic = kb84_like(CUDNN_DATA_FLOAT);
    generic.stride_h = 2;  // no fast path takes stride_h 2 yet
    EXPECT_EQ(legacy(generic), RouteReason::kSlowerThanCudnn);
    EXPECT_EQ(backend(generic), RouteReason::kSlowerThanCudnn);
}

}  // namespace
