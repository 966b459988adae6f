// Backend-API routing decisions on real cuDNN descriptors: tensors, convolutions, operations and operation
// graphs finalize without a GPU; plans need one and are tested in tests/gpu.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/cpu/cpu_graphs.h"

using dwshim::DepthwiseParams;
using dwshim::RouteReason;
using dwtest::BackendConv;
using dwtest::ConvCase;
using dwtest::Layout;

namespace {

ConvCase depthwise_case() {
    ConvCase cc;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 20;
    cc.pad_h = cc.pad_w = 1;
    return cc;
}

RouteReason graph_route(cudnnBackendDescriptor_t graph, DepthwiseParams* params) {
    return static_cast<RouteReason>(dwshim_route_backend_graph(graph, params));
}

TEST(BackendRouting, DepthwiseGraphIsRoutedWithItsGeometry) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.alpha = 0.5f;
    cc.beta = 2.0f;
    BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    ASSERT_EQ(graph_route(graph, &p), RouteReason::kRouted);
    EXPECT_EQ(p.dtype, dwshim::DType::kFloat);
    EXPECT_EQ(p.n, 2);
    EXPECT_EQ(p.c, 8);
    EXPECT_EQ(p.k, 8);
    EXPECT_EQ(p.p, cc.p());
    EXPECT_EQ(p.q, cc.q());
    EXPECT_EQ(p.pad_h, 1);
    EXPECT_EQ(p.x_stride[dwshim::kH], 20);
    EXPECT_FLOAT_EQ(p.alpha, 0.5f);
    EXPECT_FLOAT_EQ(p.residual_scale, 2.0f);
}

TEST(BackendRouting, NhwcHalfWithMultiplierAndAsymmetricPaddingIsRouted) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.dtype = CUDNN_DATA_HALF;
    cc.layout = Layout::kNHWC;
    cc.multiplier = 2;
    const int symmetric_p = cc.p();
    cc.post_pad_extra = 1;
    BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    ASSERT_EQ(graph_route(graph, &p), RouteReason::kRouted);
    EXPECT_EQ(p.multiplier, 2);
    EXPECT_EQ(p.p, symmetric_p + 1);
    EXPECT_EQ(p.x_stride[dwshim::kC], 1);
}

TEST(BackendRouting, DenseGraphIsForwarded) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    BackendConv conv(cc);
    const int64_t dims[4] = {8, 8, 3, 3}, strides[4] = {72, 9, 3, 1};
    cudnnBackendDescriptor_t dense_w = dwtest::make_backend_tensor(dwtest::kWUid + 10, cc.dtype, dims, strides);
    cudnnBackendDescriptor_t op;
    CHECK_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &op));
    CHECK_CUDNN(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         1, &conv.x));
    CHECK_CUDNN(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         1, &dense_w));
    CHECK_CUDNN(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         1, &conv.y));
    CHECK_CUDNN(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                                         CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv.conv));
    CHECK_CUDNN(cudnnBackendFinalize(op));
    cudnnBackendDescriptor_t graph = conv.make_graph({op});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(graph_route(graph, &p), RouteReason::kNotDepthwise);
    cudnnBackendDestroyDescriptor(op);
    cudnnBackendDestroyDescriptor(dense_w);
}

TEST(BackendRouting, DoubleIsForwarded) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.dtype = CUDNN_DATA_DOUBLE;
    BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(graph_route(graph, &p), RouteReason::kDataType);
}

TEST(BackendRouting, TwoOperationGraphIsForwarded) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    BackendConv conv(depthwise_case());
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op, conv.make_second_op()});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(graph_route(graph, &p), RouteReason::kNotSingleConv);
}

TEST(BackendRouting, ConvBiasReluGraphIsRoutedWithItsEpilogue) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.dtype = CUDNN_DATA_HALF;
    cc.layout = Layout::kNHWC;
    cc.bias = true;
    cc.activation = 1;
    BackendConv conv(cc);
    ASSERT_EQ(conv.ops.size(), 3u);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops);
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    ASSERT_EQ(graph_route(graph, &p), RouteReason::kRouted);
    EXPECT_EQ(p.activation, dwshim::Activation::kRelu);
    EXPECT_EQ(p.residual_scale, 0.0f);
}

TEST(BackendRouting, ConvResidualBiasReluGraphIsRouted) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.beta = 0.5f;
    cc.bias = true;
    cc.activation = 1;
    BackendConv conv(cc);
    ASSERT_EQ(conv.ops.size(), 4u);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops);
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    ASSERT_EQ(graph_route(graph, &p), RouteReason::kRouted);
    EXPECT_FLOAT_EQ(p.residual_scale, 0.5f);
    EXPECT_EQ(p.activation, dwshim::Activation::kRelu);
}

TEST(BackendRouting, ConvClippedReluGraphIsRouted) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.activation = 2;
    BackendConv conv(cc);
    ASSERT_EQ(conv.ops.size(), 2u);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops);
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    ASSERT_EQ(graph_route(graph, &p), RouteReason::kRouted);
    EXPECT_EQ(p.activation, dwshim::Activation::kClippedRelu);
    EXPECT_FLOAT_EQ(p.clip, cc.clip);
}

TEST(BackendRouting, GraphWithoutItsLastOpIsForwarded) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ConvCase cc = depthwise_case();
    cc.bias = true;
    cc.activation = 1;
    BackendConv conv(cc);
    // conv -> add -> (virtual, nothing reads it): the graph has no real output dwshim could write.
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.ops[0], conv.ops[1]});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(graph_route(graph, &p), RouteReason::kNotSingleConv);
}

TEST(BackendRouting, UnknownDescriptorIsUntraced) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    DepthwiseParams p;
    int not_a_descriptor = 0;
    EXPECT_EQ(graph_route(reinterpret_cast<cudnnBackendDescriptor_t>(&not_a_descriptor), &p),
              RouteReason::kUntracedPlan);
}

TEST(EnvDisableBackend, RecordsNothing) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ASSERT_STREQ(std::getenv("DWSHIM_DISABLE"), "1");
    BackendConv conv(depthwise_case());
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op});
    ASSERT_NE(graph, nullptr);
    DepthwiseParams p;
    EXPECT_EQ(graph_route(graph, &p), RouteReason::kUntracedPlan);
}

}  // namespace
