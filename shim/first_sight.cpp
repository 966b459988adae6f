#include "first_sight.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>

#include "interpose/real_cudnn.h"
#include "kernels/common/packed_nchw_copy.h"
#include "kernels/depthwise.h"
#include "report.h"
#include "route_policy.h"
#include "settings.h"
#include "tuned_routes.h"

namespace dwshim {
namespace {

constexpr int kTimedRuns = 3;      // after one warm-up run; the best of them counts
constexpr int kLegacyCandidates = 3;
constexpr int kMaxDevices = 64;
constexpr size_t kAlignment = 256;
// Algorithms that ask for more workspace than this are left out of the comparison (FFT variants can ask for
// gigabytes); a caller that gives them that much is rare, and their time rarely the best.
constexpr size_t kMaxCandidateWorkspace = size_t{1} << 30;

constexpr const char* kNoScratch = "no scratch tensors within a quarter of the free device memory";

// One measurement at a time: a thread deciding about a problem another thread is measuring waits for its result,
// so that both see the same decision.
std::mutex g_measuring;
// Set while this thread measures: a decision the real cuDNN's own calls back into dwshim ask for meanwhile (its
// exported functions may be interposed too) keeps the static rules instead of waiting for the lock it holds.
thread_local bool t_measuring = false;

bool measuring_on_current_device() {
    switch (settings().first_sight) {
        case FirstSight::kNever:
            return false;
        case FirstSight::kAlways:
            return true;
        case FirstSight::kOnUnmeasuredGpus:
            break;
    }
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
    // The static rules were measured on the H100 and the H200, both compute capability 9.0.
    static std::array<std::once_flag, kMaxDevices> once;
    static std::array<bool, kMaxDevices> unmeasured{};
    std::call_once(once[device], [device] {
        int major = 0, minor = 0;
        const bool read = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
                          cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
        unmeasured[device] = read && !(major == 9 && minor == 0);
    });
    return unmeasured[device];
}

// Whether this decision is one first sight may measure: a routable problem the cache can describe and knows
// nothing of, on a device measured on first sight.
bool wanted(Api api, RouteReason reason, const DepthwiseParams& params) {
    return (reason == RouteReason::kRouted || reason == RouteReason::kNotFaster) && !settings().route_all &&
           measuring_on_current_device() && tunable(api, params) && tuned_route(api, params) == TunedRoute::kUnknown;
}

// Outside capture, with no CUDA error of the caller's pending (it stays theirs to read).
bool safe_to_measure(cudaStream_t stream) {
    if (cudaPeekAtLastError() != cudaSuccess) return false;
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess) {
        cudaGetLastError();  // the legacy stream during another thread's global capture: not safe
        return false;
    }
    return capture == cudaStreamCaptureStatusNone;
}

int64_t extent(int64_t n, int64_t c, int64_t h, int64_t w, const int64_t stride[4]) {
    return 1 + (n - 1) * stride[kN] + (c - 1) * stride[kC] + (h - 1) * stride[kH] + (w - 1) * stride[kW];
}

size_t round_up(size_t bytes) {
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// Scratch x, w, y and workspace in one stream-ordered allocation on the measuring stream, filled with a small
// finite value in every dtype (0x3c bytes: 0.0115 in fp32 and bf16, 1.06 in fp16).
class Scratch {
public:
    Scratch(const DepthwiseParams& p, size_t workspace_size, cudaStream_t stream) : stream_(stream) {
        const size_t element = dtype_bytes(p.dtype);
        const size_t x_bytes = round_up(static_cast<size_t>(extent(p.n, p.c, p.h, p.w, p.x_stride)) * element);
        const size_t y_bytes = round_up(static_cast<size_t>(extent(p.n, p.k, p.p, p.q, p.y_stride)) * element);
        const size_t w_bytes = round_up(static_cast<size_t>(p.k * p.r * p.s) * element);
        workspace_size_ = round_up(workspace_size);
        const size_t total = x_bytes + y_bytes + w_bytes + workspace_size_;
        size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess || total > free_bytes / 4) return;
        void* block = nullptr;
        if (cudaMallocAsync(&block, total, stream_) != cudaSuccess) return;
        base_ = static_cast<char*>(block);
        x_ = base_;
        y_ = base_ + x_bytes;
        w_ = base_ + x_bytes + y_bytes;
        workspace_ = workspace_size_ > 0 ? base_ + x_bytes + y_bytes + w_bytes : nullptr;
        ok_ = cudaMemsetAsync(base_, 0x3c, x_bytes + y_bytes + w_bytes, stream_) == cudaSuccess;
    }
    ~Scratch() {
        if (base_ != nullptr) cudaFreeAsync(base_, stream_);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    bool ok() const { return ok_; }
    void* x() const { return x_; }
    void* w() const { return w_; }
    void* y() const { return y_; }
    void* workspace() const { return workspace_; }
    size_t workspace_size() const { return workspace_size_; }

private:
    cudaStream_t stream_;
    char* base_ = nullptr;
    void *x_ = nullptr, *w_ = nullptr, *y_ = nullptr, *workspace_ = nullptr;
    size_t workspace_size_ = 0;
    bool ok_ = false;
};

// The best of kTimedRuns runs after a warm-up, in ms; negative when a run failed.
template <typename Run>
double best_ms(cudaStream_t stream, Run run) {
    cudaEvent_t start = nullptr, stop = nullptr;
    if (cudaEventCreate(&start) != cudaSuccess) return -1.0;
    if (cudaEventCreate(&stop) != cudaSuccess) {
        cudaEventDestroy(start);
        return -1.0;
    }
    double best = run() ? std::numeric_limits<double>::infinity() : -1.0;
    for (int i = 0; i < kTimedRuns && best > 0.0; ++i) {
        float ms = 0.0f;
        const bool timed = cudaEventRecord(start, stream) == cudaSuccess && run() &&
                           cudaEventRecord(stop, stream) == cudaSuccess && cudaEventSynchronize(stop) == cudaSuccess &&
                           cudaEventElapsedTime(&ms, start, stop) == cudaSuccess;
        best = timed ? std::min(best, static_cast<double>(ms)) : -1.0;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return best;
}

double dwshim_ms(const DepthwiseParams& problem, const Scratch& scratch, cudaStream_t stream) {
    DepthwiseParams p = problem;
    p.x = scratch.x();
    p.filter = scratch.w();
    p.y = scratch.y();
    p.bias = nullptr;
    p.residual = nullptr;
    p.alpha = 1.0f;
    p.residual_scale = 0.0f;
    return best_ms(stream, [&] { return run_depthwise(p, scratch.workspace(), stream) == cudaSuccess; });
}

// Measures under the measuring lock, outside capture, in relaxed capture mode for this thread (so that a global
// capture elsewhere does not forbid the allocation), then clears what the measurement left in CUDA's last error.
// `time_both` fills the two times, or says why it could not.
template <typename TimeBoth>
bool measure(Api api, const char* api_name, const DepthwiseParams& params, cudaStream_t stream, TimeBoth time_both) {
    if (t_measuring) return false;
    std::lock_guard<std::mutex> lock(g_measuring);
    if (!claim_unmeasured(api, params)) return tuned_route(api, params) != TunedRoute::kUnknown;
    if (!safe_to_measure(stream)) {
        report_unmeasured(api_name, params, "the stream is capturing or a CUDA error is pending");
        return false;
    }
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) {
        cudaGetLastError();
        report_unmeasured(api_name, params, "the thread's capture mode cannot be set");
        return false;
    }
    double ours = -1.0, replaced = -1.0;
    t_measuring = true;
    const char* failure = time_both(&ours, &replaced);
    t_measuring = false;
    cudaStreamSynchronize(stream);  // the scratch is freed in stream order; wait so that the memory is returned
    cudaThreadExchangeStreamCaptureMode(&mode);
    cudaGetLastError();
    if (failure == nullptr && (!(ours > 0.0) || !(replaced > 0.0))) failure = "a timed run failed";
    if (failure != nullptr) {
        report_unmeasured(api_name, params, failure);
        return false;
    }
    remember_measured_route(api, params, ours, replaced);
    report_measurement(api_name, params, ours, replaced, tuned_route(api, params) == TunedRoute::kFaster);
    return true;
}

struct LegacyCall {
    cudnnHandle_t handle;
    cudnnTensorDescriptor_t x_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnTensorDescriptor_t y_desc;
};

struct Candidate {
    int algo = 0;
    size_t workspace = 0;
};

struct Candidates {
    std::array<Candidate, kLegacyCandidates> list;
    int count = 0;
};

template <typename Perf>
void take_successes(const Perf* perf, int returned, Candidates* out) {
    for (int i = 0; i < returned && out->count < kLegacyCandidates; ++i) {
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxCandidateWorkspace) {
            out->list[out->count++] = {static_cast<int>(perf[i].algo), perf[i].memory};
        }
    }
}

// The first algorithms the real heuristics rank for the call, in their order.
Candidates heuristic_candidates(Direction direction, const LegacyCall& call) {
    const RealCudnn& real = real_cudnn();
    Candidates out;
    int returned = 0;
    switch (direction) {
        case Direction::kForward: {
            std::array<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT> perf{};
            if (call_real(real.cudnnGetConvolutionForwardAlgorithm_v7, call.handle, call.x_desc, call.w_desc,
                          call.conv_desc, call.y_desc, static_cast<int>(perf.size()), &returned,
                          perf.data()) == CUDNN_STATUS_SUCCESS) {
                take_successes(perf.data(), returned, &out);
            }
            break;
        }
        case Direction::kDataGrad: {
            std::array<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT> perf{};
            if (call_real(real.cudnnGetConvolutionBackwardDataAlgorithm_v7, call.handle, call.w_desc, call.y_desc,
                          call.conv_desc, call.x_desc, static_cast<int>(perf.size()), &returned,
                          perf.data()) == CUDNN_STATUS_SUCCESS) {
                take_successes(perf.data(), returned, &out);
            }
            break;
        }
        case Direction::kFilterGrad: {
            std::array<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT> perf{};
            if (call_real(real.cudnnGetConvolutionBackwardFilterAlgorithm_v7, call.handle, call.x_desc, call.y_desc,
                          call.conv_desc, call.w_desc, static_cast<int>(perf.size()), &returned,
                          perf.data()) == CUDNN_STATUS_SUCCESS) {
                take_successes(perf.data(), returned, &out);
            }
            break;
        }
    }
    return out;
}

bool run_legacy(Direction direction, const LegacyCall& call, int algo, const Scratch& s) {
    const RealCudnn& real = real_cudnn();
    const float one = 1.0f, zero = 0.0f;
    cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
    switch (direction) {
        case Direction::kForward:
            status = call_real(real.cudnnConvolutionForward, call.handle, &one, call.x_desc, s.x(), call.w_desc, s.w(),
                               call.conv_desc, static_cast<cudnnConvolutionFwdAlgo_t>(algo), s.workspace(),
                               s.workspace_size(), &zero, call.y_desc, s.y());
            break;
        case Direction::kDataGrad:
            status = call_real(real.cudnnConvolutionBackwardData, call.handle, &one, call.w_desc, s.w(), call.y_desc,
                               s.y(), call.conv_desc, static_cast<cudnnConvolutionBwdDataAlgo_t>(algo),
                               s.workspace(), s.workspace_size(), &zero, call.x_desc, s.x());
            break;
        case Direction::kFilterGrad:
            status = call_real(real.cudnnConvolutionBackwardFilter, call.handle, &one, call.x_desc, s.x(),
                               call.y_desc, s.y(), call.conv_desc, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo),
                               s.workspace(), s.workspace_size(), &zero, call.w_desc, s.w());
            break;
    }
    return status == CUDNN_STATUS_SUCCESS;
}

bool handle_stream(cudnnHandle_t handle, cudaStream_t* stream) {
    const RealCudnn& real = real_cudnn();
    return handle != nullptr && real.cudnnGetStream != nullptr &&
           real.cudnnGetStream(handle, stream) == CUDNN_STATUS_SUCCESS;
}

// A variant pack over the scratch tensors, made through the real library (dwshim traces only its callers'
// descriptors); null when it cannot be made.
cudnnBackendDescriptor_t scratch_variant_pack(const backend::PlanRoute& route, const Scratch& s) {
    const RealCudnn& real = real_cudnn();
    cudnnBackendDescriptor_t pack = nullptr;
    if (call_real(real.cudnnBackendCreateDescriptor, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack) !=
        CUDNN_STATUS_SUCCESS) {
        return nullptr;
    }
    const int64_t uids[] = {route.x_uid, route.w_uid, route.y_uid};
    void* pointers[] = {s.x(), s.w(), s.y()};
    void* workspace = s.workspace();
    const bool made =
        real.cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids) ==
            CUDNN_STATUS_SUCCESS &&
        real.cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3,
                                      pointers) == CUDNN_STATUS_SUCCESS &&
        real.cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1,
                                      &workspace) == CUDNN_STATUS_SUCCESS &&
        real.cudnnBackendFinalize(pack) == CUDNN_STATUS_SUCCESS;
    if (!made) {
        real.cudnnBackendDestroyDescriptor(pack);
        return nullptr;
    }
    return pack;
}

}  // namespace

bool measure_legacy_first_sight(RouteReason reason, cudnnHandle_t handle, cudnnTensorDescriptor_t x_desc,
                                cudnnFilterDescriptor_t w_desc, cudnnConvolutionDescriptor_t conv_desc,
                                cudnnTensorDescriptor_t y_desc, const DepthwiseParams& params) {
    cudaStream_t stream = nullptr;
    if (!wanted(Api::kLegacy, reason, params) || !handle_stream(handle, &stream)) return false;
    const LegacyCall call{handle, x_desc, w_desc, conv_desc, y_desc};
    return measure(Api::kLegacy, "legacy", params, stream, [&](double* ours, double* replaced) -> const char* {
        const Candidates candidates = heuristic_candidates(params.direction, call);
        if (candidates.count == 0) return "cuDNN's heuristics offer no algorithm";
        size_t workspace = workspace_bytes(params);
        for (int i = 0; i < candidates.count; ++i) workspace = std::max(workspace, candidates.list[i].workspace);
        const Scratch scratch(params, workspace, stream);
        if (!scratch.ok()) return kNoScratch;
        *ours = dwshim_ms(params, scratch, stream);
        double best = std::numeric_limits<double>::infinity();
        for (int i = 0; i < candidates.count; ++i) {
            const int algo = candidates.list[i].algo;
            const double ms = best_ms(stream, [&] { return run_legacy(params.direction, call, algo, scratch); });
            if (ms > 0.0) best = std::min(best, ms);
        }
        if (best < std::numeric_limits<double>::infinity()) *replaced = best;
        return nullptr;
    });
}

bool measure_backend_first_sight(cudnnHandle_t handle, cudnnBackendDescriptor_t plan, const backend::PlanRoute& route) {
    const DepthwiseParams& params = route.params;
    cudaStream_t stream = nullptr;
    const bool fused = route.bias_uid != 0 || route.residual_uid != 0 || params.activation != Activation::kIdentity;
    if (fused || !wanted(Api::kBackend, route.reason, params)) return false;
    if (!handle_stream(handle, &stream)) {
        report_unmeasured("backend", params,
                          handle == nullptr ? "no handle was set on the plan" : "the plan's handle has no stream");
        return false;
    }
    return measure(Api::kBackend, "backend", params, stream, [&](double* ours, double* replaced) -> const char* {
        const RealCudnn& real = real_cudnn();
        int64_t plan_workspace = 0, count = 0;
        if (call_real(real.cudnnBackendGetAttribute, plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                      CUDNN_TYPE_INT64, int64_t{1}, &count, &plan_workspace) != CUDNN_STATUS_SUCCESS ||
            plan_workspace < 0) {
            return "the plan's workspace size is unreadable";
        }
        const Scratch scratch(params, std::max(workspace_bytes(params), static_cast<size_t>(plan_workspace)),
                              stream);
        if (!scratch.ok()) return kNoScratch;
        const cudnnBackendDescriptor_t pack = scratch_variant_pack(route, scratch);
        if (pack == nullptr) return "no variant pack over the scratch tensors";
        *ours = dwshim_ms(params, scratch, stream);
        *replaced = best_ms(stream, [&] {
            return real.cudnnBackendExecute(handle, plan, pack) == CUDNN_STATUS_SUCCESS;
        });
        real.cudnnBackendDestroyDescriptor(pack);
        return nullptr;
    });
}

}  // namespace dwshim
