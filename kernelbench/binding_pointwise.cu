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

// Problem 86's two convs, the depthwise conv (dw_*) and then the 1x1 conv (pw_*): in one kernel where
// separable_conv_applies (TF32 in use, 3x3 at stride 1 with padding 1, up to 64 channels, rows of a multiple of 4
// columns), else one after the other.
torch::Tensor separable_conv2d_forward(torch::Tensor x, torch::Tensor dw_weight, torch::Tensor dw_bias,
                                       bool has_dw_bias, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                                       int64_t pad_w, int64_t dil_h, int64_t dil_w, torch::Tensor pw_weight,
                                       torch::Tensor pw_bias, bool has_pw_bias, bool allow_tf32) {
    const auto fp32_on_x = [&](const torch::Tensor& t) {
        return t.is_contiguous() && t.scalar_type() == torch::kFloat32 && t.device() == x.device();
    };
    const bool tensors = x.is_cuda() && x.dim() == 4 && fp32_on_x(x) && dw_weight.dim() == 4 && fp32_on_x(dw_weight) &&
                         pw_weight.dim() == 4 && fp32_on_x(pw_weight) && (!has_dw_bias || fp32_on_x(dw_bias)) &&
                         (!has_pw_bias || fp32_on_x(pw_bias));
    const bool shapes = tensors && dw_weight.size(0) == x.size(1) && dw_weight.size(1) == 1 &&
                        dw_weight.size(2) == dw_weight.size(3) && pw_weight.size(1) == x.size(1) &&
                        pw_weight.size(2) == 1 && pw_weight.size(3) == 1 &&
                        (!has_dw_bias || dw_bias.numel() == x.size(1)) &&
                        (!has_pw_bias || pw_bias.numel() == pw_weight.size(0));
    if (shapes && stride_h == stride_w && pad_h == pad_w && dil_h == dil_w) {
        const c10::cuda::CUDAGuard device_guard(x.device());
        torch::Tensor y = torch::empty({x.size(0), pw_weight.size(0), x.size(2), x.size(3)}, x.options());
        dwshim::SeparableParams p;
        p.n = x.size(0);
        p.c = x.size(1);
        p.o = pw_weight.size(0);
        p.height = x.size(2);
        p.width = x.size(3);
        p.kernel = dw_weight.size(2);
        p.stride = stride_h;
        p.padding = pad_h;
        p.dilation = dil_h;
        p.x = x.data_ptr<float>();
        p.dw_weight = dw_weight.data_ptr<float>();
        p.dw_bias = has_dw_bias ? dw_bias.data_ptr<float>() : nullptr;
        p.pw_weight = pw_weight.data_ptr<float>();
        p.pw_bias = has_pw_bias ? pw_bias.data_ptr<float>() : nullptr;
        p.y = y.numel() > 0 ? y.data_ptr<float>() : nullptr;
        p.tf32 = allow_tf32 && at::cuda::getCurrentDeviceProperties()->major >= 8;
        if (dwshim::separable_conv_applies(p)) {
            const cudaError_t status = dwshim::separable_conv(p, at::cuda::getCurrentCUDAStream());
            TORCH_CHECK(status == cudaSuccess, "separable conv: ", cudaGetErrorString(status));
            return y;
        }
    }
    return pointwise_conv2d_forward(depthwise_conv2d_forward(x, dw_weight, dw_bias, has_dw_bias, stride_h, stride_w,
                                                             pad_h, pad_w, dil_h, dil_w),
                                    pw_weight, pw_bias, has_pw_bias, allow_tf32);
}
