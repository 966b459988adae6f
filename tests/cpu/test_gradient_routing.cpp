// Routing decisions for the two gradients on real cuDNN descriptors of both APIs (no GPU needed): the same
// descriptors as the forward, read in the gradient's direction; backend graphs of one BACKWARD_DATA or
// BACKWARD_FILTER operation, and what is not one.
#include <gtest/gtest.h>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/cpu/cpu_graphs.h"

using dwshim::DepthwiseParams;
using dwshim::Direction;
using dwshim::RouteReason;
using dwtest::BackendConv;
using dwtest::ConvCase;

namespace {

ConvCase gradient_case(Direction direction) {
    ConvCase cc;
    cc.direction = direction;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 20;
    cc.stride_h = 2;
    cc.pad_h = cc.pad_w = 1;
    cc.alpha = 0.5f;
    cc.beta = 1.0f;
    return cc;
}

RouteReason legacy(const ConvCase& cc, DepthwiseParams* p) {
    dwtest::CudnnDescriptors d(cc);
    p->direction = cc.direction;
    return static_cast<RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, p));
}

void expect_geometry(const ConvCase& cc, const DepthwiseParams& p) {
    EXPECT_EQ(p.direction, cc.direction);
    EXPECT_EQ(p.n, cc.n);
    EXPECT_EQ(p.c, cc.c);
    EXPECT_EQ(p.h, cc.h);
    EXPECT_EQ(p.w, cc.w);
    EXPECT_EQ(p.k, cc.k());
    EXPECT_EQ(p.p, cc.p());
    EXPECT_EQ(p.q, cc.q());
    EXPECT_EQ(p.stride_h, cc.stride_h);
    EXPECT_EQ(p.pad_w, cc.pad_w);
    EXPECT_EQ(p.x_stride[dwshim::kH], cc.w);
    EXPECT_EQ(p.y_stride[dwshim::kH], cc.q());
}

TEST(GradientRouting, LegacyDescriptorsAreReadInEachDirection) {
    for (Direction direction : {Direction::kDataGrad, Direction::kFilterGrad}) {
        const ConvCase cc = gradient_case(direction);
        DepthwiseParams p;
        ASSERT_EQ(legacy(cc, &p), RouteReason::kRouted);
        expect_geometry(cc, p);
    }
}

TEST(GradientRouting, LegacyDenseGradientIsForwarded) {
    const ConvCase cc = gradient_case(Direction::kFilterGrad);
    dwtest::CudnnDescriptors d(cc);
    ASSERT_EQ(cudnnSetConvolutionGroupCount(d.conv, 1), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 8, 8, 3, 3), CUDNN_STATUS_SUCCESS);
    DepthwiseParams p;
    p.direction = Direction::kFilterGrad;
    EXPECT_EQ(static_cast<RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &p)), RouteReason::kNotDepthwise);
}

TEST(GradientRouting, BackendGradientGraphsAreRoutedWithTheirDirectionAndScales) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    for (Direction direction : {Direction::kDataGrad, Direction::kFilterGrad}) {
        ConvCase cc = gradient_case(direction);
        cc.post_pad_extra = 1;
        BackendConv conv(cc);
        cudnnBackendDescriptor_t graph = conv.make_graph({conv.op});
        ASSERT_NE(graph, nullptr);
        DepthwiseParams p;
        ASSERT_EQ(static_cast<RouteReason>(dwshim_route_backend_graph(graph, &p)), RouteReason::kRouted);
        expect_geometry(cc, p);
        EXPECT_FLOAT_EQ(p.alpha, 0.5f);
        EXPECT_FLOAT_EQ(p.residual_scale, 1.0f);
    }
}

TEST(GradientRouting, BackendGradientWithAnotherOperationIsForwarded) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    BackendConv data(gradient_case(Direction::kDataGrad));
    cudnnBackendDescriptor_t second = data.make_second_op();
    cudnnBackendDescriptor_t graph = data.make_graph({data.op, second});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(static_cast<RouteReason>(dwshim_route_backend_graph(graph, &p)), RouteReason::kNotSingleConv);
}

}  // namespace
