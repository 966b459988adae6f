// dwshim's hook inside PyTorch's dispatcher, built against the installed torch by dwshim.hook (torch's
// cpp_extension, once per environment). It registers CUDA kernels for the two operators behind PyTorch's own
// depthwise convolutions, which never reach cuDNN (fp32 and bf16 NCHW):
//   aten::_conv_depthwise2d     the forward PyTorch runs on its native depthwise kernel;
//   aten::convolution_backward  both gradients, of every convolution (dense ones too).
// A call dwshim takes runs on libdwshim.so's kernels through its *_if_faster entry points, which launch only
// where dwshim was measured faster than PyTorch's kernel; the hook asks first (dwshim_conv2d_if_faster_query) and
// allocates outputs only for the calls dwshim takes. Every other call goes to the native kernel PyTorch
// registered for CUDA, called directly (at::native::conv_depthwise2d_cuda, at::native::convolution_backward),
// so nothing recurses and a declined call costs a few checks in C++ (the Python hook cost ~22 us a call).
// Below autograd, the derivative formulas stay PyTorch's: double backward, torch.compile and CUDA graphs keep
// working, and the gradients dwshim computes are bitwise reproducible.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/_conv_depthwise2d_native.h>
#include <ATen/ops/convolution_backward_native.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/extension.h>
#include <torch/library.h>

#ifndef DWSHIM_TORCH_MAJOR
#error "dwshim.hook builds this file with -DDWSHIM_TORCH_MAJOR=<torch's major version>"
#endif

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

namespace {

// libdwshim.so's entry points (shim/dwshim.h), handed over by dwshim.hook from its ctypes handle.
using ForwardFn = int (*)(int, const int64_t*, const int64_t*, const void*, const void*, const void*,
                          const int64_t*, const int64_t*, const int64_t*, void*, float, float, void*);
using DataGradFn = int (*)(int, const int64_t*, const int64_t*, void*, const void*, const int64_t*,
                           const int64_t*, const int64_t*, const void*, float, float, void*);
using QueryFn = int (*)(int, int, const int64_t*, const int64_t*, const int64_t*, const int64_t*, const int64_t*,
                        size_t*);
using FilterGradFn = int (*)(int, const int64_t*, const int64_t*, const void*, void*, const int64_t*,
                             const int64_t*, const int64_t*, const void*, float, float, void*, size_t, void*);

constexpr int kOk = 0;  // DWSHIM_OK
enum Op { kForwardOp = 0, kDataGradOp = 1, kFilterGradOp = 2 };  // the query's directions

struct Entries {
    ForwardFn forward = nullptr;
    DataGradFn data_grad = nullptr;
    QueryFn query = nullptr;
    FilterGradFn filter_grad = nullptr;
    int64_t min_bytes = 0;  // below this many bytes of input and output, PyTorch keeps the forward
};
Entries entries;
std::atomic<bool> configured{false};  // entries are set: calls before that keep PyTorch's kernels

// Calls seen, per operator and outcome, for dwshim-run --stats.
enum Counter { kForwardRouted, kForwardLeft, kDataGradRouted, kFilterGradRouted, kBackwardLeft, kCounters };
std::array<std::atomic<uint64_t>, kCounters> counters{};

void count(Counter c) {
    counters[c].fetch_add(1, std::memory_order_relaxed);
}

int dtype_code(at::ScalarType t) {
    switch (t) {
        case at::kFloat:
            return 0;
        case at::kHalf:
            return 1;
        case at::kBFloat16:
            return 2;
        default:
            return -1;
    }
}

// Sizes, strides in elements and geometry, as libdwshim.so's entry points take them.
struct Call {
    int dtype = -1;
    int64_t x_sizes[4], x_strides[4], y_sizes[4], y_strides[4], geometry[8];

    int query(Op op, const int64_t* x_strides_of_op, size_t* workspace_bytes = nullptr) const {
        return entries.query(dtype, op, x_sizes, x_strides_of_op, geometry, y_sizes, y_strides, workspace_bytes);
    }
};

// Strides of a contiguous tensor of these sizes: the layout of every output the hook allocates, and of dy.
void contiguous_strides(const int64_t (&sizes)[4], int64_t (&strides)[4]) {
    strides[3] = 1;
    for (int d = 2; d >= 0; --d) strides[d] = strides[d + 1] * sizes[d + 1];
}

// A 2-D depthwise convolution (one filter per group, groups == C) of CUDA tensors of one supported type, with a
// contiguous output of y_sizes; fills *call with x's layout and y's.
bool depthwise_call(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride, at::IntArrayRef padding,
                    at::IntArrayRef dilation, at::IntArrayRef y_sizes, Call* call) {
    call->dtype = dtype_code(x.scalar_type());
    if (call->dtype < 0 || !x.is_cuda() || x.dim() != 4 || weight.dim() != 4 || weight.size(1) != 1 ||
        weight.scalar_type() != x.scalar_type() || x.size(1) == 0 || weight.size(0) % x.size(1) != 0 ||
        stride.size() != 2 || padding.size() != 2 || dilation.size() != 2 || y_sizes.size() != 4) {
        return false;
    }
    const int64_t geometry[8] = {weight.size(2), weight.size(3), stride[0], stride[1],
                                 padding[0],     padding[1],     dilation[0], dilation[1]};
    for (int d = 0; d < 4; ++d) {
        call->x_sizes[d] = x.size(d);
        call->x_strides[d] = x.stride(d);
        call->y_sizes[d] = y_sizes[d];
    }
    contiguous_strides(call->y_sizes, call->y_strides);
    for (int i = 0; i < 8; ++i) call->geometry[i] = geometry[i];
    return true;
}

int64_t output_size(int64_t size, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride) {
    return (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

void* stream_of(const at::Tensor& t) {
    return at::cuda::getCurrentCUDAStream(t.device().index()).stream();
}

// dwshim's forward, or an undefined tensor where it declines.
at::Tensor dwshim_forward(const at::Tensor& self, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                          at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation) {
    if (!configured.load(std::memory_order_acquire) || self.dim() != 4 || weight.dim() != 4 ||
        stride.size() != 2 || padding.size() != 2 || dilation.size() != 2) {
        return at::Tensor();
    }
    const int64_t p = output_size(self.size(2), padding[0], dilation[0], weight.size(2), stride[0]);
    const int64_t q = output_size(self.size(3), padding[1], dilation[1], weight.size(3), stride[1]);
    if (p < 1 || q < 1 || (self.numel() + self.size(0) * weight.size(0) * p * q) * self.element_size() <
                              entries.min_bytes) {
        return at::Tensor();
    }
    const bool with_bias = bias.has_value() && bias->defined();
    if (with_bias && bias->scalar_type() != self.scalar_type()) return at::Tensor();
    Call call;
    if (!depthwise_call(self, weight, stride, padding, dilation, {self.size(0), weight.size(0), p, q}, &call)) {
        return at::Tensor();
    }
    const c10::cuda::CUDAGuard guard(self.device());  // the query reads the current GPU's tuning cache entries
    if (call.query(kForwardOp, call.x_strides) != kOk) return at::Tensor();
    at::Tensor y = at::empty(call.y_sizes, self.options());  // contiguous, as PyTorch's
    const at::Tensor filter = weight.contiguous();
    const at::Tensor bias_values = with_bias ? bias->contiguous() : at::Tensor();
    const int status = entries.forward(call.dtype, call.x_sizes, call.x_strides, self.data_ptr(), filter.data_ptr(),
                                       with_bias ? bias_values.data_ptr() : nullptr, call.geometry, call.y_sizes,
                                       call.y_strides, y.data_ptr(), 1.0f, 0.0f, stream_of(self));
    return status == kOk ? y : at::Tensor();
}

at::Tensor conv_depthwise2d(const at::Tensor& self, const at::Tensor& weight, at::IntArrayRef kernel_size,
                            const c10::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                            at::IntArrayRef dilation) {
    at::Tensor y = dwshim_forward(self, weight, bias, stride, padding, dilation);
    if (y.defined()) {
        count(kForwardRouted);
        return y;
    }
    count(kForwardLeft);
    return at::native::conv_depthwise2d_cuda(self, weight, kernel_size, bias, stride, padding, dilation);
}

// A convolution PyTorch runs on its own depthwise kernels: not transposed, groups == C, fp32 or bf16 (fp16 goes
// to cuDNN), in NCHW (channels-last goes to cuDNN, where libdwshim.so itself sees it).
bool native_depthwise(const at::Tensor& input, const at::Tensor& weight, bool transposed,
                      at::IntArrayRef output_padding, int64_t groups) {
    for (const int64_t pad : output_padding) {
        if (pad != 0) return false;
    }
    return !transposed && input.dim() == 4 && groups == input.size(1) && weight.dim() == 4 &&
           weight.size(1) == 1 && (input.scalar_type() == at::kFloat || input.scalar_type() == at::kBFloat16) &&
           input.suggest_memory_format() == at::MemoryFormat::Contiguous;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> convolution_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
    at::OptionalIntArrayRef bias_sizes, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
    bool transposed, at::IntArrayRef output_padding, int64_t groups, std::array<bool, 3> output_mask) {
    at::Tensor grad_input, grad_weight;
    Call call;
    const bool taken = configured.load(std::memory_order_acquire) &&
                       native_depthwise(input, weight, transposed, output_padding, groups);
    // Autograd hands over expanded gradients (stride 0, from a sum) too: dwshim reads a dense copy, and so does
    // PyTorch's kernel for what dwshim leaves (it would make the same copy), so the copy is made once.
    const at::Tensor dy = taken ? grad_output.contiguous() : grad_output;
    if (taken && depthwise_call(input, weight, stride, padding, dilation, dy.sizes(), &call)) {
        const c10::cuda::CUDAGuard guard(input.device());
        void* stream = stream_of(input);
        int64_t dx_strides[4];  // dx is allocated contiguous
        contiguous_strides(call.x_sizes, dx_strides);
        if (output_mask[0] && call.query(kDataGradOp, dx_strides) == kOk) {
            at::Tensor dx = at::empty(input.sizes(), input.options());
            const at::Tensor filter = weight.contiguous();
            if (entries.data_grad(call.dtype, call.x_sizes, dx_strides, dx.data_ptr(), filter.data_ptr(),
                                  call.geometry, call.y_sizes, call.y_strides, dy.data_ptr(), 1.0f, 0.0f,
                                  stream) == kOk) {
                grad_input = dx;
                count(kDataGradRouted);
            }
        }
        size_t bytes = 0;
        if (output_mask[1] && call.query(kFilterGradOp, call.x_strides, &bytes) == kOk) {
            // From PyTorch's caching allocator, so that CUDA-graph capture works; freed in stream order.
            const at::Tensor workspace =
                at::empty({static_cast<int64_t>(bytes > 0 ? bytes : 1)}, input.options().dtype(at::kByte));
            at::Tensor dw = at::empty(weight.sizes(), weight.options().memory_format(at::MemoryFormat::Contiguous));
            if (entries.filter_grad(call.dtype, call.x_sizes, call.x_strides, input.data_ptr(), dw.data_ptr(),
                                    call.geometry, call.y_sizes, call.y_strides, dy.data_ptr(), 1.0f, 0.0f,
                                    workspace.data_ptr(), bytes, stream) == kOk) {
                grad_weight = dw;
                count(kFilterGradRouted);
            }
        }
    }
    const std::array<bool, 3> rest = {output_mask[0] && !grad_input.defined(),
                                      output_mask[1] && !grad_weight.defined(), output_mask[2]};
    if (!rest[0] && !rest[1] && !rest[2]) return std::make_tuple(grad_input, grad_weight, at::Tensor());
    count(kBackwardLeft);
    auto theirs = at::native::convolution_backward(dy, input, weight, bias_sizes, stride, padding,
                                                   dilation, transposed, output_padding, groups, rest);
    return std::make_tuple(rest[0] ? std::get<0>(theirs) : grad_input, rest[1] ? std::get<1>(theirs) : grad_weight,
                           std::get<2>(theirs));
}

// Drops the warnings raised while it is installed: registering kernels for PyTorch's own operators makes the
// dispatcher warn that a kernel was overridden, which is the point here and would only alarm users on stderr.
// DWSHIM_TORCH_MAJOR (set by dwshim.hook from torch.__version__): PyTorch 2 hands a handler one c10::Warning and
// keeps the guard in c10::WarningUtils; 1.13 hands over the warning's parts and keeps the guard in c10::Warning.
struct DropWarnings : c10::WarningHandler {
#if DWSHIM_TORCH_MAJOR >= 2
    void process(const c10::Warning&) override {}
#else
    void process(const c10::SourceLocation&, const std::string&, const bool) override {}
#endif
};
#if DWSHIM_TORCH_MAJOR >= 2
using WarningHandlerGuard = c10::WarningUtils::WarningHandlerGuard;
#else
using WarningHandlerGuard = c10::Warning::WarningHandlerGuard;
#endif

// The kernels above, registered for CUDA on the first configure() (so never before the entry points are set).
// Kept for the life of the process, as TORCH_LIBRARY_IMPL's registrations are.
std::unique_ptr<torch::Library> registration;

void register_kernels() {
    if (registration) return;
    DropWarnings quiet;
    const WarningHandlerGuard guard(&quiet);
    registration = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::CUDA, __FILE__,
                                                    __LINE__);
    registration->impl("_conv_depthwise2d", TORCH_FN(conv_depthwise2d));
    registration->impl("convolution_backward", TORCH_FN(convolution_backward));
}

void configure(uintptr_t forward, uintptr_t data_grad, uintptr_t query, uintptr_t filter_grad, int64_t min_bytes) {
    entries.forward = reinterpret_cast<ForwardFn>(forward);
    entries.data_grad = reinterpret_cast<DataGradFn>(data_grad);
    entries.query = reinterpret_cast<QueryFn>(query);
    entries.filter_grad = reinterpret_cast<FilterGradFn>(filter_grad);
    entries.min_bytes = min_bytes;
    configured.store(forward != 0 && data_grad != 0 && query != 0 && filter_grad != 0,
                     std::memory_order_release);
    register_kernels();
}

std::vector<uint64_t> counts() {
    std::vector<uint64_t> values;
    for (const auto& c : counters) values.push_back(c.load(std::memory_order_relaxed));
    return values;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
    m.def("configure", &configure,
          "libdwshim.so's entry points (addresses) and the forward's size threshold; registers the kernels once");
    m.def("counts", &counts,
          "calls seen: forwards routed, forwards left to PyTorch, data gradients routed, filter gradients "
          "routed, backward calls left (in part) to PyTorch");
}
