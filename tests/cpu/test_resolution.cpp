// Which real cuDNN dwshim forwards to, and what forwarded calls return. Tests named Env* run in their own
// processes with the environment ctest gives them (see tests/CMakeLists.txt); they fail without it.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/conv_case.h"

namespace {

// The cuDNN this test binary linked against, found without asking dwshim.
void* linked_cudnn() {
    void* handle = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) handle = dlopen("libcudnn.so.8", RTLD_NOW | RTLD_NOLOAD);
    return handle;
}

std::string canonical(const std::string& path) {
    char resolved[PATH_MAX];
    return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

template <typename Fn>
Fn real_function(const char* name) {
    return reinterpret_cast<Fn>(dlsym(linked_cudnn(), name));
}

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

dwshim::RouteReason route_depthwise() {
    dwtest::ConvCase cc;
    cc.n = 1;
    cc.c = 4;
    cc.h = cc.w = 8;
    dwtest::CudnnDescriptors d(cc);
    dwshim::DepthwiseParams p;
    return static_cast<dwshim::RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &p));
}

// Calls that are malformed for the real cuDNN must get its exact status through dwshim.
void expect_same_status_as_real_for_malformed_calls() {
    using ForwardFn = decltype(&cudnnConvolutionForward);
    using WorkspaceFn = decltype(&cudnnGetConvolutionForwardWorkspaceSize);
    dwtest::ConvCase cc;
    cc.c = 4;
    cc.h = cc.w = 8;
    dwtest::CudnnDescriptors d(cc);
    const float one = 1.0f, zero = 0.0f;
    const auto real_forward = real_function<ForwardFn>("cudnnConvolutionForward");
    const auto real_workspace = real_function<WorkspaceFn>("cudnnGetConvolutionForwardWorkspaceSize");
    ASSERT_NE(real_forward, nullptr);
    ASSERT_NE(real_workspace, nullptr);
    ASSERT_NE(real_forward, &cudnnConvolutionForward) << "the test must reach dwshim and the real cuDNN apart";
    EXPECT_EQ(cudnnConvolutionForward(nullptr, &one, d.x, nullptr, d.w, nullptr, d.conv,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, nullptr),
              real_forward(nullptr, &one, d.x, nullptr, d.w, nullptr, d.conv,
                           CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, nullptr));
    size_t ours = 0, theirs = 0;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(nullptr, d.x, d.w, d.conv, d.y,
                                                      CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &ours),
              real_workspace(nullptr, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &theirs));
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(nullptr, nullptr, d.w, d.conv, d.y,
                                                      CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &ours),
              real_workspace(nullptr, nullptr, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &theirs));
}

TEST(Resolution, FindsTheAlreadyLoadedCudnn) {
    Dl_info info{};
    ASSERT_NE(dladdr(dlsym(linked_cudnn(), "cudnnGetVersion"), &info), 0);
    EXPECT_EQ(canonical(dwshim_real_cudnn_path()), canonical(info.dli_fname));
}

TEST(Resolution, ForwardsVersionAndErrorStrings) {
    using VersionFn = decltype(&cudnnGetVersion);
    using ErrorStringFn = decltype(&cudnnGetErrorString);
    EXPECT_EQ(cudnnGetVersion(), real_function<VersionFn>("cudnnGetVersion")());
    EXPECT_EQ(cudnnGetVersion(), static_cast<size_t>(CUDNN_VERSION));
    const auto real_error_string = real_function<ErrorStringFn>("cudnnGetErrorString");
    for (cudnnStatus_t status : {CUDNN_STATUS_SUCCESS, CUDNN_STATUS_BAD_PARAM, CUDNN_STATUS_NOT_SUPPORTED}) {
        EXPECT_STREQ(cudnnGetErrorString(status), real_error_string(status));
    }
}

TEST(Resolution, MalformedCallsGetTheRealStatus) {
    expect_same_status_as_real_for_malformed_calls();
}

TEST(EnvExplicitPath, UsesTheGivenLibrary) {
    const std::string path = required_env("DWSHIM_CUDNN_LIBRARY");
    ASSERT_FALSE(path.empty()) << "run with DWSHIM_CUDNN_LIBRARY set";
    EXPECT_EQ(canonical(dwshim_real_cudnn_path()), canonical(path));
    EXPECT_EQ(cudnnGetVersion(), static_cast<size_t>(CUDNN_VERSION));
}

// A library that cannot be used leaves every forwarded call failing cleanly, with one line that names the
// variable to set.
void expect_no_real_cudnn() {
    testing::internal::CaptureStderr();
    EXPECT_EQ(cudnnGetVersion(), 0u);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("DWSHIM_CUDNN_LIBRARY"), std::string::npos) << said;
    EXPECT_STREQ(dwshim_real_cudnn_path(), "");
    EXPECT_NE(std::strstr(cudnnGetErrorString(CUDNN_STATUS_SUCCESS), "DWSHIM_CUDNN_LIBRARY"), nullptr);
    const float one = 1.0f, zero = 0.0f;
    EXPECT_EQ(cudnnConvolutionForward(nullptr, &one, nullptr, nullptr, nullptr, nullptr, nullptr,
                                      CUDNN_CONVOLUTION_FWD_ALGO_GEMM, nullptr, 0, &zero, nullptr, nullptr),
              CUDNN_STATUS_NOT_INITIALIZED);
    EXPECT_EQ(route_depthwise(), dwshim::RouteReason::kNoRealCudnn);
}

TEST(EnvBadPath, FailsCleanlyAndSaysWhatToSet) {
    ASSERT_NE(required_env("DWSHIM_CUDNN_LIBRARY").find("nonexistent"), std::string::npos);
    expect_no_real_cudnn();
}

TEST(EnvSelfPath, RefusesToForwardToItself) {
    ASSERT_NE(required_env("DWSHIM_CUDNN_LIBRARY").find("libdwshim"), std::string::npos);
    expect_no_real_cudnn();
}

TEST(EnvDisable, IsAPurePassThrough) {
    ASSERT_EQ(required_env("DWSHIM_DISABLE"), "1");
    EXPECT_EQ(route_depthwise(), dwshim::RouteReason::kDisabled);
    EXPECT_EQ(cudnnGetVersion(), static_cast<size_t>(CUDNN_VERSION));
    expect_same_status_as_real_for_malformed_calls();
}

}  // namespace
