// PyTorch entry point of a generated KernelBench file: fills dwshim's params struct from the tensors and runs the
// forward dispatch (kernels/forward/forward.cu) on PyTorch's current stream. fp32 only: the problems are fp32,
// and the generated source leaves the 2-byte types out.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/extension.h>

torch::Tensor depthwise_conv2d_forward(torch::Tensor x, torch::Tensor weight, torch::Tensor bias, bool has_bias,
                                       int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                                       int64_t dil_h, int64_t dil_w) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 4 && x.scalar_type() == torch::kFloat32, "x: a 4-D fp32 CUDA tensor");
    TORCH_CHECK(weight.is_cuda() && weight.dim() == 4 && weight.size(1) == 1 && weight.is_contiguous() &&
                    weight.scalar_type() == torch::kFloat32,
                "weight: a contiguous fp32 CUDA tensor [k][1][r][s]");
    TORCH_CHECK(weight.size(0) % x.size(1) == 0, "depthwise: out channels a multiple of in channels");
    TORCH_CHECK(weight.device() == x.device() && (!has_bias || bias.device() == x.device()),
                "x, weight and bias on one device");
    TORCH_CHECK(!has_bias || (bias.is_cuda() && bias.is_contiguous() && bias.numel() == weight.size(0)),
                "bias: a contiguous CUDA tensor [k]");
    dwshim::DepthwiseParams p;
    p.direction = dwshim::Direction::kForward;
    p.dtype = dwshim::DType::kFloat;
    p.n = x.size(0);
    p.c = x.size(1);
    p.h = x.size(2);
    p.w = x.size(3);
    p.k = weight.size(0);
    p.multiplier = p.k / p.c;
    p.r = weight.size(2);
    p.s = weight.size(3);
    p.stride_h = stride_h;
    p.stride_w = stride_w;
    p.pad_h = pad_h;
    p.pad_w = pad_w;
    p.dil_h = dil_h;
    p.dil_w = dil_w;
    p.p = dwshim::conv_output_size(p.h, pad_h, pad_h, p.r, dil_h, stride_h);
    p.q = dwshim::conv_output_size(p.w, pad_w, pad_w, p.s, dil_w, stride_w);
    TORCH_CHECK(p.p > 0 && p.q > 0, "the filter does not fit the padded input");
    torch::Tensor y = torch::empty({p.n, p.k, p.p, p.q}, x.options());
    for (int d = 0; d < 4; ++d) {
        p.x_stride[d] = x.stride(d);
        p.y_stride[d] = y.stride(d);
    }
    p.x = x.data_ptr();
    p.filter = weight.data_ptr();
    p.bias = has_bias ? bias.data_ptr() : nullptr;
    p.y = y.data_ptr();
    // An extension function runs without the device guard PyTorch's own CUDA kernels get: x's GPU is made current
    // so that the launch and the current stream are on it.
    const c10::cuda::CUDAGuard device_guard(x.device());
    const cudaError_t status = dwshim::depthwise_forward(p, at::cuda::getCurrentCUDAStream());
    TORCH_CHECK(status == cudaSuccess, "dwshim depthwise forward: ", cudaGetErrorString(status));
    return y;
}
