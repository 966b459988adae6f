// The tuning cache (shim/tuned_routes.h) decides the problems it holds for this GPU's identity, before the static
// rules; everything else keeps them. Each suite runs as its own ctest entry with its environment
// (tests/CMakeLists.txt): the settings and the file are read once per process.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/cpu/route_cases.h"

using dwshim::RouteReason;

namespace {

constexpr auto kData = dwshim::Direction::kDataGrad, kFilter = dwshim::Direction::kFilterGrad;
constexpr RouteReason kRouted = RouteReason::kRouted, kNotFaster = RouteReason::kNotFaster,
                      kTunedSlower = RouteReason::kTunedSlower;

const TorchNativeCase kStride2OnSmallImages{"dgrad 3x3 stride 2 on 7 x 7", kData, CUDNN_DATA_FLOAT, 64, 576, 7, 7, 3,
                                            2, 1, 1, kNotFaster};
const TorchNativeCase kStride1{"dgrad 3x3 stride 1 on 14 x 14", kData, CUDNN_DATA_FLOAT, 64, 184, 14, 14, 3, 1, 1, 1,
                               kRouted};
const TorchNativeCase kWgrad{"wgrad 3x3 on 112 x 112", kFilter, CUDNN_DATA_FLOAT, 64, 16, 112, 112, 3, 1, 1, 1,
                             kRouted};
const TorchNativeCase kWgradStride2Bf16{"wgrad bf16 3x3 stride 2 on 112 x 112", kFilter, CUDNN_DATA_BFLOAT16, 64, 64,
                                        112, 112, 3, 2, 1, 1, kRouted};

std::string read_file(const char* path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

TEST(EnvTunedCache, DecidesItsProblemsOnThisGpuOnly) {
    ASSERT_STREQ(std::getenv("DWSHIM_TUNE_IDENTITY"), "cpu test gpu");
    EXPECT_EQ(torch_native(kStride2OnSmallImages), kRouted) << "measured faster here, declined by the static rules";
    EXPECT_EQ(torch_native(kStride1), kTunedSlower) << "the last line for a problem wins";
    EXPECT_EQ(torch_native(kWgrad), kTunedSlower) << "1% faster is not faster by the 3% margin";
    EXPECT_EQ(torch_native(kWgradStride2Bf16), kRouted) << "malformed lines are skipped";
    EXPECT_EQ(legacy(kb84_like(CUDNN_DATA_FLOAT)), kTunedSlower);
    TorchNativeCase unlisted = kStride1;
    unlisted.n = 128;
    EXPECT_EQ(torch_native(unlisted), kRouted) << "a problem the file does not hold keeps the static rules";
}

TEST(EnvTunedOff, IgnoresTheFileAndWritesNothing) {
    ASSERT_STREQ(std::getenv("DWSHIM_TUNE"), "off");
    EXPECT_EQ(torch_native(kStride2OnSmallImages), kNotFaster);
    EXPECT_EQ(torch_native(kStride1), kRouted);
    EXPECT_EQ(legacy(kb84_like(CUDNN_DATA_FLOAT)), kRouted);
    dwshim::DepthwiseParams params;
    torch_native(kStride1, &params);
    EXPECT_EQ(dwshim_tune_record(2, &params, 0.2, 0.1), 0);
}

TEST(EnvTunedRecord, RecordedMeasurementDecidesAndPersists) {
    const char* path = std::getenv("DWSHIM_TUNE_CACHE");
    ASSERT_NE(path, nullptr);
    std::remove(path);  // before the first routing call, which loads the file
    dwshim::DepthwiseParams params;
    ASSERT_EQ(torch_native(kWgrad, &params), kRouted);
    EXPECT_EQ(dwshim_tune_record(2, &params, 0.2, 0.1), 1);
    EXPECT_EQ(torch_native(kWgrad), kTunedSlower);
    EXPECT_EQ(read_file(path), "cpu test gpu,torch,wgrad,f32,nchw,64,16,112,112,16,112,112,3,3,1,1,1,1,1,1,0,0.2,0.1\n");
    EXPECT_EQ(dwshim_tune_record(2, &params, 0.05, 0.1), 1);
    EXPECT_EQ(torch_native(kWgrad), kRouted) << "a later measurement replaces the earlier one";
    EXPECT_EQ(dwshim_tune_record(1, &params, 0.0, 0.1), 0) << "a time that is not positive";
    EXPECT_EQ(dwshim_tune_record(3, &params, 0.1, 0.2), 0) << "no such API";
    dwshim::DepthwiseParams strided = params;
    strided.x_stride[dwshim::kH] += 1;
    EXPECT_EQ(dwshim_tune_record(2, &strided, 0.1, 0.2), 0) << "tensors neither packed NCHW nor NHWC";
    EXPECT_EQ(torch_native(kStride1), kRouted) << "other problems keep the static rules";
}

// DWSHIM_TUNE_RECORD: each problem the router is asked about, once per process, in bench/suite.csv's format.
TEST(EnvTuneRecord, RecordsEachProblemOnceAsACase) {
    const char* path = std::getenv("DWSHIM_TUNE_RECORD");
    ASSERT_NE(path, nullptr);
    std::remove(path);
    for (int call = 0; call < 2; ++call) {
        EXPECT_EQ(torch_native(kWgrad), kRouted);
        dwtest::ConvCase cc = kb84_like(CUDNN_DATA_BFLOAT16);
        cc.layout = dwtest::Layout::kNHWC;
        cc.pad_h = cc.pad_w = 1;
        EXPECT_EQ(legacy(cc), kRouted);
    }
    dwshim::DepthwiseParams padded;  // a row stride longer than the row: neither packed layout, not recorded
    const int64_t x_sizes[4] = {2, 8, 16, 32}, x_strides[4] = {8 * 16 * 40, 16 * 40, 40, 1};
    const int64_t y_sizes[4] = {2, 8, 14, 30}, y_strides[4] = {8 * 14 * 30, 14 * 30, 30, 1};
    const int64_t geometry[8] = {3, 3, 1, 1, 0, 0, 1, 1};
    EXPECT_EQ(dwshim_route_sizes(1, DWSHIM_FLOAT, x_sizes, x_strides, geometry, y_sizes, y_strides, &padded),
              static_cast<int>(kRouted));
    EXPECT_EQ(read_file(path),
              "n64c16h112w112_k3x3_s1x1_p1x1_d1x1_m1,64,16,112,112,3,3,1,1,1,1,1,1,1,torch wgrad f32 nchw\n"
              "n2c8h16w32_k3x3_s1x1_p1x1_d1x1_m1,2,8,16,32,3,3,1,1,1,1,1,1,1,legacy fwd bf16 nhwc\n");
}

}  // namespace
