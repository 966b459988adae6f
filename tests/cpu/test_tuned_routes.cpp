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

}  // namespace
