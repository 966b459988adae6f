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
    EXPECT_EQ(backend(padded), RouteReason::kNotFaster);
    ConvCase strided = kb84_like(CUDNN_DATA_FLOAT);
    strided.stride_h = strided.stride_w = 2;
    strided.w = 128;  // NCHW rows path, fp32: faster on both APIs
    EXPECT_EQ(legacy(strided), RouteReason::kRouted);
    EXPECT_EQ(backend(strided), RouteReason::kRouted);
    ConvCase narrow = kb84_like(CUDNN_DATA_FLOAT);
    narrow.pad_w = 1;  // 3x3 rows narrower than a block: ties with cuDNN's backend engines
    EXPECT_EQ(legacy(narrow), RouteReason::kRouted);
    EXPECT_EQ(backend(narrow), RouteReason::kNotFaster);
    ConvCase large = kb84_like(CUDNN_DATA_HALF);
    large.layout = dwtest::Layout::kNHWC;
    large.kh = large.kw = 13;  // large-filter path
    large.pad_h = large.pad_w = 6;
    EXPECT_EQ(legacy(large), RouteReason::kRouted);
    EXPECT_EQ(backend(large), RouteReason::kRouted);
    ConvCase nhwc = kb84_like(CUDNN_DATA_FLOAT);
    nhwc.layout = dwtest::Layout::kNHWC;  // NHWC vector path: only faster than cuDNN's legacy algorithms
    EXPECT_EQ(legacy(nhwc), RouteReason::kRouted);
    EXPECT_EQ(backend(nhwc), RouteReason::kNotFaster);
    ConvCase generic = kb84_like(CUDNN_DATA_FLOAT);
    generic.dil_h = 2;  // only the generic path takes dilated rows
    EXPECT_EQ(legacy(generic), RouteReason::kNotFaster);
    EXPECT_EQ(backend(generic), RouteReason::kNotFaster);
}

}  // namespace
