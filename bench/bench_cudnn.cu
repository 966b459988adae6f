// Times depthwise convolutions through both cuDNN APIs, dwshim against the real cuDNN in the same process, for
// each direction: legacy cudnnConvolutionForward / BackwardData / BackwardFilter with cuDNN's best algorithm from
// its Find function, and backend cudnnBackendExecute of the same plan (the first of cuDNN's heuristic engine
// configs that finalizes, as PyTorch picks without benchmark mode); plus device copy bandwidth. The floor is
// the bytes a direction must move (its two inputs and its output) at the copy bandwidth.
// Usage: dwshim_bench_cudnn CASES.csv [--case NAME|all] [--op fwd,dgrad,wgrad] [--dtype f32,f16,bf16]
//        [--layout nchw,nhwc] [--csv OUT] [--dwshim-only 1] (skips the real cuDNN's timings: for quick kernel
//        iterations) [--tune 1] (records each pair of timings, per API, in the tuning cache that routes calls on
//        this GPU: shim/tuned_routes.h; scripts/dwshim-tune)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shim/dwshim.h"
#include "shim/test_hooks.h"
#include "tests/common/backend_graph.h"
#include "tests/common/conv_case.h"

#define CHECK_CUDA(call)                                                                                      \
    do {                                                                                                      \
        const cudaError_t error_ = (call);                                                                    \
        if (error_ != cudaSuccess) {                                                                          \
            std::fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(error_)); \
            std::exit(1);                                                                                     \
        }                                                                                                     \
    } while (0)

namespace {

// Uniform values in [-1, 1) from a hash of the index: fresh, non-zero data without a host round trip.
__global__ void fill_kernel(void* data, int64_t elements, cudnnDataType_t dtype, uint32_t seed) {
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < elements;
         i += int64_t{gridDim.x} * blockDim.x) {
        uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        const float value = (h & 0xFFFF) / 32768.0f - 1.0f;
        if (dtype == CUDNN_DATA_HALF) {
            static_cast<__half*>(data)[i] = __float2half_rn(value);
        } else if (dtype == CUDNN_DATA_BFLOAT16) {
            static_cast<__nv_bfloat16*>(data)[i] = __float2bfloat16_rn(value);
        } else {
            static_cast<float*>(data)[i] = value;
        }
    }
}

void fill(void* ptr, int64_t elements, cudnnDataType_t dtype, uint32_t seed) {
    fill_kernel<<<1024, 256>>>(ptr, elements, dtype, seed);
    CHECK_CUDA(cudaGetLastError());
}

// Keeps the GPU busy for about `cycles` clock cycles.
__global__ void delay_kernel(long long cycles) {
    const long long start = clock64();
    while (clock64() - start < cycles) {
    }
}

// Median GPU time of body() in ms: each timed call is queued behind a 1 ms delay kernel, so the host work of the
// call (descriptor reads, plan lookups, launches) overlaps the delay and the events time the GPU work alone, as in
// a program whose GPU is busy. Small cases were otherwise timed at the host's pace (bench/NOTES.md, 2026-12-02).
template <typename Fn>
float median_ms(Fn&& body, int repeats) {
    cudaEvent_t start, stop;
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    for (int i = 0; i < 3; ++i) body();
    std::vector<float> times;
    for (int i = 0; i < repeats; ++i) {
        delay_kernel<<<1, 1>>>(2000000);
        CHECK_CUDA(cudaGetLastError());
        CHECK_CUDA(cudaEventRecord(start));
        body();
        CHECK_CUDA(cudaEventRecord(stop));
        CHECK_CUDA(cudaEventSynchronize(stop));
        float ms = 0;
        CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
        times.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// Device-to-device copy bandwidth, counting bytes read plus bytes written.
double copy_bandwidth_gbps() {
    const size_t bytes = size_t{1} << 30;
    void *a, *b;
    CHECK_CUDA(cudaMalloc(&a, bytes));
    CHECK_CUDA(cudaMalloc(&b, bytes));
    const float ms = median_ms([&] { CHECK_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, 20);
    cudaFree(a);
    cudaFree(b);
    return 2.0 * bytes / (ms * 1e6);
}

struct BackendTiming {
    float ours_ms = -1.0f, cudnn_ms = -1.0f;  // -1: cuDNN built no plan
};

// x, w and y keep their forward roles (dx, dw, dy for the gradients).
BackendTiming time_backend(cudnnHandle_t handle, const dwtest::ConvCase& cc, void* x, void* w, void* y,
                           decltype(&cudnnBackendExecute) real_execute) {
    BackendTiming t;
    dwtest::BackendConv conv(cc);
    cudnnBackendDescriptor_t graph = conv.make_graph({conv.op}, handle);
    int64_t workspace_bytes = 0;
    cudnnBackendDescriptor_t plan = graph != nullptr ? conv.make_plan(handle, graph, &workspace_bytes) : nullptr;
    if (plan == nullptr) return t;
    void* workspace = nullptr;
    CHECK_CUDA(cudaMalloc(&workspace, workspace_bytes + 1));
    cudnnBackendDescriptor_t pack = conv.make_variant_pack(x, w, y, workspace);
    t.cudnn_ms = median_ms([&] { CHECK_CUDNN(real_execute(handle, plan, pack)); }, 20);
    const uint64_t routed_before = dwshim_decision_count(0);
    t.ours_ms = median_ms([&] { CHECK_CUDNN(cudnnBackendExecute(handle, plan, pack)); }, 20);
    if (dwshim_decision_count(0) == routed_before) t.ours_ms = -1.0f;
    cudaFree(workspace);
    return t;
}

// Both APIs' timings of one case into the tuning cache, under the key dwshim's router builds from the same
// descriptors.
void record_tuning(const dwtest::CudnnDescriptors& d, dwshim::Direction direction, float ours_ms, float cudnn_ms,
                   const BackendTiming& backend) {
    dwshim::DepthwiseParams params;
    params.direction = direction;
    if (dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params) != 0) {
        std::fprintf(stderr, "tuning: the case is not routable, nothing recorded\n");
        return;
    }
    const int written = dwshim_tune_record(0, &params, ours_ms, cudnn_ms) +
                        dwshim_tune_record(1, &params, backend.ours_ms, backend.cudnn_ms);
    const int expected = (cudnn_ms > 0 ? 1 : 0) + (backend.ours_ms > 0 && backend.cudnn_ms > 0 ? 1 : 0);
    if (written != expected) std::fprintf(stderr, "tuning: %d of %d timings recorded\n", written, expected);
}

struct LegacyFunctions {
    decltype(&cudnnConvolutionForward) forward = nullptr;
    decltype(&cudnnFindConvolutionForwardAlgorithm) find_forward = nullptr;
    decltype(&cudnnGetConvolutionForwardWorkspaceSize) forward_workspace = nullptr;
    decltype(&cudnnConvolutionBackwardData) data = nullptr;
    decltype(&cudnnFindConvolutionBackwardDataAlgorithm) find_data = nullptr;
    decltype(&cudnnGetConvolutionBackwardDataWorkspaceSize) data_workspace = nullptr;
    decltype(&cudnnConvolutionBackwardFilter) filter = nullptr;
    decltype(&cudnnFindConvolutionBackwardFilterAlgorithm) find_filter = nullptr;
    decltype(&cudnnGetConvolutionBackwardFilterWorkspaceSize) filter_workspace = nullptr;
};

LegacyFunctions dwshim_functions() {
    return {&cudnnConvolutionForward,
            &cudnnFindConvolutionForwardAlgorithm,
            &cudnnGetConvolutionForwardWorkspaceSize,
            &cudnnConvolutionBackwardData,
            &cudnnFindConvolutionBackwardDataAlgorithm,
            &cudnnGetConvolutionBackwardDataWorkspaceSize,
            &cudnnConvolutionBackwardFilter,
            &cudnnFindConvolutionBackwardFilterAlgorithm,
            &cudnnGetConvolutionBackwardFilterWorkspaceSize};
}

template <typename T>
void resolve(void* library, const char* name, T* function) {
    *function = reinterpret_cast<T>(dlsym(library, name));
}

LegacyFunctions real_functions(void* library) {
    LegacyFunctions f;
    resolve(library, "cudnnConvolutionForward", &f.forward);
    resolve(library, "cudnnFindConvolutionForwardAlgorithm", &f.find_forward);
    resolve(library, "cudnnGetConvolutionForwardWorkspaceSize", &f.forward_workspace);
    resolve(library, "cudnnConvolutionBackwardData", &f.data);
    resolve(library, "cudnnFindConvolutionBackwardDataAlgorithm", &f.find_data);
    resolve(library, "cudnnGetConvolutionBackwardDataWorkspaceSize", &f.data_workspace);
    resolve(library, "cudnnConvolutionBackwardFilter", &f.filter);
    resolve(library, "cudnnFindConvolutionBackwardFilterAlgorithm", &f.find_filter);
    resolve(library, "cudnnGetConvolutionBackwardFilterWorkspaceSize", &f.filter_workspace);
    return f;
}

// cuDNN's best algorithm for the case's direction (by `fns`' Find), or -1 when it has none.
int best_algo(const LegacyFunctions& fns, cudnnHandle_t handle, const dwtest::CudnnDescriptors& d,
              dwshim::Direction direction) {
    int returned = 0;
    switch (direction) {
        case dwshim::Direction::kForward: {
            cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
            const bool ok = fns.find_forward(handle, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                             &returned, perf) == CUDNN_STATUS_SUCCESS;
            return ok && returned > 0 && perf[0].status == CUDNN_STATUS_SUCCESS ? perf[0].algo : -1;
        }
        case dwshim::Direction::kDataGrad: {
            cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
            const bool ok = fns.find_data(handle, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                          &returned, perf) == CUDNN_STATUS_SUCCESS;
            return ok && returned > 0 && perf[0].status == CUDNN_STATUS_SUCCESS ? perf[0].algo : -1;
        }
        case dwshim::Direction::kFilterGrad: {
            cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
            const bool ok = fns.find_filter(handle, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                            &returned, perf) == CUDNN_STATUS_SUCCESS;
            return ok && returned > 0 && perf[0].status == CUDNN_STATUS_SUCCESS ? perf[0].algo : -1;
        }
    }
    return -1;
}

// Median time of call(workspace) with `bytes` of workspace allocated for it.
template <typename Call>
float time_with_workspace(size_t bytes, Call&& call) {
    void* workspace = nullptr;
    CHECK_CUDA(cudaMalloc(&workspace, bytes + 1));
    const float ms = median_ms([&] { call(workspace); }, 20);
    cudaFree(workspace);
    return ms;
}

// One legacy call of the case's direction through `fns` with algorithm `algo` and the workspace `fns` asks for;
// x, w and y keep their forward roles.
float time_legacy(const LegacyFunctions& fns, cudnnHandle_t handle, const dwtest::CudnnDescriptors& d,
                  dwshim::Direction direction, int algo, void* x, void* w, void* y) {
    const float alpha = 1.0f, beta = 0.0f;
    size_t bytes = 0;
    switch (direction) {
        case dwshim::Direction::kForward: {
            const auto a = static_cast<cudnnConvolutionFwdAlgo_t>(algo);
            CHECK_CUDNN(fns.forward_workspace(handle, d.x, d.w, d.conv, d.y, a, &bytes));
            return time_with_workspace(bytes, [&](void* ws) {
                CHECK_CUDNN(fns.forward(handle, &alpha, d.x, x, d.w, w, d.conv, a, ws, bytes, &beta, d.y, y));
            });
        }
        case dwshim::Direction::kDataGrad: {
            const auto a = static_cast<cudnnConvolutionBwdDataAlgo_t>(algo);
            CHECK_CUDNN(fns.data_workspace(handle, d.w, d.y, d.conv, d.x, a, &bytes));
            return time_with_workspace(bytes, [&](void* ws) {
                CHECK_CUDNN(fns.data(handle, &alpha, d.w, w, d.y, y, d.conv, a, ws, bytes, &beta, d.x, x));
            });
        }
        case dwshim::Direction::kFilterGrad: {
            const auto a = static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo);
            CHECK_CUDNN(fns.filter_workspace(handle, d.x, d.y, d.conv, d.w, a, &bytes));
            return time_with_workspace(bytes, [&](void* ws) {
                CHECK_CUDNN(fns.filter(handle, &alpha, d.x, x, d.y, y, d.conv, a, ws, bytes, &beta, d.w, w));
            });
        }
    }
    return -1.0f;
}

bool listed(const std::string& list, const std::string& item) {
    return list.empty() || ("," + list + ",").find("," + item + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s CASES.csv [--case NAME] [--op LIST] [--dtype LIST] [--layout LIST] [--csv OUT] "
                     "[--dwshim-only 1]\n",
                     argv[0]);
        return 2;
    }
    std::string only_case, ops = "fwd", dtypes, layouts, csv_path;
    bool dwshim_only = false, tune = false;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--case") only_case = argv[i + 1];
        if (flag == "--op") ops = argv[i + 1];
        if (flag == "--dtype") dtypes = argv[i + 1];
        if (flag == "--layout") layouts = argv[i + 1];
        if (flag == "--csv") csv_path = argv[i + 1];
        if (flag == "--dwshim-only") dwshim_only = std::string(argv[i + 1]) == "1";
        if (flag == "--tune") tune = std::string(argv[i + 1]) == "1";
    }
    if (tune && dwshim_only) {
        std::fprintf(stderr, "--tune needs the real cuDNN's timings: drop --dwshim-only\n");
        return 2;
    }
    void* real_library = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_NOLOAD);
    if (real_library == nullptr) real_library = dlopen("libcudnn.so.8", RTLD_NOW | RTLD_NOLOAD);
    const LegacyFunctions real = real_functions(real_library);
    const LegacyFunctions ours = dwshim_functions();
    const auto real_execute =
        reinterpret_cast<decltype(&cudnnBackendExecute)>(dlsym(real_library, "cudnnBackendExecute"));
    if (real.forward == nullptr || real.filter_workspace == nullptr || real_execute == nullptr ||
        real.forward == ours.forward) {
        std::fprintf(stderr, "real cuDNN not reachable\n");
        return 1;
    }
    cudaDeviceProp prop;
    CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
    cudnnHandle_t handle;
    CHECK_CUDNN(cudnnCreate(&handle));
    const double copy_gbps = copy_bandwidth_gbps();
    std::printf("device %s, copy bandwidth %.0f GB/s (read + write), cuDNN %zu\n", prop.name, copy_gbps,
                cudnnGetVersion());

    std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (csv) {
        std::fprintf(csv,
                     "case,op,dtype,layout,dwshim_ms,cudnn_legacy_ms,cudnn_algo,legacy_speedup,dwshim_backend_ms,"
                     "cudnn_backend_ms,backend_speedup,dwshim_pct_copy_bw,floor_ms\n");
    }
    std::printf("%-12s %-5s %-5s %-5s %10s %10s %4s %7s | %10s %10s %7s | %7s\n", "case", "op", "dtype", "layout",
                "dwshim_ms", "legacy_ms", "algo", "speedup", "dwshim_ms", "backend_ms", "speedup", "%copyBW");
    const struct {
        const char* name;
        cudnnDataType_t type;
    } all_dtypes[] = {{"f32", CUDNN_DATA_FLOAT}, {"f16", CUDNN_DATA_HALF}, {"bf16", CUDNN_DATA_BFLOAT16}};
    const struct {
        const char* name;
        dwtest::Layout layout;
    } all_layouts[] = {{"nchw", dwtest::Layout::kNCHW}, {"nhwc", dwtest::Layout::kNHWC}};
    const struct {
        const char* name;
        dwshim::Direction direction;
    } all_ops[] = {{"fwd", dwshim::Direction::kForward},
                   {"dgrad", dwshim::Direction::kDataGrad},
                   {"wgrad", dwshim::Direction::kFilterGrad}};

    for (const dwtest::NamedCase& row : dwtest::read_cases_file(argv[1])) {
        if (!only_case.empty() && only_case != "all" && row.name != only_case) continue;
        for (const auto& op : all_ops) {
            if (!listed(ops, op.name)) continue;
            for (const auto& dt : all_dtypes) {
                if (!listed(dtypes, dt.name)) continue;
                for (const auto& lt : all_layouts) {
                    if (!listed(layouts, lt.name)) continue;
                    dwtest::ConvCase cc = row.cc;
                    cc.direction = op.direction;
                    cc.dtype = dt.type;
                    cc.layout = lt.layout;
                    dwtest::CudnnDescriptors d(cc);
                    const size_t elem = dwtest::dtype_size(cc.dtype);
                    const int64_t w_elems = int64_t{cc.k()} * cc.kh * cc.kw;
                    void *x, *w, *y;
                    CHECK_CUDA(cudaMalloc(&x, d.x_layout.span * elem));
                    CHECK_CUDA(cudaMalloc(&w, w_elems * elem));
                    CHECK_CUDA(cudaMalloc(&y, d.y_layout.span * elem));
                    fill(x, d.x_layout.span, cc.dtype, 11u);
                    fill(w, w_elems, cc.dtype, 12u);
                    fill(y, d.y_layout.span, cc.dtype, 13u);

                    const int algo = dwshim_only ? -1 : best_algo(real, handle, d, op.direction);
                    const float cudnn_ms = algo >= 0 ? time_legacy(real, handle, d, op.direction, algo, x, w, y) : -1.0f;
                    const uint64_t routed_before = dwshim_decision_count(0);
                    const float ours_ms = time_legacy(ours, handle, d, op.direction, std::max(algo, 0), x, w, y);
                    if (dwshim_decision_count(0) == routed_before) {  // the timing is cuDNN's: no row
                        std::fprintf(stderr, "%s %s %s %s: not routed (DWSHIM_ROUTE=all times dwshim's kernel)\n",
                                     row.name.c_str(), op.name, dt.name, lt.name);
                        cudaFree(x);
                        cudaFree(w);
                        cudaFree(y);
                        continue;
                    }
                    const double bytes = (double(cc.n) * cc.c * cc.h * cc.w + double(cc.n) * cc.k() * cc.p() * cc.q() +
                                          double(w_elems)) *
                                         elem;
                    const double floor_ms = bytes / (copy_gbps * 1e6);
                    const double pct = 100.0 * floor_ms / ours_ms;
                    const double speedup = cudnn_ms > 0 ? cudnn_ms / ours_ms : 0.0;
                    const BackendTiming backend =
                        dwshim_only ? BackendTiming{} : time_backend(handle, cc, x, w, y, real_execute);
                    const double backend_speedup =
                        backend.ours_ms > 0 && backend.cudnn_ms > 0 ? backend.cudnn_ms / backend.ours_ms : 0.0;
                    std::printf("%-12s %-5s %-5s %-5s %10.4f %10.4f %4d %7.2f | %10.4f %10.4f %7.2f | %7.1f\n",
                                row.name.c_str(), op.name, dt.name, lt.name, ours_ms, cudnn_ms, algo, speedup,
                                backend.ours_ms, backend.cudnn_ms, backend_speedup, pct);
                    std::fflush(stdout);
                    if (tune) record_tuning(d, op.direction, ours_ms, cudnn_ms, backend);
                    if (csv) {
                        std::fprintf(csv, "%s,%s,%s,%s,%.4f,%.4f,%d,%.3f,%.4f,%.4f,%.3f,%.1f,%.4f\n", row.name.c_str(),
                                     op.name, dt.name, lt.name, ours_ms, cudnn_ms, algo, speedup, backend.ours_ms,
                                     backend.cudnn_ms, backend_speedup, pct, floor_ms);
                        std::fflush(csv);
                    }
                    cudaFree(x);
                    cudaFree(w);
                    cudaFree(y);
                }
            }
        }
    }
    if (csv) std::fclose(csv);
    cudnnDestroy(handle);
    return 0;
}
