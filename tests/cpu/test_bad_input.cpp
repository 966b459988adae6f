// Malformed calls through dwshim get exactly the real cuDNN's status (each call is made both ways with the same
// arguments), never a crash; tensors past 2^31 elements are read with 64-bit strides; a forked child keeps
// working. All without a GPU: the handle is null or no handle is needed.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/common/conv_case.h"
#include "tests/cpu/cpu_graphs.h"

namespace {

template <typename Fn>
Fn real(const char* name) {
    static void* library = dlopen(("libcudnn.so." + std::to_string(CUDNN_MAJOR)).c_str(), RTLD_NOW | RTLD_NOLOAD);
    const auto function = reinterpret_cast<Fn>(dlsym(library, name));
    EXPECT_NE(function, nullptr) << name;
    return function;
}
#define REAL(name) real<decltype(&name)>(#name)

constexpr int kCrashed = -1;

// The status `call` returns, computed in a forked child so that a call that kills the process (the real cuDNN
// does, for some null arguments) is reported as kCrashed instead of ending the test.
template <typename Call>
int status_in_child(Call call) {
    int channel[2];
    if (pipe(channel) != 0) return kCrashed;
    const pid_t child = fork();
    if (child == 0) {
        close(channel[0]);
        const int status = static_cast<int>(call());
        _exit(write(channel[1], &status, sizeof(status)) == sizeof(status) ? 0 : 1);
    }
    close(channel[1]);
    int status = kCrashed, wait_status = 0;
    if (read(channel[0], &status, sizeof(status)) != sizeof(status)) status = kCrashed;
    close(channel[0]);
    waitpid(child, &wait_status, 0);
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 ? status : kCrashed;
}

// dwshim answers a malformed call with the real cuDNN's status; where the real cuDNN crashes on it, dwshim
// answers CUDNN_STATUS_BAD_PARAM instead. dwshim's own call runs in this process: a crash fails the test run.
template <typename Ours, typename Theirs>
void expect_real_status(const char* what, Ours ours, Theirs theirs) {
    const int real_status = status_in_child(theirs);
    const int our_status = static_cast<int>(ours());
    if (real_status == kCrashed) {
        EXPECT_EQ(our_status, CUDNN_STATUS_BAD_PARAM) << what << ": the real cuDNN crashes on it";
    } else {
        EXPECT_EQ(our_status, real_status) << what;
    }
}

// The same call, with the same arguments, on dwshim's entry point and on the real cuDNN's.
#define EXPECT_REAL_STATUS_OF(what, fn, ...) \
    expect_real_status(what, [&] { return fn(__VA_ARGS__); }, [&] { return REAL(fn)(__VA_ARGS__); })

dwtest::ConvCase small_case() {
    dwtest::ConvCase cc;
    cc.n = 2;
    cc.c = 4;
    cc.h = cc.w = 9;
    cc.pad_h = cc.pad_w = 1;
    return cc;
}

TEST(BadInput, LegacyCallsWithANullHandleGetTheRealStatus) {
    dwtest::CudnnDescriptors d(small_case());
    const float one = 1.0f, zero = 0.0f;
    float data[4] = {};
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    EXPECT_REAL_STATUS_OF("forward", cudnnConvolutionForward, nullptr, &one, d.x, data, d.w, data, d.conv, algo,
                          nullptr, 0, &zero, d.y, data);
    EXPECT_REAL_STATUS_OF("forward without scalars or data", cudnnConvolutionForward, nullptr, nullptr, d.x, nullptr,
                          d.w, nullptr, d.conv, algo, nullptr, 0, nullptr, d.y, nullptr);
    cudnnActivationDescriptor_t relu = nullptr;
    ASSERT_EQ(cudnnCreateActivationDescriptor(&relu), CUDNN_STATUS_SUCCESS);
    EXPECT_REAL_STATUS_OF("bias + activation forward", cudnnConvolutionBiasActivationForward, nullptr, &one, d.x, data,
                          d.w, data, d.conv, algo, nullptr, 0, &zero, d.y, data, nullptr, data, relu, d.y, data);
    cudnnDestroyActivationDescriptor(relu);
    size_t bytes = 0;
    EXPECT_REAL_STATUS_OF("workspace size into null", cudnnGetConvolutionForwardWorkspaceSize, nullptr, d.x, d.w,
                          d.conv, d.y, algo, nullptr);
    EXPECT_REAL_STATUS_OF("workspace size without a convolution", cudnnGetConvolutionForwardWorkspaceSize, nullptr, d.x,
                          d.w, nullptr, d.y, algo, &bytes);
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int returned = 0;
    for (const int requested : {8, 0, -1}) {
        EXPECT_REAL_STATUS_OF("algorithm heuristics", cudnnGetConvolutionForwardAlgorithm_v7, nullptr, d.x, d.w, d.conv,
                              d.y, requested, &returned, perf);
        EXPECT_REAL_STATUS_OF("algorithm search", cudnnFindConvolutionForwardAlgorithm, nullptr, d.x, d.w, d.conv, d.y,
                              requested, &returned, perf);
        EXPECT_REAL_STATUS_OF("algorithm search on given buffers", cudnnFindConvolutionForwardAlgorithmEx, nullptr, d.x,
                              data, d.w, data, d.conv, d.y, data, requested, &returned, perf, nullptr, 0);
    }
}

TEST(BadInput, LegacyGradientCallsWithANullHandleGetTheRealStatus) {
    dwtest::CudnnDescriptors d(small_case());
    const float one = 1.0f, zero = 0.0f;
    float data[4] = {};
    const auto data_algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    const auto filter_algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    EXPECT_REAL_STATUS_OF("data gradient", cudnnConvolutionBackwardData, nullptr, &one, d.w, data, d.y, data, d.conv,
                          data_algo, nullptr, 0, &zero, d.x, data);
    EXPECT_REAL_STATUS_OF("data gradient without scalars or data", cudnnConvolutionBackwardData, nullptr, nullptr, d.w,
                          nullptr, d.y, nullptr, d.conv, data_algo, nullptr, 0, nullptr, d.x, nullptr);
    EXPECT_REAL_STATUS_OF("filter gradient", cudnnConvolutionBackwardFilter, nullptr, &one, d.x, data, d.y, data,
                          d.conv, filter_algo, data, sizeof(data), &zero, d.w, data);
    EXPECT_REAL_STATUS_OF("filter gradient without scalars or data", cudnnConvolutionBackwardFilter, nullptr, nullptr,
                          d.x, nullptr, d.y, nullptr, d.conv, filter_algo, nullptr, 0, nullptr, d.w, nullptr);
    size_t bytes = 0;
    EXPECT_REAL_STATUS_OF("data gradient workspace into null", cudnnGetConvolutionBackwardDataWorkspaceSize, nullptr,
                          d.w, d.y, d.conv, d.x, data_algo, nullptr);
    EXPECT_REAL_STATUS_OF("data gradient workspace without a convolution",
                          cudnnGetConvolutionBackwardDataWorkspaceSize, nullptr, d.w, d.y, nullptr, d.x, data_algo,
                          &bytes);
    EXPECT_REAL_STATUS_OF("filter gradient workspace into null", cudnnGetConvolutionBackwardFilterWorkspaceSize,
                          nullptr, d.x, d.y, d.conv, d.w, filter_algo, nullptr);
    EXPECT_REAL_STATUS_OF("filter gradient workspace without a convolution",
                          cudnnGetConvolutionBackwardFilterWorkspaceSize, nullptr, d.x, d.y, nullptr, d.w, filter_algo,
                          &bytes);
    cudnnConvolutionBwdDataAlgoPerf_t data_perf[8];
    cudnnConvolutionBwdFilterAlgoPerf_t filter_perf[8];
    int returned = 0;
    for (const int requested : {8, 0, -1}) {
        EXPECT_REAL_STATUS_OF("data gradient heuristics", cudnnGetConvolutionBackwardDataAlgorithm_v7, nullptr, d.w,
                              d.y, d.conv, d.x, requested, &returned, data_perf);
        EXPECT_REAL_STATUS_OF("data gradient search", cudnnFindConvolutionBackwardDataAlgorithm, nullptr, d.w, d.y,
                              d.conv, d.x, requested, &returned, data_perf);
        EXPECT_REAL_STATUS_OF("data gradient search on given buffers", cudnnFindConvolutionBackwardDataAlgorithmEx,
                              nullptr, d.w, data, d.y, data, d.conv, d.x, data, requested, &returned, data_perf,
                              nullptr, 0);
        EXPECT_REAL_STATUS_OF("filter gradient heuristics", cudnnGetConvolutionBackwardFilterAlgorithm_v7, nullptr,
                              d.x, d.y, d.conv, d.w, requested, &returned, filter_perf);
        EXPECT_REAL_STATUS_OF("filter gradient search", cudnnFindConvolutionBackwardFilterAlgorithm, nullptr, d.x,
                              d.y, d.conv, d.w, requested, &returned, filter_perf);
        EXPECT_REAL_STATUS_OF("filter gradient search on given buffers", cudnnFindConvolutionBackwardFilterAlgorithmEx,
                              nullptr, d.x, data, d.y, data, d.conv, d.w, data, requested, &returned, filter_perf,
                              nullptr, 0);
    }
}

TEST(BadInput, InconsistentOutputShapeIsForwardedWithTheRealStatus) {
    dwtest::CudnnDescriptors d(small_case());
    ASSERT_EQ(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 4, 5, 9), CUDNN_STATUS_SUCCESS);
    dwshim::DepthwiseParams params;
    EXPECT_EQ(static_cast<dwshim::RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params)),
              dwshim::RouteReason::kShapeMismatch);
    size_t ours = 1, theirs = 2;
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(nullptr, d.x, d.w, d.conv, d.y, algo, &ours),
              REAL(cudnnGetConvolutionForwardWorkspaceSize)(nullptr, d.x, d.w, d.conv, d.y, algo, &theirs));
}

TEST(BadInput, BackendCallsOnNullOrMisusedDescriptorsGetTheRealStatus) {
    const auto type = CUDNN_BACKEND_TENSOR_DESCRIPTOR;
    EXPECT_REAL_STATUS_OF("create into null", cudnnBackendCreateDescriptor, type, nullptr);
    EXPECT_REAL_STATUS_OF("finalize null", cudnnBackendFinalize, nullptr);
    EXPECT_REAL_STATUS_OF("destroy null", cudnnBackendDestroyDescriptor, nullptr);
    EXPECT_REAL_STATUS_OF("execute null", cudnnBackendExecute, nullptr, nullptr, nullptr);
    const int64_t uid = 7;
    EXPECT_REAL_STATUS_OF("set on null", cudnnBackendSetAttribute, nullptr, CUDNN_ATTR_TENSOR_UNIQUE_ID,
                          CUDNN_TYPE_INT64, 1, &uid);
    int64_t count = 0;
    EXPECT_REAL_STATUS_OF("get from null", cudnnBackendGetAttribute, nullptr, CUDNN_ATTR_TENSOR_UNIQUE_ID,
                          CUDNN_TYPE_INT64, 1, &count, nullptr);

    // The same misuse of a descriptor made through dwshim (which records it) and of one the real cuDNN made.
    cudnnBackendDescriptor_t ours = nullptr, theirs = nullptr;
    ASSERT_EQ(cudnnBackendCreateDescriptor(type, &ours), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(REAL(cudnnBackendCreateDescriptor)(type, &theirs), CUDNN_STATUS_SUCCESS);
    const double wrong_type = 1.0;
    const struct {
        const char* what;
        cudnnBackendAttributeType_t type;
        int64_t count;
        const void* values;
    } sets[] = {{"set of the wrong type", CUDNN_TYPE_DOUBLE, 1, &wrong_type},
                {"set of a negative count", CUDNN_TYPE_INT64, -1, &uid},
                {"set from null", CUDNN_TYPE_INT64, 1, nullptr}};
    for (const auto& set : sets) {
        expect_real_status(
            set.what,
            [&] { return cudnnBackendSetAttribute(ours, CUDNN_ATTR_TENSOR_UNIQUE_ID, set.type, set.count, set.values); },
            [&] {
                return REAL(cudnnBackendSetAttribute)(theirs, CUDNN_ATTR_TENSOR_UNIQUE_ID, set.type, set.count,
                                                      set.values);
            });
    }
    expect_real_status(
        "finalize incomplete", [&] { return cudnnBackendFinalize(ours); },
        [&] { return REAL(cudnnBackendFinalize)(theirs); });
    expect_real_status(
        "get into null",
        [&] {
            return cudnnBackendGetAttribute(ours, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, nullptr, nullptr);
        },
        [&] {
            return REAL(cudnnBackendGetAttribute)(theirs, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, nullptr,
                                                  nullptr);
        });
    EXPECT_EQ(cudnnBackendDestroyDescriptor(ours), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(REAL(cudnnBackendDestroyDescriptor)(theirs), CUDNN_STATUS_SUCCESS);
}

// 4 x 1 x 32768 x 32768 = 2^32 elements, through the backend API (the legacy one refuses tensors past 2^31
// elements with NOT_SUPPORTED): strides and offsets must be read and kept as 64-bit.
TEST(BadInput, TensorsPast2To31ElementsAreRoutedWith64BitStrides) {
    DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU();
    dwtest::ConvCase cc;
    cc.n = 4;
    cc.c = 1;
    cc.h = cc.w = 32768;
    cc.pad_h = cc.pad_w = 1;
    dwtest::BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops);
    ASSERT_NE(graph, nullptr);
    dwshim::DepthwiseParams params;
    ASSERT_EQ(static_cast<dwshim::RouteReason>(dwshim_route_backend_graph(graph, &params)),
              dwshim::RouteReason::kRouted);
    EXPECT_EQ(params.x_stride[dwshim::kN], int64_t{1} << 30);
    EXPECT_EQ(params.n * params.x_stride[dwshim::kN], int64_t{1} << 32);
    EXPECT_EQ(params.p, 32768);
}

// A child forked after dwshim resolved the real cuDNN and traced backend descriptors keeps routing and forwarding.
TEST(BadInput, ForkedChildKeepsWorking) {
    ASSERT_GT(cudnnGetVersion(), 0u);
    dwtest::CudnnDescriptors parent_descriptors(small_case());
    dwshim::DepthwiseParams params;
    ASSERT_EQ(dwshim_route_legacy(parent_descriptors.x, parent_descriptors.w, parent_descriptors.conv,
                                  parent_descriptors.y, &params),
              0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        dwtest::CudnnDescriptors d(small_case());
        dwshim::DepthwiseParams p;
        const bool ok = cudnnGetVersion() == static_cast<size_t>(CUDNN_VERSION) &&
                        dwshim_route_legacy(d.x, d.w, d.conv, d.y, &p) == 0 && p.c == 4;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
