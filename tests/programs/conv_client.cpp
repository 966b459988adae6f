// A cuDNN client built two ways, neither preloading dwshim nor linking the real cuDNN:
// - DWSHIM_CLIENT_DLOPEN: loads "libcudnn.so.<major>" itself with dlopen and takes every function with dlsym on
//   that handle, as TensorFlow, JAX and cudnn-frontend's dynamic loading do (LD_PRELOAD cannot reach those
//   calls); with the in-place library first on LD_LIBRARY_PATH, that handle is dwshim's.
// - otherwise: linked against the in-place libcudnn.so.<major>.
// Both must reach dwshim, which routes a depthwise conv to its kernel and forwards a dense conv to the real cuDNN.
// `client --descriptors` checks routing without a GPU; `client` also computes both convs on the GPU and checks
// them against a float64 host reference (exit 77 without a GPU).
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "shim/dwshim.h"

namespace {

#define CLIENT_FUNCTIONS(X)                                                                                      \
    X(cudnnGetVersion) X(cudnnCreate) X(cudnnDestroy) X(cudnnCreateTensorDescriptor) X(cudnnSetTensor4dDescriptor) \
    X(cudnnDestroyTensorDescriptor) X(cudnnCreateFilterDescriptor) X(cudnnSetFilter4dDescriptor)                 \
    X(cudnnDestroyFilterDescriptor) X(cudnnCreateConvolutionDescriptor) X(cudnnSetConvolution2dDescriptor)       \
    X(cudnnSetConvolutionGroupCount) X(cudnnDestroyConvolutionDescriptor) X(cudnnConvolutionForward)             \
    X(dwshim_decision_count) X(dwshim_real_cudnn_path)

struct Client {
#define DWSHIM_CLIENT_MEMBER(name) decltype(&::name) fn_##name = nullptr;
    CLIENT_FUNCTIONS(DWSHIM_CLIENT_MEMBER)
#undef DWSHIM_CLIENT_MEMBER
};

bool load(Client* c, std::string* where) {
#ifdef DWSHIM_CLIENT_DLOPEN
    const std::string soname = "libcudnn.so." + std::to_string(CUDNN_MAJOR);
    void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "dlopen(%s): %s\n", soname.c_str(), dlerror());
        return false;
    }
#define DWSHIM_CLIENT_LOAD(name) c->fn_##name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));
    CLIENT_FUNCTIONS(DWSHIM_CLIENT_LOAD)
#undef DWSHIM_CLIENT_LOAD
#else
#define DWSHIM_CLIENT_LINK(name) c->fn_##name = &::name;
    CLIENT_FUNCTIONS(DWSHIM_CLIENT_LINK)
#undef DWSHIM_CLIENT_LINK
#endif
    Dl_info info;
    if (c->fn_cudnnGetVersion != nullptr && dladdr(reinterpret_cast<void*>(c->fn_cudnnGetVersion), &info) != 0) {
        *where = info.dli_fname;
    }
    return c->fn_cudnnGetVersion != nullptr && c->fn_cudnnConvolutionForward != nullptr;
}

int fail(const char* what) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    return 1;
}

#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != CUDNN_STATUS_SUCCESS) return fail(#call);            \
    } while (0)

struct Conv {
    int n = 2, c = 8, h = 20, w = 33, k = 8, r = 3, pad = 1;
    int groups = 8;
    int filter_channels() const { return c / groups; }
    int p() const { return h + 2 * pad - r + 1; }
    int q() const { return w + 2 * pad - r + 1; }
};

std::vector<double> reference(const Conv& cv, const std::vector<float>& x, const std::vector<float>& f) {
    std::vector<double> y(size_t(cv.n) * cv.k * cv.p() * cv.q(), 0.0);
    const int per_group = cv.k / cv.groups, fc = cv.filter_channels();
    for (int n = 0; n < cv.n; ++n)
        for (int k = 0; k < cv.k; ++k)
            for (int p = 0; p < cv.p(); ++p)
                for (int q = 0; q < cv.q(); ++q) {
                    double acc = 0.0;
                    for (int ci = 0; ci < fc; ++ci) {
                        const int c = (k / per_group) * fc + ci;
                        for (int r = 0; r < cv.r; ++r)
                            for (int s = 0; s < cv.r; ++s) {
                                const int ih = p - cv.pad + r, iw = q - cv.pad + s;
                                if (ih < 0 || ih >= cv.h || iw < 0 || iw >= cv.w) continue;
                                acc += double(x[((size_t(n) * cv.c + c) * cv.h + ih) * cv.w + iw]) *
                                       f[((size_t(k) * fc + ci) * cv.r + r) * cv.r + s];
                            }
                    }
                    y[((size_t(n) * cv.k + k) * cv.p() + p) * cv.q() + q] = acc;
                }
    return y;
}

// Runs one conv through the client's cudnnConvolutionForward; 0 when it matches the reference.
int run_conv(const Client& cl, cudnnHandle_t handle, const Conv& cv, bool compute) {
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t fd;
    cudnnConvolutionDescriptor_t cd;
    CHECK(cl.fn_cudnnCreateTensorDescriptor(&xd));
    CHECK(cl.fn_cudnnCreateTensorDescriptor(&yd));
    CHECK(cl.fn_cudnnCreateFilterDescriptor(&fd));
    CHECK(cl.fn_cudnnCreateConvolutionDescriptor(&cd));
    CHECK(cl.fn_cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cv.n, cv.c, cv.h, cv.w));
    CHECK(cl.fn_cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, cv.n, cv.k, cv.p(), cv.q()));
    CHECK(cl.fn_cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, cv.k, cv.filter_channels(), cv.r,
                                        cv.r));
    CHECK(cl.fn_cudnnSetConvolution2dDescriptor(cd, cv.pad, cv.pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT));
    CHECK(cl.fn_cudnnSetConvolutionGroupCount(cd, cv.groups));
    int status = 0;
    if (compute) {
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        std::vector<float> x(size_t(cv.n) * cv.c * cv.h * cv.w), f(size_t(cv.k) * cv.filter_channels() * cv.r * cv.r);
        for (float& v : x) v = uniform(rng);
        for (float& v : f) v = uniform(rng);
        std::vector<float> y(size_t(cv.n) * cv.k * cv.p() * cv.q(), NAN);
        void *dx = nullptr, *df = nullptr, *dy = nullptr;
        if (cudaMalloc(&dx, x.size() * 4) != cudaSuccess || cudaMalloc(&df, f.size() * 4) != cudaSuccess ||
            cudaMalloc(&dy, y.size() * 4) != cudaSuccess) {
            return fail("cudaMalloc");
        }
        cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(df, f.data(), f.size() * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(dy, y.data(), y.size() * 4, cudaMemcpyHostToDevice);  // NaN poison
        const float alpha = 1.0f, beta = 0.0f;
        CHECK(cl.fn_cudnnConvolutionForward(handle, &alpha, xd, dx, fd, df, cd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                         nullptr, 0, &beta, yd, dy));
        if (cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost) != cudaSuccess) return fail("copy back");
        const std::vector<double> expected = reference(cv, x, f);
        double diff = 0.0, norm = 0.0;
        for (size_t i = 0; i < y.size(); ++i) {
            diff += (y[i] - expected[i]) * (y[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        const double rel = std::sqrt(diff / norm);
        std::printf("  groups %d: rel. error vs float64 %.2e\n", cv.groups, rel);
        if (!(rel < 1e-5)) status = fail("result differs from the float64 reference");
        cudaFree(dx);
        cudaFree(df);
        cudaFree(dy);
    }
    cl.fn_cudnnDestroyConvolutionDescriptor(cd);
    cl.fn_cudnnDestroyFilterDescriptor(fd);
    cl.fn_cudnnDestroyTensorDescriptor(yd);
    cl.fn_cudnnDestroyTensorDescriptor(xd);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    const bool descriptors_only = argc > 1 && std::strcmp(argv[1], "--descriptors") == 0;
    Client cl;
    std::string where;
    if (!load(&cl, &where)) return fail("cuDNN's functions not found");
    std::printf("cudnnGetVersion from %s\n", where.c_str());
    if (cl.fn_dwshim_decision_count == nullptr || cl.fn_dwshim_real_cudnn_path == nullptr) {
        return fail("the cuDNN this program reached is not dwshim");
    }
    const std::string real = cl.fn_dwshim_real_cudnn_path();
    std::printf("dwshim forwards to %s (version %zu)\n", real.c_str(), cl.fn_cudnnGetVersion());
    if (real.empty() || real == where) return fail("dwshim found no real cuDNN apart from itself");
    if (descriptors_only) return 0;

    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("no GPU: skipped\n");
        return 77;
    }
    cudnnHandle_t handle;
    CHECK(cl.fn_cudnnCreate(&handle));
    Conv depthwise, dense;
    dense.groups = 1;
    const uint64_t routed = cl.fn_dwshim_decision_count(0);
    if (run_conv(cl, handle, depthwise, true) != 0) return 1;
    if (cl.fn_dwshim_decision_count(0) != routed + 1) return fail("the depthwise conv was not routed to dwshim");
    if (run_conv(cl, handle, dense, true) != 0) return 1;
    if (cl.fn_dwshim_decision_count(0) != routed + 1) return fail("the dense conv was routed");
    cl.fn_cudnnDestroy(handle);
    std::printf("depthwise conv routed to dwshim, dense conv computed by the real cuDNN: both match\n");
    return 0;
}
