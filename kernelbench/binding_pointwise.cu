// PyTorch entry point of the pointwise convolution (kernelbench/pointwise_conv.cu) in the generated file of
// problem 86: fp32 NCHW, contiguous, on PyTorch's current stream. allow_tf32 is torch.backends.cudnn.allow_tf32:
// with it, cuDNN computes the reference's fp32 convolution in TF32 on GPUs that have TF32 tensor cores (8.0 on).
torch::Tensor pointwise_conv2d_forward(torch::Tensor x, torch::Tensor weight, torch::Tensor bias, bool has_bias,
                                       bool allow_tf32) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 4 && x.is_contiguous() && x.scalar_type() == torch::kFloat32,
                "x: a contiguous 4-D fp32 CUDA tensor");
    TORCH_CHECK(weight.is_cuda() && weight.dim() == 4 && weight.size(1) == x.size(1) && weight.size(2) == 1 &&
                    weight.size(3) == 1 && weight.is_contiguous() && weight.scalar_type() == torch::kFloat32,
                "weight: a contiguous fp32 CUDA tensor [o][c][1][1]");
    TORCH_CHECK(weight.device() == x.device() && (!has_bias || bias.device() == x.device()),
                "x, weight and bias on one device");
    TORCH_CHECK(!has_bias || (bias.is_contiguous() && bias.numel() == weight.size(0) &&
                              bias.scalar_type() == torch::kFloat32),
                "bias: a contiguous fp32 tensor [o]");
    TORCH_CHECK(x.size(1) > 0, "x: at least one channel");
    torch::Tensor y = torch::empty({x.size(0), weight.size(0), x.size(2), x.size(3)}, x.options());
    if (y.numel() == 0) return y;
    dwshim::PointwiseParams p;
    p.n = x.size(0);
    p.c = x.size(1);
    p.o = weight.size(0);
    p.pixels = x.size(2) * x.size(3);
    p.x = x.data_ptr<float>();
    p.w = weight.data_ptr<float>();
    p.bias = has_bias ? bias.data_ptr<float>() : nullptr;
    p.y = y.data_ptr<float>();
    const c10::cuda::CUDAGuard device_guard(x.device());
    p.tf32 = allow_tf32 && at::cuda::getCurrentDeviceProperties()->major >= 8;
    const cudaError_t status = dwshim::pointwise_conv(p, at::cuda::getCurrentCUDAStream());
    TORCH_CHECK(status == cudaSuccess, "pointwise conv: ", cudaGetErrorString(status));
    return y;
}
