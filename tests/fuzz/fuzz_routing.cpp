// libFuzzer target for dwshim's descriptor reading and routing on the CPU (no GPU needed). Each input builds one
// convolution through both APIs with fuzzed values, through dwshim's own cuDNN entry points (the real cuDNN
// validates what it is given; dwshim records and reads it), then checks:
// - routing never crashes, and a routed description is self-consistent (sizes, multiplier, output size, strides);
// - a malformed call (null handle) of each direction gets exactly the real cuDNN's status;
// each input picks a direction: forward, data gradient or filter gradient (legacy: the same descriptors read in
// that direction; backend: a FORWARD, BACKWARD_DATA or BACKWARD_FILTER operation).
// Built with -DDWSHIM_BUILD_FUZZER=ON (Clang); run: dwshim_fuzz_routing -max_total_time=60
#include <cudnn.h>
#include <dlfcn.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/depthwise_params.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"

namespace {

// Reads fuzz bytes as small integers; past the end everything is 0.
class Bytes {
public:
    Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
    // Mostly small values, sometimes 0, negative or huge: the edges descriptor checks must get right.
    int64_t value(int64_t small_max) {
        const uint8_t kind = next();
        const uint8_t v = next();
        switch (kind % 16) {
            case 0:
                return 0;
            case 1:
                return -static_cast<int64_t>(v % 4) - 1;
            case 2:
                return (int64_t{1} << 31) - 1 - v % 2;
            case 3:
                return int64_t{1} << (16 + v % 24);
            default:
                return 1 + v % small_max;
        }
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t at_ = 0;
};

// a * b, a + b and a - b, saturated: the harness's own arithmetic on fuzzed sizes must not overflow.
int64_t mul(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t add(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t sub(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

int to_int(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : static_cast<int>(v);
}

void fail(const char* what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

void check_routed(const dwshim::DepthwiseParams& p) {
    if (p.n < 1 || p.c < 1 || p.h < 1 || p.w < 1 || p.k < 1 || p.p < 1 || p.q < 1 || p.r < 1 || p.s < 1) {
        fail("routed with an empty size");
    }
    if (p.multiplier < 1 || p.k != p.c * p.multiplier) fail("routed with K not a multiple of C");
    if (p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 || p.pad_h < 0 || p.pad_w < 0) {
        fail("routed with a bad stride, dilation or padding");
    }
    const int64_t x_sizes[4] = {p.n, p.c, p.h, p.w}, y_sizes[4] = {p.n, p.k, p.p, p.q};
    for (int d = 0; d < 4; ++d) {  // a dimension of size 1 never moves the address, whatever its stride
        if ((x_sizes[d] > 1 && p.x_stride[d] < 1) || (y_sizes[d] > 1 && p.y_stride[d] < 1)) {
            fail("routed with a non-positive stride");
        }
    }
}

// The legacy API pads symmetrically, so the output size follows from the rest.
void check_routed_legacy(const dwshim::DepthwiseParams& p) {
    check_routed(p);
    if (p.p != dwshim::conv_output_size(p.h, p.pad_h, p.pad_h, p.r, p.dil_h, p.stride_h) ||
        p.q != dwshim::conv_output_size(p.w, p.pad_w, p.pad_w, p.s, p.dil_w, p.stride_w)) {
        fail("routed with an output size the convolution does not give");
    }
}

template <typename Fn>
Fn real_function(const char* name) {
    static void* real = dlopen(("libcudnn.so." + std::to_string(CUDNN_MAJOR)).c_str(), RTLD_NOW | RTLD_NOLOAD);
    return real != nullptr ? reinterpret_cast<Fn>(dlsym(real, name)) : nullptr;
}

void fuzz_legacy(Bytes* in) {
    const cudnnDataType_t types[] = {CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16, CUDNN_DATA_DOUBLE,
                                     CUDNN_DATA_INT8};
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    if (cudnnCreateTensorDescriptor(&x) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateTensorDescriptor(&y) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateFilterDescriptor(&w) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateConvolutionDescriptor(&conv) != CUDNN_STATUS_SUCCESS) {
        fail("descriptor creation");
    }
    const cudnnDataType_t x_type = types[in->next() % 5];
    const cudnnDataType_t w_type = in->next() % 8 == 0 ? types[in->next() % 5] : x_type;
    const cudnnDataType_t y_type = in->next() % 8 == 0 ? types[in->next() % 5] : x_type;
    const cudnnTensorFormat_t format = in->next() % 2 ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    const int n = static_cast<int>(in->value(4)), c = static_cast<int>(in->value(24)),
              h = static_cast<int>(in->value(40)), wd = static_cast<int>(in->value(40));
    bool all_set = true;  // cuDNN's own helpers may not be called on descriptors it refused
    if (in->next() % 4 == 0) {
        const int dims[4] = {n, c, h, wd};
        const int strides[4] = {to_int(in->value(100000)), to_int(in->value(1000)), to_int(in->value(100)),
                                to_int(in->value(4))};
        all_set &= cudnnSetTensorNdDescriptor(x, x_type, 4, dims, strides) == CUDNN_STATUS_SUCCESS;
    } else {
        all_set &= cudnnSetTensor4dDescriptor(x, format, x_type, n, c, h, wd) == CUDNN_STATUS_SUCCESS;
    }
    const int multiplier = static_cast<int>(in->value(3));
    const int r = static_cast<int>(in->value(9)), s = static_cast<int>(in->value(9));
    const int filter_c = in->next() % 8 == 0 ? static_cast<int>(in->value(4)) : 1;
    all_set &= cudnnSetFilter4dDescriptor(w, w_type, format, to_int(mul(c, multiplier)), filter_c, r, s) ==
               CUDNN_STATUS_SUCCESS;
    const int pad_h = to_int(in->value(4) - 1), pad_w = to_int(in->value(4) - 1);
    const int stride_h = static_cast<int>(in->value(3)), stride_w = static_cast<int>(in->value(3));
    const int dil_h = static_cast<int>(in->value(2)), dil_w = static_cast<int>(in->value(2));
    const cudnnDataType_t compute = in->next() % 4 == 0 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    all_set &= cudnnSetConvolution2dDescriptor(conv, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w,
                                               in->next() % 2 ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION,
                                               compute) == CUDNN_STATUS_SUCCESS;
    all_set &= cudnnSetConvolutionGroupCount(conv, in->next() % 8 == 0 ? static_cast<int>(in->value(8)) : c) ==
               CUDNN_STATUS_SUCCESS;
    // cuDNN 9.19's cudnnGetConvolution2dForwardOutputDim raises SIGFPE on descriptors whose Set calls failed.
    int yn = n, yc = c, yh = h, yw = wd;
    if (all_set) cudnnGetConvolution2dForwardOutputDim(conv, x, w, &yn, &yc, &yh, &yw);
    if (in->next() % 8 == 0) yh = to_int(add(yh, in->value(3) - 2));
    cudnnSetTensor4dDescriptor(y, format, y_type, yn, yc, yh, yw);

    dwshim::DepthwiseParams params;
    params.direction = static_cast<dwshim::Direction>(in->next() % 3);
    const dwshim::Direction direction = params.direction;
    const int reason = dwshim_route_legacy(x, w, conv, y, &params);
    if (reason < 0 || reason >= static_cast<int>(dwshim::RouteReason::kCount)) fail("unknown route reason");
    if (params.direction != direction) fail("routing changed the direction");
    if (reason == 0) check_routed_legacy(params);

    // A null handle is malformed for the real cuDNN: dwshim must answer with its status, routed or not.
    using Forward = decltype(&cudnnConvolutionForward);
    static const Forward real_forward = real_function<Forward>("cudnnConvolutionForward");
    const float one = 1.0f, zero = 0.0f;
    float buffer[4] = {};
    const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    const cudnnStatus_t ours =
        cudnnConvolutionForward(nullptr, &one, x, buffer, w, buffer, conv, algo, nullptr, 0, &zero, y, buffer);
    const cudnnStatus_t theirs =
        real_forward(nullptr, &one, x, buffer, w, buffer, conv, algo, nullptr, 0, &zero, y, buffer);
    if (ours != theirs) fail("a null-handle forward got another status than the real cuDNN's");
    using BackwardData = decltype(&cudnnConvolutionBackwardData);
    using BackwardFilter = decltype(&cudnnConvolutionBackwardFilter);
    static const BackwardData real_data = real_function<BackwardData>("cudnnConvolutionBackwardData");
    static const BackwardFilter real_filter = real_function<BackwardFilter>("cudnnConvolutionBackwardFilter");
    const auto data_algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    const auto filter_algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    if (cudnnConvolutionBackwardData(nullptr, &one, w, buffer, y, buffer, conv, data_algo, nullptr, 0, &zero, x,
                                     buffer) !=
        real_data(nullptr, &one, w, buffer, y, buffer, conv, data_algo, nullptr, 0, &zero, x, buffer)) {
        fail("a null-handle data gradient got another status than the real cuDNN's");
    }
    if (cudnnConvolutionBackwardFilter(nullptr, &one, x, buffer, y, buffer, conv, filter_algo, buffer,
                                       sizeof(buffer), &zero, w, buffer) !=
        real_filter(nullptr, &one, x, buffer, y, buffer, conv, filter_algo, buffer, sizeof(buffer), &zero, w,
                    buffer)) {
        fail("a null-handle filter gradient got another status than the real cuDNN's");
    }

    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
}

cudnnBackendDescriptor_t backend_tensor(Bytes* in, int64_t uid, cudnnDataType_t dtype, const int64_t dims[4]) {
    cudnnBackendDescriptor_t t = nullptr;
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t) != CUDNN_STATUS_SUCCESS) return nullptr;
    int64_t strides[4] = {mul(mul(dims[1], dims[2]), dims[3]), mul(dims[2], dims[3]), dims[3], 1};
    if (in->next() % 4 == 0) {
        for (int64_t& s : strides) s = in->value(5000);
    }
    const int64_t alignment = in->next() % 8 == 0 ? in->value(16) : 16;
    const int64_t count = in->next() % 16 == 0 ? in->value(5) : 4;  // a wrong element count, sometimes
    cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dtype);
    cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, count > 4 ? 4 : count, dims);
    cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
    cudnnBackendFinalize(t);
    return t;
}

void fuzz_backend(Bytes* in) {
    const cudnnDataType_t types[] = {CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_DATA_BFLOAT16, CUDNN_DATA_DOUBLE};
    const cudnnDataType_t dtype = types[in->next() % 4];
    const int64_t n = in->value(3), c = in->value(16), h = in->value(30), w = in->value(30);
    const int64_t k = mul(c, in->value(2)), r = in->value(7), s = in->value(7);
    const int64_t pre[2] = {in->value(3) - 1, in->value(3) - 1}, post[2] = {in->value(3) - 1, in->value(3) - 1};
    const int64_t stride[2] = {in->value(2), in->value(2)}, dilation[2] = {in->value(2), in->value(2)};
    const auto out = [](int64_t size, int64_t pad, int64_t dil, int64_t filter, int64_t stride) {
        if (stride < 1 || size < 1 || filter < 1 || dil < 1) return int64_t{1};
        const int64_t span = sub(sub(add(size, pad), mul(dil, filter - 1)), 1);
        return span < 0 ? int64_t{0} : span / stride + 1;
    };
    const int64_t p = out(h, add(pre[0], post[0]), dilation[0], r, stride[0]);
    const int64_t q = out(w, add(pre[1], post[1]), dilation[1], s, stride[1]);
    const int64_t x_dims[4] = {n, c, h, w}, w_dims[4] = {k, in->next() % 8 == 0 ? in->value(3) : 1, r, s};
    const int64_t y_dims[4] = {n, k, add(p, in->next() % 8 == 0 ? 1 : 0), q};
    std::vector<cudnnBackendDescriptor_t> made;
    cudnnBackendDescriptor_t x = backend_tensor(in, 1, dtype, x_dims), wt = backend_tensor(in, 2, dtype, w_dims),
                             y = backend_tensor(in, 3, dtype, y_dims);
    made.insert(made.end(), {x, wt, y});
    cudnnBackendDescriptor_t conv = nullptr, op = nullptr, graph = nullptr;
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &conv) == CUDNN_STATUS_SUCCESS) {
        made.push_back(conv);
        const int64_t dims = 2;
        const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
        const cudnnConvolutionMode_t mode = in->next() % 2 ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION;
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
        cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilation);
        cudnnBackendFinalize(conv);
    }
    // The operation of one direction over the same tensors (x, w, y keep their forward roles).
    struct OpKind {
        cudnnBackendDescriptorType_t type;
        cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
    };
    const OpKind kinds[] = {
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA},
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA},
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA}};
    const int direction = in->next() % 3;
    const OpKind& kind = kinds[direction];
    if (cudnnBackendCreateDescriptor(kind.type, &op) == CUDNN_STATUS_SUCCESS) {
        made.push_back(op);
        const float alpha = 1.0f, beta = in->next() % 4 == 0 ? 1.0f : 0.0f;
        cudnnBackendSetAttribute(op, kind.x, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
        cudnnBackendSetAttribute(op, kind.w, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &wt);
        cudnnBackendSetAttribute(op, kind.y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
        cudnnBackendSetAttribute(op, kind.conv, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv);
        cudnnBackendSetAttribute(op, kind.alpha, CUDNN_TYPE_FLOAT, 1, &alpha);
        cudnnBackendSetAttribute(op, kind.beta, CUDNN_TYPE_FLOAT, 1, &beta);
        cudnnBackendFinalize(op);
    }
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph) == CUDNN_STATUS_SUCCESS) {
        made.push_back(graph);
        cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
        if (cudnnBackendFinalize(graph) == CUDNN_STATUS_SUCCESS) {
            dwshim::DepthwiseParams params;
            const int reason = dwshim_route_backend_graph(graph, &params);
            if (reason < 0 || reason >= static_cast<int>(dwshim::RouteReason::kCount)) fail("unknown route reason");
            if (reason == 0 && static_cast<int>(params.direction) != direction) fail("routed in another direction");
            if (reason == 0) check_routed(params);
        }
    }
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
        if (*it != nullptr) cudnnBackendDestroyDescriptor(*it);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Bytes in(data, size);
    if (in.next() % 2 == 0) {
        fuzz_legacy(&in);
    } else {
        fuzz_backend(&in);
    }
    return 0;
}
