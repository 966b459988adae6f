// CUDA-graph capture of routed convolutions through both APIs, and many threads with their own handles and
// streams issuing routed and forwarded convolutions at once.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "gpu_common.h"
#include "shim/dwshim.h"
#include "tests/common/backend_graph.h"

namespace {

using dwtest::ConvCase;
using dwtest::CudnnDescriptors;
using dwtest::DeviceBuffer;
using dwtest::HostTensor;

ConvCase capture_case() {
    ConvCase cc;
    cc.n = 2;
    cc.c = 16;
    cc.h = 40;
    cc.w = 64;
    cc.pad_h = cc.pad_w = 1;
    cc.beta = 0.0f;
    return cc;
}

class Capture : public dwtest::CudnnStreamFixture {
protected:
    // Captures `call` on the fixture's stream in global mode, where any synchronisation or allocation inside it
    // fails the capture; then replays the graph on fresh inputs, each time against the float64 reference.
    template <typename Call>
    void capture_and_replay(const ConvCase& cc, void* dx, void* dy, const dwtest::TensorLayout& xl,
                            const dwtest::TensorLayout& yl, const HostTensor& filter, Call&& call) {
        const uint64_t routed_before = dwshim_decision_count(0);
        cudaGraph_t graph = nullptr;
        ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
        const cudnnStatus_t status = call();
        ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess) << "the routed path broke the capture";
        ASSERT_EQ(status, CUDNN_STATUS_SUCCESS);
        EXPECT_EQ(dwshim_decision_count(0), routed_before + 1) << "captured, but not by dwshim";
        cudaGraphExec_t exec = nullptr;
        ASSERT_EQ(cudaGraphInstantiateWithFlags(&exec, graph, 0), cudaSuccess);
        std::mt19937 rng(dwtest::test_seed());
        HostTensor poison(cc.dtype, yl.span);
        std::memset(poison.bytes.data(), 0xFF, poison.bytes.size());
        for (int replay = 0; replay < 3; ++replay) {
            HostTensor x(cc.dtype, xl.span);
            dwtest::fill_random(&x, &rng);
            dwtest::upload(dx, x.bytes.data(), x.bytes.size());
            dwtest::upload(dy, poison.bytes.data(), poison.bytes.size());
            ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
            ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
            const std::vector<double> expected = dwtest::reference_conv(cc, xl, x, filter, yl, poison);
            const std::vector<double> got = dwtest::read_output(cc, yl, dy, poison);
            EXPECT_LT(dwtest::relative_error(got, expected), dwtest::tolerance(cc.dtype)) << "replay " << replay;
        }
        EXPECT_EQ(dwshim_decision_count(0), routed_before + 1) << "replays must not call dwshim's host code";
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
    }
};

TEST_F(Capture, LegacyRoutedConvolutionReplaysOnNewInputs) {
    const ConvCase cc = capture_case();
    CudnnDescriptors d(cc);
    HostTensor filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
    std::mt19937 rng(dwtest::test_seed() + 1);
    dwtest::fill_random(&filter, &rng);
    const size_t elem = dwtest::dtype_size(cc.dtype);
    DeviceBuffer dx(d.x_layout.span * elem), dw(filter.bytes.size()), dy(d.y_layout.span * elem);
    dwtest::upload(dw.ptr, filter.bytes.data(), filter.bytes.size());
    capture_and_replay(cc, dx.ptr, dy.ptr, d.x_layout, d.y_layout, filter, [&] {
        return cudnnConvolutionForward(handle_, &cc.alpha, d.x, dx.ptr, d.w, dw.ptr, d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &cc.beta, d.y, dy.ptr);
    });
}

TEST_F(Capture, BackendRoutedPlanReplaysOnNewInputs) {
    const ConvCase cc = capture_case();
    dwtest::BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph(conv.ops, handle_);
    ASSERT_NE(graph, nullptr);
    int64_t workspace_bytes = 0;
    cudnnBackendDescriptor_t plan = conv.make_plan(handle_, graph, &workspace_bytes);
    ASSERT_NE(plan, nullptr);
    HostTensor filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw);
    std::mt19937 rng(dwtest::test_seed() + 2);
    dwtest::fill_random(&filter, &rng);
    const size_t elem = dwtest::dtype_size(cc.dtype);
    DeviceBuffer dx(conv.x_layout.span * elem), dw(filter.bytes.size()), dy(conv.y_layout.span * elem),
        workspace(workspace_bytes + 1);
    dwtest::upload(dw.ptr, filter.bytes.data(), filter.bytes.size());
    cudnnBackendDescriptor_t pack = conv.make_variant_pack(dx.ptr, dw.ptr, dy.ptr, workspace.ptr);
    capture_and_replay(cc, dx.ptr, dy.ptr, conv.x_layout, conv.y_layout, filter,
                       [&] { return cudnnBackendExecute(handle_, plan, pack); });
}

// One thread's work: a depthwise conv (routed) and a dense conv (forwarded) on its own handle and stream,
// `rounds` times, each result compared bitwise with the single-threaded one.
struct ThreadWork {
    const ConvCase* cc;
    const HostTensor* x;
    const HostTensor* filter;
    const HostTensor* dense_filter;
    const std::vector<unsigned char>* expected_depthwise;
    const std::vector<unsigned char>* expected_dense;
};

// Runs both convs once on `handle`; returns the two outputs' bytes (empty on any failure).
std::pair<std::vector<unsigned char>, std::vector<unsigned char>> run_pair(cudnnHandle_t handle, cudaStream_t stream,
                                                                           const ThreadWork& work) {
    const ConvCase& cc = *work.cc;
    CudnnDescriptors depthwise(cc), dense(cc);
    if (cudnnSetConvolutionGroupCount(dense.conv, 1) != CUDNN_STATUS_SUCCESS ||
        cudnnSetFilter4dDescriptor(dense.w, cc.dtype, CUDNN_TENSOR_NCHW, cc.c, cc.c, cc.kh, cc.kw) !=
            CUDNN_STATUS_SUCCESS) {
        return {};
    }
    const size_t y_bytes = depthwise.y_layout.span * dwtest::dtype_size(cc.dtype);
    DeviceBuffer dx(work.x->bytes.size()), dw(work.filter->bytes.size()), dw_dense(work.dense_filter->bytes.size()),
        dy(y_bytes), dy_dense(y_bytes);
    cudaMemcpyAsync(dx.ptr, work.x->bytes.data(), work.x->bytes.size(), cudaMemcpyHostToDevice, stream);
    cudaMemcpyAsync(dw.ptr, work.filter->bytes.data(), work.filter->bytes.size(), cudaMemcpyHostToDevice, stream);
    cudaMemcpyAsync(dw_dense.ptr, work.dense_filter->bytes.data(), work.dense_filter->bytes.size(),
                    cudaMemcpyHostToDevice, stream);
    const float alpha = 1.0f, beta = 0.0f;
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    if (cudnnConvolutionForward(handle, &alpha, depthwise.x, dx.ptr, depthwise.w, dw.ptr, depthwise.conv, algo,
                                nullptr, 0, &beta, depthwise.y, dy.ptr) != CUDNN_STATUS_SUCCESS ||
        cudnnConvolutionForward(handle, &alpha, dense.x, dx.ptr, dense.w, dw_dense.ptr, dense.conv, algo, nullptr,
                                0, &beta, dense.y, dy_dense.ptr) != CUDNN_STATUS_SUCCESS) {
        return {};
    }
    std::vector<unsigned char> a(y_bytes), b(y_bytes);
    cudaMemcpyAsync(a.data(), dy.ptr, y_bytes, cudaMemcpyDeviceToHost, stream);
    cudaMemcpyAsync(b.data(), dy_dense.ptr, y_bytes, cudaMemcpyDeviceToHost, stream);
    if (cudaStreamSynchronize(stream) != cudaSuccess) return {};
    return {a, b};
}

// A routed depthwise case (8 channels) and a dense conv sharing its input, as host data.
struct PairInputs {
    ConvCase cc;
    dwtest::TensorLayout xl, yl;
    HostTensor x, filter, dense_filter;
    explicit PairInputs(unsigned seed)
        : cc(eight_channel_case()),
          xl(dwtest::make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w)),
          yl(dwtest::make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q())),
          x(cc.dtype, xl.span),
          filter(cc.dtype, int64_t{cc.k()} * cc.kh * cc.kw),
          dense_filter(cc.dtype, int64_t{cc.c} * cc.c * cc.kh * cc.kw) {
        std::mt19937 rng(seed);
        dwtest::fill_random(&x, &rng);
        dwtest::fill_random(&filter, &rng);
        dwtest::fill_random(&dense_filter, &rng);
    }
    static ConvCase eight_channel_case() {
        ConvCase cc = capture_case();
        cc.c = 8;
        return cc;
    }
    ThreadWork work() const { return ThreadWork{&cc, &x, &filter, &dense_filter, nullptr, nullptr}; }
};

// Runs the pair once through a new handle on a stream of its own, on the current device, and checks the
// depthwise output against float64; returns both outputs' bytes (empty on any failure).
std::pair<std::vector<unsigned char>, std::vector<unsigned char>> run_pair_on_new_handle(const PairInputs& in) {
    cudnnHandle_t handle = nullptr;
    cudaStream_t stream = nullptr;
    EXPECT_EQ(cudnnCreate(&handle), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    EXPECT_EQ(cudnnSetStream(handle, stream), CUDNN_STATUS_SUCCESS);
    const auto outputs = run_pair(handle, stream, in.work());
    cudnnDestroy(handle);
    cudaStreamDestroy(stream);
    EXPECT_FALSE(outputs.first.empty());
    if (outputs.first.empty()) return outputs;
    HostTensor y0(in.cc.dtype, in.yl.span);
    const std::vector<double> expected = dwtest::reference_conv(in.cc, in.xl, in.x, in.filter, in.yl, y0);
    HostTensor got(in.cc.dtype, in.yl.span);
    std::memcpy(got.bytes.data(), outputs.first.data(), outputs.first.size());
    std::vector<double> values;
    for (int64_t offset : dwtest::logical_offsets(in.yl)) values.push_back(got.get(offset));
    EXPECT_LT(dwtest::relative_error(values, expected), dwtest::tolerance(in.cc.dtype));
    return outputs;
}

TEST(Threads, ManyHandlesAndStreamsGetTheSingleThreadedResults) {
    const PairInputs in(dwtest::test_seed() + 3);
    const auto single = run_pair_on_new_handle(in);
    ASSERT_FALSE(single.first.empty());
    ThreadWork work = in.work();
    work.expected_depthwise = &single.first;
    work.expected_dense = &single.second;

    constexpr int kThreads = 16, kRounds = 25;
    const uint64_t routed_before = dwshim_decision_count(0);
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            cudnnHandle_t h = nullptr;
            cudaStream_t s = nullptr;
            if (cudnnCreate(&h) != CUDNN_STATUS_SUCCESS ||
                cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess ||
                cudnnSetStream(h, s) != CUDNN_STATUS_SUCCESS) {
                ++failures;
                return;
            }
            for (int round = 0; round < kRounds; ++round) {
                const auto outputs = run_pair(h, s, work);
                if (outputs.first.empty()) {
                    ++failures;
                } else if (outputs.first != *work.expected_depthwise || outputs.second != *work.expected_dense) {
                    ++mismatches;
                }
            }
            cudnnDestroy(h);
            cudaStreamDestroy(s);
        });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(dwshim_decision_count(0), routed_before + kThreads * kRounds);
    std::printf("%d threads x %d rounds of a routed and a forwarded conv: %d mismatches, %d failures\n", kThreads,
                kRounds, mismatches.load(), failures.load());
}

// dwshim keeps no per-device state: a handle created on the second GPU (current while it is used, as cuDNN
// requires) runs the routed conv there, and the first GPU's handles keep working.
TEST(Devices, HandlesOnTwoGpusBothRouteAndMatchFloat64) {
    int devices = 0;
    ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
    if (devices < 2) GTEST_SKIP() << "fewer than 2 GPUs";
    const PairInputs in(dwtest::test_seed() + 4);
    int first = 0;
    ASSERT_EQ(cudaGetDevice(&first), cudaSuccess);
    const int second = first == 0 ? 1 : 0;
    const uint64_t routed_before = dwshim_decision_count(0);
    const auto on_first = run_pair_on_new_handle(in);
    ASSERT_EQ(cudaSetDevice(second), cudaSuccess);
    const auto on_second = run_pair_on_new_handle(in);
    ASSERT_EQ(cudaSetDevice(first), cudaSuccess);
    const auto first_again = run_pair_on_new_handle(in);
    ASSERT_FALSE(on_first.first.empty());
    ASSERT_FALSE(on_second.first.empty());
    EXPECT_EQ(first_again.first, on_first.first);  // deterministic on one device
    EXPECT_EQ(dwshim_decision_count(0), routed_before + 3);
    std::printf("routed depthwise conv on devices %d, %d, %d: each within tolerance of float64\n", first, second,
                first);
}

}  // namespace
