// Routing decisions on real cuDNN descriptors (cuDNN's descriptor functions need no GPU).
#include <gtest/gtest.h>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/conv_case.h"

using dwshim::DepthwiseParams;
using dwshim::RouteReason;
using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::Layout;

namespace {

RouteReason route(const CudnnDescriptors& d, DepthwiseParams* params) {
    return static_cast<RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, params));
}

ConvCase kb84_like() {
    ConvCase cc;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 32;
    return cc;
}

TEST(LegacyRouting, DepthwiseNchwIsRoutedWithItsGeometry) {
    ConvCase cc = kb84_like();
    cc.pad_h = 1;
    cc.stride_w = 2;
    cc.dil_h = 2;
    CudnnDescriptors d(cc);
    DepthwiseParams p;
    ASSERT_EQ(route(d, &p), RouteReason::kRouted);
    EXPECT_EQ(p.dtype, dwshim::DType::kFloat);
    EXPECT_EQ(p.n, 2);
    EXPECT_EQ(p.c, 8);
    EXPECT_EQ(p.h, 16);
    EXPECT_EQ(p.w, 32);
    EXPECT_EQ(p.k, 8);
    EXPECT_EQ(p.multiplier, 1);
    EXPECT_EQ(p.p, cc.p());
    EXPECT_EQ(p.q, cc.q());
    EXPECT_EQ(p.pad_h, 1);
    EXPECT_EQ(p.stride_w, 2);
    EXPECT_EQ(p.dil_h, 2);
    EXPECT_FALSE(p.flip);
    EXPECT_EQ(p.x_stride[dwshim::kW], 1);
    EXPECT_EQ(p.x_stride[dwshim::kH], 32);
    EXPECT_EQ(p.x_stride[dwshim::kC], 16 * 32);
    EXPECT_EQ(p.y_stride[dwshim::kC], cc.p() * cc.q());
}

TEST(LegacyRouting, HalfNhwcWithMultiplierAndTrueConvolutionIsRouted) {
    ConvCase cc = kb84_like();
    cc.dtype = CUDNN_DATA_HALF;
    cc.layout = Layout::kNHWC;
    cc.multiplier = 2;
    cc.mode = CUDNN_CONVOLUTION;
    CudnnDescriptors d(cc);
    DepthwiseParams p;
    ASSERT_EQ(route(d, &p), RouteReason::kRouted);
    EXPECT_EQ(p.dtype, dwshim::DType::kHalf);
    EXPECT_EQ(p.k, 16);
    EXPECT_EQ(p.multiplier, 2);
    EXPECT_TRUE(p.flip);
    EXPECT_EQ(p.x_stride[dwshim::kC], 1);
    EXPECT_EQ(p.y_stride[dwshim::kC], 1);
    EXPECT_EQ(p.y_stride[dwshim::kW], 16);
}

TEST(LegacyRouting, BFloat16PaddedStridesAreRouted) {
    ConvCase cc = kb84_like();
    cc.dtype = CUDNN_DATA_BFLOAT16;
    cc.layout = Layout::kPaddedNCHW;
    CudnnDescriptors d(cc);
    DepthwiseParams p;
    ASSERT_EQ(route(d, &p), RouteReason::kRouted);
    EXPECT_EQ(p.x_stride[dwshim::kH], 32 + 3);
}

TEST(LegacyRouting, DenseConvolutionIsForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(d.conv, 1));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 8, 8, 3, 3));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kNotDepthwise);
}

TEST(LegacyRouting, GroupedButNotDepthwiseIsForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(d.conv, 4));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 8, 2, 3, 3));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kNotDepthwise);
}

TEST(LegacyRouting, ThreeDimensionalConvolutionIsForwarded) {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&x));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&y));
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&w));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    const int x_dims[5] = {2, 4, 6, 6, 6}, x_strides[5] = {864, 216, 36, 6, 1};
    const int y_dims[5] = {2, 4, 4, 4, 4}, y_strides[5] = {256, 64, 16, 4, 1};
    const int w_dims[5] = {4, 1, 3, 3, 3};
    const int pad[3] = {0, 0, 0}, stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1};
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_FLOAT, 5, x_dims, x_strides));
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(y, CUDNN_DATA_FLOAT, 5, y_dims, y_strides));
    CHECK_CUDNN(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, w_dims));
    CHECK_CUDNN(cudnnSetConvolutionNdDescriptor(conv, 3, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(conv, 4));
    DepthwiseParams p;
    EXPECT_EQ(static_cast<RouteReason>(dwshim_route_legacy(x, w, conv, y, &p)), RouteReason::kNot2d);
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
}

TEST(LegacyRouting, DoubleIsForwarded) {
    ConvCase cc = kb84_like();
    cc.dtype = CUDNN_DATA_DOUBLE;
    CudnnDescriptors d(cc);
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kDataType);
}

TEST(LegacyRouting, MixedDataTypesAreForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_HALF, CUDNN_TENSOR_NCHW, 8, 1, 3, 3));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kDataType);
}

TEST(LegacyRouting, HalfComputeForBFloat16IsForwarded) {
    ConvCase cc = kb84_like();
    cc.dtype = CUDNN_DATA_BFLOAT16;
    CudnnDescriptors d(cc);
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(d.conv, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_HALF));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(d.conv, cc.c));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kComputeType);
}

TEST(LegacyRouting, WrongOutputShapeIsForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 8, cc.p() + 1, cc.q()));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kShapeMismatch);
}

TEST(LegacyRouting, OverlappingOutputIsForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    const int dims[4] = {2, 8, cc.p(), cc.q()};
    const int strides[4] = {1, 1, cc.q(), 1};  // every image and channel on the same memory
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(d.y, CUDNN_DATA_FLOAT, 4, dims, strides));
    DepthwiseParams p;
    EXPECT_EQ(route(d, &p), RouteReason::kKernelCannotImplement);
}

TEST(LegacyRouting, NullDescriptorIsForwarded) {
    ConvCase cc = kb84_like();
    CudnnDescriptors d(cc);
    DepthwiseParams p;
    EXPECT_EQ(static_cast<RouteReason>(dwshim_route_legacy(d.x, nullptr, d.conv, d.y, &p)),
              RouteReason::kBadArgument);
}

}  // namespace
