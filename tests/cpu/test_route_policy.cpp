// The default policy routes only what was measured faster than cuDNN (shim/route_policy.cpp). Runs without
// DWSHIM_ROUTE (ctest's cpu_policy); every other test sets DWSHIM_ROUTE=all to reach all kernel paths.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/cpu/cpu_graphs.h"
#include "tests/cpu/route_cases.h"

using dwshim::DepthwiseParams;
using dwshim::RouteReason;
using dwtest::ConvCase;

namespace {

// kb84_like's planes in 64 x 184 channels: as large as the smallest model layer the NCHW rows path is routed from.
ConvCase layer_sized(cudnnDataType_t dtype) {
    ConvCase cc = kb84_like(dtype);
    cc.n = 64;
    cc.c = 184;
    return cc;
}

// cc with a k x k filter and "same" padding.
ConvCase with_filter(ConvCase cc, int k) {
    cc.kh = cc.kw = k;
    cc.pad_h = cc.pad_w = k / 2;
    return cc;
}

RouteReason backend(const ConvCase& cc) {
    dwtest::BackendConv conv(cc);
    DepthwiseParams p;
    return static_cast<RouteReason>(dwshim_route_backend_graph(conv.make_graph({conv.op}), &p));
}

struct PolicyCase {
    const char* what;
    ConvCase cc;
    RouteReason legacy, backend;
};

std::vector<PolicyCase> policy_cases() {
    const RouteReason routed = RouteReason::kRouted, not_faster = RouteReason::kNotFaster;
    std::vector<PolicyCase> cases;
    cases.push_back({"NCHW vector path, fp32", kb84_like(CUDNN_DATA_FLOAT), routed, routed});
    cases.push_back({"NCHW vector path, fp16", kb84_like(CUDNN_DATA_HALF), routed, routed});
    PolicyCase padded{"NCHW rows path, fp16 on rows of 32 columns: cuDNN's backend engines are faster",
                      layer_sized(CUDNN_DATA_HALF), routed, not_faster};
    padded.cc.pad_w = 1;
    cases.push_back(padded);
    PolicyCase wide{"NCHW rows path, fp16 on rows of 128 columns at stride 1: cuDNN's backend engines are faster",
                    padded.cc, routed, not_faster};
    wide.cc.w = 128;
    cases.push_back(wide);
    PolicyCase wide_strided{"NCHW rows path, fp16 on rows of 128 columns at stride 2: faster on both APIs", wide.cc,
                            routed, routed};
    wide_strided.cc.stride_h = wide_strided.cc.stride_w = 2;
    cases.push_back(wide_strided);
    cases.push_back({"NCHW rows path, fp16 7x7: faster on both APIs", with_filter(padded.cc, 7), routed, routed});
    PolicyCase strided{"NCHW rows path at stride 2, fp32: faster on both APIs", layer_sized(CUDNN_DATA_FLOAT), routed,
                       routed};
    strided.cc.stride_h = strided.cc.stride_w = 2;
    strided.cc.w = 128;
    cases.push_back(strided);
    PolicyCase narrow{"NCHW rows path, fp32 on rows of 32 columns: faster on both APIs",
                      layer_sized(CUDNN_DATA_FLOAT), routed, routed};
    narrow.cc.pad_w = 1;
    cases.push_back(narrow);
    PolicyCase tail{"NCHW rows path, fp32 at batch 1 (tail_b1s): below the smallest measured layer",
                    with_filter(kb84_like(CUDNN_DATA_FLOAT), 3), not_faster, not_faster};
    tail.cc.c = 144;
    tail.cc.h = tail.cc.w = 56;
    tail.cc.n = 1;
    cases.push_back(tail);
    PolicyCase unequal{"NCHW rows path, fp16 at strides 2 x 1: faster on both APIs", padded.cc, routed, routed};
    unequal.cc.stride_h = 2;
    cases.push_back(unequal);
    PolicyCase large_nchw{"large-filter path, NCHW on planes 56 wide: faster on both APIs",
                          with_filter(layer_sized(CUDNN_DATA_FLOAT), 13), routed, routed};
    large_nchw.cc.h = large_nchw.cc.w = 56;
    cases.push_back(large_nchw);
    PolicyCase large_narrow{"large-filter path, NCHW fp32 on planes 28 wide: cuDNN is faster on both APIs",
                            large_nchw.cc, not_faster, not_faster};
    large_narrow.cc.h = large_narrow.cc.w = 28;
    cases.push_back(large_narrow);
    PolicyCase large{"large-filter path", with_filter(kb84_like(CUDNN_DATA_HALF), 13), routed, routed};
    large.cc.layout = dwtest::Layout::kNHWC;
    cases.push_back(large);
    PolicyCase nhwc{"NHWC vector path, small 3x3 fp32: faster than cuDNN's legacy algorithms only",
                    kb84_like(CUDNN_DATA_FLOAT), routed, not_faster};
    nhwc.cc.layout = dwtest::Layout::kNHWC;
    cases.push_back(nhwc);
    PolicyCase nhwc_bf16{"NHWC vector path, small 3x3 bf16 on rows of 32: faster than cuDNN's legacy algorithms only",
                         nhwc.cc, routed, not_faster};
    nhwc_bf16.cc.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back(nhwc_bf16);
    PolicyCase nhwc_bf16_wide{"NHWC vector path, 3x3 bf16 on rows of 112 with 32 channels: faster on both APIs",
                              nhwc_bf16.cc, routed, routed};
    nhwc_bf16_wide.cc.c = 32;
    nhwc_bf16_wide.cc.w = 112;
    cases.push_back(nhwc_bf16_wide);
    PolicyCase nhwc_bf16_narrow{"NHWC vector path, 3x3 bf16 on rows of 112 with 16 channels: faster than cuDNN's "
                                "legacy algorithms only",
                                nhwc_bf16_wide.cc, routed, not_faster};
    nhwc_bf16_narrow.cc.c = 16;
    cases.push_back(nhwc_bf16_narrow);
    PolicyCase nhwc_bf16_s2{"NHWC vector path, 3x3 bf16 at stride 2 on rows of 56: faster on both APIs",
                            nhwc_bf16.cc, routed, routed};
    nhwc_bf16_s2.cc.w = 56;
    nhwc_bf16_s2.cc.stride_h = nhwc_bf16_s2.cc.stride_w = 2;
    cases.push_back(nhwc_bf16_s2);
    PolicyCase nhwc_bf16_s2_narrow{"NHWC vector path, 3x3 bf16 at stride 2 on rows of 28: faster than cuDNN's "
                                   "legacy algorithms only",
                                   nhwc_bf16_s2.cc, routed, not_faster};
    nhwc_bf16_s2_narrow.cc.w = 28;
    cases.push_back(nhwc_bf16_s2_narrow);
    PolicyCase nhwc_kb84{"NHWC vector path, KB84's 3x3 fp16: faster on both APIs", kb84_like(CUDNN_DATA_HALF), routed,
                         routed};
    nhwc_kb84.cc.layout = dwtest::Layout::kNHWC;
    nhwc_kb84.cc.n = 64;
    nhwc_kb84.cc.c = 128;
    nhwc_kb84.cc.h = 256;
    nhwc_kb84.cc.w = 512;
    cases.push_back(nhwc_kb84);
    PolicyCase nhwc7{"NHWC vector path, 7x7 fp32: faster on both APIs", with_filter(nhwc.cc, 7), routed, routed};
    cases.push_back(nhwc7);
    PolicyCase nhwc7_bf16{"NHWC vector path, 7x7 bf16: cuDNN's backend engines are faster", nhwc7.cc, routed,
                          not_faster};
    nhwc7_bf16.cc.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back(nhwc7_bf16);
    PolicyCase nhwc7_s2_bf16{"NHWC vector path, 7x7 bf16 at stride 2: faster on both APIs", nhwc7_bf16.cc, routed,
                             routed};
    nhwc7_s2_bf16.cc.stride_h = nhwc7_s2_bf16.cc.stride_w = 2;
    cases.push_back(nhwc7_s2_bf16);
    PolicyCase nhwc7_rows28_bf16{"NHWC vector path, 7x7 bf16 on rows of 28: faster on both APIs", nhwc7_bf16.cc,
                                 routed, routed};
    nhwc7_rows28_bf16.cc.h = nhwc7_rows28_bf16.cc.w = 28;
    cases.push_back(nhwc7_rows28_bf16);
    PolicyCase nhwc7_rows56_bf16{"NHWC tensor-core path, 7x7 bf16 on rows of 56 (c96_56x56_k7s1): faster on both APIs",
                                 nhwc7_bf16.cc, routed, routed};
    nhwc7_rows56_bf16.cc.n = 64;
    nhwc7_rows56_bf16.cc.c = 96;
    nhwc7_rows56_bf16.cc.h = nhwc7_rows56_bf16.cc.w = 56;
    cases.push_back(nhwc7_rows56_bf16);
    PolicyCase nhwc7_rows56_half{"NHWC tensor-core path, 7x7 fp16 on rows of 56: its fp16 build not timed in its "
                                 "final version, faster than cuDNN's legacy algorithms only",
                                 nhwc7_rows56_bf16.cc, routed, not_faster};
    nhwc7_rows56_half.cc.dtype = CUDNN_DATA_HALF;
    cases.push_back(nhwc7_rows56_half);
    PolicyCase nhwc7_rows28_half{"NHWC tensor-core path, 7x7 fp16 on rows of 28 (c192_28x28_k7s1): its fp16 build "
                                 "not timed in its final version, faster than cuDNN's legacy algorithms only",
                                 nhwc7_rows56_half.cc, routed, not_faster};
    nhwc7_rows28_half.cc.c = 192;
    nhwc7_rows28_half.cc.h = nhwc7_rows28_half.cc.w = 28;
    cases.push_back(nhwc7_rows28_half);
    PolicyCase nhwc7_rows56_odd{"NHWC vector path, 7x7 bf16 on rows of 56 with 72 channels (not in 16-channel "
                                "groups): cuDNN's backend engines are faster",
                                nhwc7_rows56_bf16.cc, routed, not_faster};
    nhwc7_rows56_odd.cc.c = 72;
    cases.push_back(nhwc7_rows56_odd);
    PolicyCase nhwc7_rows112_bf16{"NHWC tensor-core path, 7x7 bf16 on rows of 112: wider than any row measured, "
                                  "forwarded on the backend API",
                                  nhwc7_rows56_bf16.cc, routed, not_faster};
    nhwc7_rows112_bf16.cc.h = nhwc7_rows112_bf16.cc.w = 112;
    cases.push_back(nhwc7_rows112_bf16);
    PolicyCase nhwc5_s2_half{"NHWC vector path, 5x5 fp16 at stride 2: faster than cuDNN's backend plans only",
                             with_filter(nhwc_bf16.cc, 5), not_faster, routed};
    nhwc5_s2_half.cc.dtype = CUDNN_DATA_HALF;
    nhwc5_s2_half.cc.stride_h = nhwc5_s2_half.cc.stride_w = 2;
    cases.push_back(nhwc5_s2_half);
    cases.push_back({"NHWC vector path, 5x5 bf16: a tie with cuDNN's backend engines", with_filter(nhwc_bf16.cc, 5),
                     routed, not_faster});
    PolicyCase nhwc_s2_half{"NHWC vector path, small 3x3 stride 2 fp16: a tie with cuDNN's backend engines",
                            kb84_like(CUDNN_DATA_HALF), routed, not_faster};
    nhwc_s2_half.cc.layout = dwtest::Layout::kNHWC;
    nhwc_s2_half.cc.stride_h = nhwc_s2_half.cc.stride_w = 2;
    cases.push_back(nhwc_s2_half);
    PolicyCase nhwc_half{"NHWC vector path, small 3x3 fp16: a tie with cuDNN on both APIs",
                         kb84_like(CUDNN_DATA_HALF), not_faster, not_faster};
    nhwc_half.cc.layout = dwtest::Layout::kNHWC;
    cases.push_back(nhwc_half);
    cases.push_back({"NHWC vector path, 5x5 fp16: cuDNN is faster on both APIs", with_filter(nhwc_half.cc, 5),
                     not_faster, not_faster});
    cases.push_back({"NHWC vector path, 7x7 fp16: faster than cuDNN's legacy algorithms only",
                     with_filter(nhwc_half.cc, 7), routed, not_faster});
    PolicyCase asymmetric{"NCHW rows path, 3x7 fp16: faster on both APIs", layer_sized(CUDNN_DATA_HALF), routed,
                          routed};
    asymmetric.cc.kh = 3;
    asymmetric.cc.kw = 7;
    asymmetric.cc.pad_w = 1;
    cases.push_back(asymmetric);
    PolicyCase asymmetric_7x3{"NCHW rows path, 7x3 fp16: faster on both APIs", asymmetric.cc, routed, routed};
    asymmetric_7x3.cc.kh = 7;
    asymmetric_7x3.cc.kw = 3;
    cases.push_back(asymmetric_7x3);
    PolicyCase asymmetric_unmeasured{"NCHW rows path, 7x3 fp16 at stride 2: not measured", asymmetric_7x3.cc,
                                     not_faster, not_faster};
    asymmetric_unmeasured.cc.stride_h = asymmetric_unmeasured.cc.stride_w = 2;
    cases.push_back(asymmetric_unmeasured);
    PolicyCase asymmetric_small{"NCHW rows path, 3x7 fp16 at 64 x 184 x 14 x 14: below the smallest asymmetric input "
                                "measured",
                                asymmetric.cc, not_faster, not_faster};
    asymmetric_small.cc.h = asymmetric_small.cc.w = 14;
    cases.push_back(asymmetric_small);
    PolicyCase unequal_unmeasured{"NCHW rows path, fp32 5x5 at strides 2 x 1: not measured",
                                  with_filter(layer_sized(CUDNN_DATA_FLOAT), 5), not_faster, not_faster};
    unequal_unmeasured.cc.pad_w = 2;
    unequal_unmeasured.cc.stride_h = 2;
    cases.push_back(unequal_unmeasured);
    PolicyCase generic{"generic path (dilated rows)", kb84_like(CUDNN_DATA_FLOAT), not_faster, not_faster};
    generic.cc.dil_h = 2;
    cases.push_back(generic);
    PolicyCase multiplied{"generic path, fp32 NHWC with a channel multiplier (mult2k5): faster than cuDNN's legacy "
                          "algorithms only",
                          with_filter(kb84_like(CUDNN_DATA_FLOAT), 5), routed, not_faster};
    multiplied.cc.layout = dwtest::Layout::kNHWC;
    multiplied.cc.n = 16;
    multiplied.cc.c = 64;
    multiplied.cc.h = multiplied.cc.w = 56;
    multiplied.cc.multiplier = 2;
    cases.push_back(multiplied);
    PolicyCase multiplied_half{"generic path, fp16 NHWC with a channel multiplier: cuDNN is faster",
                               multiplied.cc, not_faster, not_faster};
    multiplied_half.cc.dtype = CUDNN_DATA_HALF;
    cases.push_back(multiplied_half);
    PolicyCase multiplied_seven{"generic path, fp32 NHWC 7x7 with a channel multiplier: not measured",
                                with_filter(multiplied.cc, 7), not_faster, not_faster};
    cases.push_back(multiplied_seven);
    return cases;
}

ConvCase gradient(ConvCase cc, dwshim::Direction direction, dwtest::Layout layout = dwtest::Layout::kNCHW) {
    cc.direction = direction;
    cc.layout = layout;
    return cc;
}

// The suite's smallest input (mbv2_56): gradients of smaller inputs are never routed.
ConvCase measured_size(cudnnDataType_t dtype) {
    ConvCase cc;
    cc.dtype = dtype;
    cc.n = 32;
    cc.c = 144;
    cc.h = cc.w = 56;
    return cc;
}

// A depthwise layer of bench/models.csv (batch 64, square images, a k x k filter with "same" padding) in cc's dtype.
ConvCase model_layer(ConvCase cc, int k, int channels, int size, int stride = 1) {
    cc = with_filter(cc, k);
    cc.n = 64;
    cc.c = channels;
    cc.h = cc.w = size;
    cc.stride_h = cc.stride_w = stride;
    return cc;
}

// One case per rule of shim/gradient_policy.cpp.
std::vector<PolicyCase> gradient_policy_cases() {
    const RouteReason routed = RouteReason::kRouted, not_faster = RouteReason::kNotFaster;
    const auto data = dwshim::Direction::kDataGrad, filter = dwshim::Direction::kFilterGrad;
    const auto nhwc = dwtest::Layout::kNHWC;
    ConvCase same = measured_size(CUDNN_DATA_HALF);
    same.pad_h = same.pad_w = 1;
    ConvCase strided = measured_size(CUDNN_DATA_FLOAT);
    strided.h = strided.w = 112;
    strided.stride_h = strided.stride_w = 2;
    strided.pad_h = strided.pad_w = 1;
    ConvCase mult2 = measured_size(CUDNN_DATA_BFLOAT16);
    mult2.multiplier = 2;
    std::vector<PolicyCase> cases;
    ConvCase small = same;
    small.n = 2;
    cases.push_back({"dgrad below the smallest measured input", gradient(small, data, nhwc), not_faster, not_faster});
    cases.push_back({"wgrad below the smallest measured input", gradient(small, filter), not_faster, not_faster});
    cases.push_back({"dgrad on the NHWC vector path, small 3x3 fp16: cuDNN is faster on both APIs",
                     gradient(same, data, nhwc), not_faster, not_faster});
    cases.push_back({"dgrad on the NHWC vector path, small 3x3 fp32: a tie with PyTorch's backend plan",
                     gradient(measured_size(CUDNN_DATA_FLOAT), data, nhwc), routed, not_faster});
    ConvCase same_bf16 = same;
    same_bf16.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back({"dgrad on the NHWC vector path, small 3x3 bf16: faster on both APIs",
                     gradient(same_bf16, data, nhwc), routed, routed});
    ConvCase layer_bf16 = same_bf16;  // c960_7x7_k3s1 of bench/models.csv, the smallest bf16 NHWC dgrad routed
    layer_bf16.n = 64;
    layer_bf16.c = 960;
    layer_bf16.h = layer_bf16.w = 7;
    cases.push_back({"dgrad, NHWC bf16 at 64 x 960 x 7 x 7: faster on both APIs", gradient(layer_bf16, data, nhwc),
                     routed, routed});
    ConvCase layer_below = layer_bf16;  // c200_14x14_k3s1: a tie
    layer_below.c = 200;
    layer_below.h = layer_below.w = 14;
    cases.push_back({"dgrad, NHWC bf16 below 64 x 960 x 7 x 7: a tie with PyTorch's backend plan",
                     gradient(layer_below, data, nhwc), not_faster, not_faster});
    // Kernels other than the two measured on the model layers keep the suite's size gate.
    ConvCase layer_stride3 = with_filter(layer_bf16, 5);  // the generic gather kernel
    layer_stride3.stride_h = layer_stride3.stride_w = 3;
    cases.push_back({"dgrad, NHWC bf16 5x5 at stride 3, 64 x 960 x 7 x 7 (generic kernel): below the smallest "
                     "measured input",
                     gradient(layer_stride3, data, nhwc), not_faster, not_faster});
    cases.push_back({"dgrad, NHWC bf16 9x9 at 64 x 960 x 7 x 7 (large-filter kernel): below the smallest measured "
                     "input",
                     gradient(with_filter(layer_bf16, 9), data, nhwc), not_faster, not_faster});
    ConvCase layer_f32 = layer_bf16;
    layer_f32.dtype = CUDNN_DATA_FLOAT;
    cases.push_back({"dgrad, NHWC fp32 at 64 x 960 x 7 x 7: below the smallest measured input",
                     gradient(layer_f32, data, nhwc), not_faster, not_faster});
    cases.push_back({"dgrad, NCHW bf16 at 64 x 960 x 7 x 7: below the smallest measured input",
                     gradient(layer_bf16, data), not_faster, not_faster});
    cases.push_back({"dgrad on the NCHW rows path, 3x3 fp16: cuDNN's backend plan is faster", gradient(same, data),
                     routed, not_faster});
    cases.push_back({"dgrad on the NCHW rows path, 7x7 fp16: faster on both APIs",
                     gradient(with_filter(same, 7), data), routed, routed});
    ConvCase wide_rows = same;
    wide_rows.h = 64;
    wide_rows.w = 512;
    cases.push_back({"dgrad on the NCHW rows path, 3x3 fp16 on rows of 512 (quads kernel): faster on both APIs",
                     gradient(wide_rows, data), routed, routed});
    ConvCase same_3x1 = same;
    same_3x1.kw = 1;
    same_3x1.pad_w = 0;
    cases.push_back({"dgrad on the NCHW rows path, 3x1 fp16: faster on both APIs", gradient(same_3x1, data), routed,
                     routed});
    ConvCase small_3x1 = same_3x1;
    small_3x1.n = 8;
    cases.push_back({"dgrad on the NCHW rows path, 3x1 fp16 below the smallest measured asymmetric input",
                     gradient(small_3x1, data), not_faster, not_faster});
    cases.push_back({"dgrad of a 3x1 filter on channels-last data (generic kernel): not measured",
                     gradient(same_3x1, data, nhwc), not_faster, not_faster});
    cases.push_back({"wgrad on the NCHW rows kernel, 3x1 fp16: faster on both APIs", gradient(same_3x1, filter),
                     routed, routed});
    cases.push_back({"wgrad on the NCHW rows kernel, 3x1 fp16 below the smallest measured asymmetric input",
                     gradient(small_3x1, filter), not_faster, not_faster});
    ConvCase same_7x3 = same;
    same_7x3.kh = 7;
    same_7x3.pad_h = 3;
    cases.push_back({"wgrad on the NCHW rows kernel, 7x3 fp16: a tie with cuDNN", gradient(same_7x3, filter),
                     not_faster, not_faster});
    ConvCase same_7x3_bf16 = same_7x3;
    same_7x3_bf16.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back({"wgrad on the NCHW rows kernel, 7x3 bf16: faster on both APIs", gradient(same_7x3_bf16, filter),
                     routed, routed});
    cases.push_back({"wgrad of a 3x1 filter on channels-last data (generic kernel): not measured",
                     gradient(same_3x1, filter, nhwc), not_faster, not_faster});
    cases.push_back({"dgrad on the large-filter path", gradient(with_filter(same, 13), data, nhwc), routed, routed});
    cases.push_back({"dgrad at stride 2, NCHW fp32 (window kernel): faster on both APIs", gradient(strided, data),
                     routed, routed});
    ConvCase strided_bf16 = strided;
    strided_bf16.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back({"dgrad at stride 2, NCHW bf16 (window kernel): faster on both APIs",
                     gradient(strided_bf16, data), routed, routed});
    ConvCase strided_f16 = strided;
    strided_f16.dtype = CUDNN_DATA_HALF;
    cases.push_back({"dgrad at stride 2, NCHW fp16 (window kernel): faster on both APIs", gradient(strided_f16, data),
                     routed, routed});
    ConvCase strided_small = strided;  // 64 x 576 x 14 x 14 is the smallest stride-2 layer measured
    strided_small.n = 1;
    cases.push_back({"dgrad at stride 2, NCHW fp32 (window kernel): below the smallest measured layer",
                     gradient(strided_small, data), not_faster, not_faster});
    ConvCase strided_unpadded = strided;
    strided_unpadded.pad_h = strided_unpadded.pad_w = 0;
    cases.push_back({"dgrad at stride 2, NCHW fp32 3x3 without padding (generic kernel): it loses",
                     gradient(strided_unpadded, data), not_faster, not_faster});
    cases.push_back({"dgrad at stride 2, NHWC fp32 (strip kernel): faster on both APIs",
                     gradient(strided, data, nhwc), routed, routed});
    ConvCase strided_odd = strided;
    strided_odd.c = 142;
    cases.push_back({"dgrad at stride 2, NHWC fp32 without 16-byte channel vectors (generic kernel): faster than "
                     "cuDNN's legacy algorithms only",
                     gradient(strided_odd, data, nhwc), routed, not_faster});
    cases.push_back({"wgrad, NCHW fp32 3x3: faster on both APIs", gradient(measured_size(CUDNN_DATA_FLOAT), filter),
                     routed, routed});
    cases.push_back({"wgrad, small NHWC fp32 3x3 at stride 1: cuDNN is faster on both APIs",
                     gradient(measured_size(CUDNN_DATA_FLOAT), filter, nhwc), not_faster, not_faster});
    ConvCase rows56_half = same;  // c144_56x56_k3s1 of bench/models.csv
    rows56_half.n = 64;
    cases.push_back({"wgrad, NHWC fp16 3x3 at stride 1 on rows of 56 (ring kernel): cuDNN is faster on both APIs",
                     gradient(rows56_half, filter, nhwc), not_faster, not_faster});
    const ConvCase rows112_half = model_layer(same, 3, 16, 112);  // c16_112x112_k3s1, below the suite's smallest
    cases.push_back({"wgrad, NHWC fp16 3x3 at stride 1 on rows of 112, 64 x 16 channels: faster on both APIs",
                     gradient(rows112_half, filter, nhwc), routed, routed});
    const ConvCase k5s2_rows14 = model_layer(same_bf16, 5, 672, 14, 2);  // c672_14x14_k5s2
    cases.push_back({"wgrad, NHWC bf16 5x5 at stride 2 on rows of 14: faster on both APIs",
                     gradient(k5s2_rows14, filter, nhwc), routed, routed});
    ConvCase k5s2_rows56 = model_layer(same_bf16, 5, 144, 56, 2);  // c144_56x56_k5s2
    cases.push_back({"wgrad, NHWC bf16 5x5 at stride 2 on rows of 56: faster than cuDNN's legacy algorithms only",
                     gradient(k5s2_rows56, filter, nhwc), routed, not_faster});
    k5s2_rows56.dtype = CUDNN_DATA_HALF;
    cases.push_back({"wgrad, NHWC fp16 5x5 at stride 2 on rows of 56: cuDNN is faster on both APIs",
                     gradient(k5s2_rows56, filter, nhwc), not_faster, not_faster});
    const ConvCase tiles_k7 = model_layer(same_bf16, 7, 384, 14);  // c384_14x14_k7s1: the image-tile kernel
    cases.push_back({"wgrad, NHWC bf16 7x7 on rows of 14 (image-tile kernel): faster on both APIs",
                     gradient(tiles_k7, filter, nhwc), routed, routed});
    cases.push_back({"wgrad, NHWC bf16 7x7 on rows of 21 (image-tile kernel): not measured, below the smallest "
                     "measured input",
                     gradient(model_layer(same_bf16, 7, 384, 21), filter, nhwc), not_faster, not_faster});
    const ConvCase tiles_k5 = model_layer(same, 5, 480, 14);  // c480_14x14_k5s1 in fp16
    cases.push_back({"wgrad, NHWC fp16 5x5 on rows of 14 (image-tile kernel): faster on both APIs",
                     gradient(tiles_k5, filter, nhwc), routed, routed});
    ConvCase tiles_odd = tiles_k7;  // channels that do not fill 16-byte vectors: the ring kernel
    tiles_odd.c = 380;
    cases.push_back({"wgrad, NHWC bf16 7x7 on rows of 14 with 380 channels (ring kernel): below the smallest "
                     "measured input",
                     gradient(tiles_odd, filter, nhwc), not_faster, not_faster});
    const ConvCase tiles_7x7 = model_layer(same_bf16, 7, 768, 7);  // c768_7x7_k7s1: PyTorch's plan is faster
    cases.push_back({"wgrad, NHWC bf16 7x7 on 7 x 7 images: slower than PyTorch's plan, below the suite's smallest "
                     "input",
                     gradient(tiles_7x7, filter, nhwc), not_faster, not_faster});
    const auto forward = dwshim::Direction::kForward;
    const ConvCase planes_7x7 = model_layer(same_bf16, 7, 768, 7);  // c768_7x7_k7s1: the small-plane kernel
    cases.push_back({"fwd, NHWC bf16 7x7 on 7 x 7 images (small-plane kernel): faster on both APIs",
                     gradient(planes_7x7, forward, nhwc), routed, routed});
    ConvCase planes_7x7_b8 = planes_7x7;
    planes_7x7_b8.n = 8;
    cases.push_back({"fwd, NHWC bf16 7x7 on 7 x 7 images at batch 8 (small-plane kernel): below the smallest measured "
                     "layer, routed only where the strip kernel was measured faster (legacy)",
                     gradient(planes_7x7_b8, forward, nhwc), routed, not_faster});
    const ConvCase planes_14_half = model_layer(same, 7, 384, 14);  // c384_14x14_k7s1 in fp16
    cases.push_back({"dgrad, NHWC fp16 7x7 on rows of 14 (small-plane kernel): faster on both APIs",
                     gradient(planes_14_half, data, nhwc), routed, routed});
    cases.push_back({"dgrad, NHWC fp16 7x7 on rows of 10 (small-plane kernel): a width not measured",
                     gradient(model_layer(same, 7, 384, 10), data, nhwc), not_faster, not_faster});
    ConvCase planes_14_half_b8 = planes_14_half;
    planes_14_half_b8.n = 8;
    cases.push_back({"dgrad, NHWC fp16 7x7 on rows of 14 at batch 8 (small-plane kernel): below the smallest measured "
                     "layer",
                     gradient(planes_14_half_b8, data, nhwc), not_faster, not_faster});
    const ConvCase planes_k5_half = model_layer(same, 5, 672, 14);  // c672_14x14_k5s1 in fp16
    cases.push_back({"fwd, NHWC fp16 5x5 on rows of 14 (small-plane kernel): ties cuDNN's legacy algorithms, faster "
                     "than the backend's and PyTorch's plans",
                     gradient(planes_k5_half, forward, nhwc), not_faster, routed});
    cases.push_back({"dgrad, NHWC fp16 5x5 on rows of 14 (small-plane kernel): ties cuDNN on both APIs",
                     gradient(planes_k5_half, data, nhwc), not_faster, not_faster});
    const ConvCase planes_k5_7x7 = model_layer(same_bf16, 5, 960, 7);  // c960_7x7_k5s1
    cases.push_back({"fwd, NHWC bf16 5x5 on 7 x 7 images (small-plane kernel): slower than PyTorch's plan",
                     gradient(planes_k5_7x7, forward, nhwc), routed, not_faster});
    cases.push_back({"dgrad, NHWC bf16 5x5 on 7 x 7 images (small-plane kernel): faster on both APIs",
                     gradient(planes_k5_7x7, data, nhwc), routed, routed});
    const ConvCase s2_layer_half = model_layer(same, 3, 576, 14, 2);  // c576_14x14_k3s2, the smallest stride-2 layer
    cases.push_back({"dgrad, NHWC fp16 3x3 at stride 2 on 64 x 576 x 14 x 14 (strip kernel): faster on both APIs",
                     gradient(s2_layer_half, data, nhwc), routed, routed});
    ConvCase strided_half = strided;
    strided_half.dtype = CUDNN_DATA_HALF;
    cases.push_back({"wgrad, NHWC fp16 3x3 at stride 2: cuDNN is faster on both APIs",
                     gradient(strided_half, filter, nhwc), not_faster, not_faster});
    ConvCase odd_channels = same;
    odd_channels.c = 143;
    cases.push_back({"wgrad, NHWC fp16 with odd channels (tile kernel): not measured",
                     gradient(odd_channels, filter, nhwc), not_faster, not_faster});
    cases.push_back({"wgrad, NHWC fp16 7x7 at stride 1: faster than cuDNN's legacy algorithms only",
                     gradient(with_filter(same, 7), filter, nhwc), routed, not_faster});
    cases.push_back({"wgrad, NHWC fp16 5x5 at stride 1 (input-row walk): faster on both APIs",
                     gradient(with_filter(same, 5), filter, nhwc), routed, routed});
    cases.push_back({"wgrad, NHWC fp32 5x5 at stride 1: faster on both APIs",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 5), filter, nhwc), routed, routed});
    cases.push_back({"wgrad, NHWC fp32 3x3 at stride 2: faster on both APIs", gradient(strided, filter, nhwc),
                     routed, routed});
    cases.push_back({"wgrad, NHWC bf16 3x3: faster on both APIs", gradient(same_bf16, filter, nhwc), routed,
                     routed});
    cases.push_back({"wgrad, NCHW fp16 3x3 at stride 1 on rows of 56: faster on both APIs", gradient(same, filter),
                     routed, routed});
    ConvCase layer = same;  // c384_14x14_k3s1 of bench/models.csv
    layer.n = 64;
    layer.c = 384;
    layer.h = layer.w = 14;
    cases.push_back({"wgrad, NCHW fp16 3x3 at stride 1 on rows of 14: a tie with cuDNN's backend plan",
                     gradient(layer, filter), routed, not_faster});
    ConvCase layer_bf16_rows = layer;
    layer_bf16_rows.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back({"wgrad, NCHW bf16 3x3 at stride 1 on rows of 14: faster on both APIs",
                     gradient(layer_bf16_rows, filter), routed, routed});
    ConvCase layer_small = layer;  // c184_14x14_k3s1, the smallest model layer
    layer_small.c = 184;
    layer_small.dtype = CUDNN_DATA_FLOAT;
    cases.push_back({"wgrad, NCHW fp32 at 64 x 184 x 14 x 14: faster on both APIs", gradient(layer_small, filter),
                     routed, routed});
    layer_small.n = 32;
    cases.push_back({"wgrad, NCHW fp32 below 64 x 184 x 14 x 14: below the smallest measured layer",
                     gradient(layer_small, filter), not_faster, not_faster});
    ConvCase layer_s2 = layer;  // c576_14x14_k3s2
    layer_s2.c = 576;
    layer_s2.dtype = CUDNN_DATA_FLOAT;
    layer_s2.stride_h = layer_s2.stride_w = 2;
    cases.push_back({"wgrad, NCHW fp32 3x3 at stride 2 on rows of 14: cuDNN is faster on both APIs",
                     gradient(layer_s2, filter), not_faster, not_faster});
    ConvCase effnet = with_filter(measured_size(CUDNN_DATA_HALF), 5);  // effnet_k5s2 of bench/suite.csv
    effnet.c = 240;
    effnet.stride_h = effnet.stride_w = 2;
    cases.push_back({"wgrad, NCHW fp16 5x5 at stride 2: cuDNN is faster on both APIs", gradient(effnet, filter),
                     not_faster, not_faster});
    effnet.dtype = CUDNN_DATA_BFLOAT16;
    cases.push_back({"wgrad, NCHW bf16 5x5 at stride 2: faster than cuDNN's legacy algorithms only",
                     gradient(effnet, filter), routed, not_faster});
    cases.push_back({"wgrad, NCHW fp16 7x7 on rows of 56: faster on both APIs", gradient(with_filter(same, 7), filter),
                     routed, routed});
    ConvCase rows14 = with_filter(same, 7);  // c384_14x14_k7s1 of bench/models.csv
    rows14.n = 64;
    rows14.c = 384;
    rows14.h = rows14.w = 14;
    cases.push_back({"wgrad, NCHW fp16 7x7 on rows of 14: faster than cuDNN's legacy algorithms only",
                     gradient(rows14, filter), routed, not_faster});
    cases.push_back({"wgrad with a channel multiplier: faster on both APIs", gradient(mult2, filter, nhwc), routed,
                     routed});
    cases.push_back({"wgrad, 31x31 NHWC fp32 (large-filter kernel on packed copies): faster on both APIs",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 31), filter, nhwc), routed, routed});
    cases.push_back({"wgrad, 31x31 NCHW fp32 (large-filter kernel): faster on both APIs",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 31), filter), routed, routed});
    cases.push_back({"wgrad, 31x31 NHWC bf16 (large-filter kernel on packed copies): faster on both APIs",
                     gradient(with_filter(measured_size(CUDNN_DATA_BFLOAT16), 31), filter, nhwc), routed, routed});
    cases.push_back({"wgrad, 13x13 NCHW fp32 (large-filter kernel): faster on both APIs",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 13), filter), routed, routed});
    cases.push_back({"wgrad, 17x17 NCHW fp32 (large-filter kernel, between measured sizes): not measured",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 17), filter), not_faster, not_faster});
    cases.push_back({"wgrad, 33x33 NCHW fp32 (large-filter kernel): not measured",
                     gradient(with_filter(measured_size(CUDNN_DATA_FLOAT), 33), filter), not_faster, not_faster});
    ConvCase small_large = with_filter(measured_size(CUDNN_DATA_HALF), 13);
    small_large.n = 4;
    cases.push_back({"wgrad, 13x13 NHWC fp16 below the smallest measured large-filter input",
                     gradient(small_large, filter, nhwc), not_faster, not_faster});
    ConvCase dilated_large = with_filter(measured_size(CUDNN_DATA_FLOAT), 13);
    dilated_large.dil_h = dilated_large.dil_w = 2;
    dilated_large.pad_h = dilated_large.pad_w = 12;
    cases.push_back({"wgrad, dilated large filter NHWC fp32 (generic kernel): not measured",
                     gradient(dilated_large, filter, nhwc), not_faster, not_faster});
    return cases;
}

std::vector<PolicyCase> all_policy_cases() {
    std::vector<PolicyCase> cases = policy_cases();
    for (const PolicyCase& c : gradient_policy_cases()) cases.push_back(c);
    return cases;
}

TEST(EnvPolicy, LegacyApiRoutesOnlyMeasuredWins) {
    ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr);
    for (const PolicyCase& c : all_policy_cases()) EXPECT_EQ(legacy(c.cc), c.legacy) << c.what;
}

TEST(EnvPolicy, BackendApiRoutesOnlyMeasuredWins) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr);
    for (const PolicyCase& c : all_policy_cases()) EXPECT_EQ(backend(c.cc), c.backend) << c.what;
}

TEST(EnvPolicy, PyTorchNativeGradientsRouteOnlyMeasuredWins) {
    ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr);
    const auto data = dwshim::Direction::kDataGrad, filter = dwshim::Direction::kFilterGrad;
    const auto f32 = CUDNN_DATA_FLOAT, bf16 = CUDNN_DATA_BFLOAT16;
    const RouteReason routed = RouteReason::kRouted, not_faster = RouteReason::kNotFaster;
    const TorchNativeCase cases[] = {
        {"dgrad 3x3 stride 1 on rows of 14", data, f32, 64, 184, 14, 14, 3, 1, 1, 1, routed},
        {"dgrad 7x7 stride 1, bf16", data, bf16, 64, 96, 56, 56, 7, 1, 1, 1, routed},
        {"dgrad on 7 x 7 images (packed rows path)", data, f32, 64, 1152, 7, 7, 3, 1, 1, 1, routed},
        {"dgrad at stride 2 (window kernel)", data, bf16, 64, 64, 112, 112, 3, 2, 1, 1, routed},
        {"dgrad 5x5 at stride 2 on rows of 14", data, f32, 64, 672, 14, 14, 5, 2, 1, 1, routed},
        {"dgrad at stride 2 below the smallest measured layer", data, f32, 64, 576, 7, 7, 3, 2, 1, 1, not_faster},
        {"dgrad below the smallest measured layer", data, f32, 8, 184, 14, 14, 3, 1, 1, 1, not_faster},
        {"dgrad with a channel multiplier: not measured", data, f32, 64, 184, 28, 28, 3, 1, 1, 2, not_faster},
        {"wgrad 3x3 stride 1", filter, f32, 64, 16, 112, 112, 3, 1, 1, 1, routed},
        {"wgrad 5x5 on 7 x 7 images", filter, f32, 64, 1152, 7, 7, 5, 1, 1, 1, routed},
        {"wgrad 3x3 stride 2 on rows of 112", filter, bf16, 64, 64, 112, 112, 3, 2, 1, 1, routed},
        {"wgrad 3x3 stride 2 on rows of 28: PyTorch is faster", filter, bf16, 64, 240, 28, 28, 3, 2, 1, 1,
         not_faster},
        {"wgrad with dilation (generic kernel): not measured", filter, f32, 64, 184, 28, 28, 3, 1, 2, 1,
         not_faster},
        {"wgrad with a channel multiplier", filter, bf16, 64, 184, 28, 28, 3, 1, 1, 2, routed},
        {"wgrad with a channel multiplier at stride 2: not measured", filter, bf16, 64, 184, 28, 28, 3, 2, 1, 2,
         not_faster},
        {"wgrad 5x5 with a channel multiplier: not measured", filter, bf16, 64, 184, 28, 28, 5, 1, 1, 2, not_faster},
        {"wgrad 13x13 (large-filter kernel)", filter, f32, 32, 256, 56, 56, 13, 1, 1, 1, routed},
        {"dgrad 13x13 on planes of 28 (large-filter kernel)", data, bf16, 32, 256, 28, 28, 13, 1, 1, 1, routed},
        {"wgrad 35x35 (large-filter kernel): not measured", filter, f32, 32, 256, 56, 56, 35, 1, 1, 1, not_faster},
        {"dgrad 21x21 (large-filter kernel): not measured", data, f32, 32, 256, 56, 56, 21, 1, 1, 1, not_faster},
        {"dgrad 31x31 (large-filter kernel)", data, f32, 32, 256, 56, 56, 31, 1, 1, 1, routed},
        {"wgrad 31x31 (large-filter kernel)", filter, bf16, 32, 256, 56, 56, 31, 1, 1, 1, routed},
        {"wgrad 9x9 with dilation (generic kernel): not measured", filter, f32, 32, 256, 56, 56, 9, 1, 2, 1,
         not_faster},
    };
    for (const TorchNativeCase& t : cases) EXPECT_EQ(torch_native(t), t.expected) << t.what;
}

}  // namespace
