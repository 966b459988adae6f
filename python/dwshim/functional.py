"""Depthwise conv2d on dwshim's kernel for CUDA tensors; anything else goes to torch.nn.functional.conv2d."""
import torch
import torch.nn.functional as F

from . import _device, _library

_DTYPES = {torch.float32: _library.FLOAT, torch.float16: _library.HALF, torch.bfloat16: _library.BFLOAT16}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _output_size(size, pad, dilation, kernel, stride):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _forward(x, weight, bias, stride, padding, dilation):
    """dwshim's kernel, or None when it cannot take these arguments."""
    n, c, h, w = x.shape
    k, _, kh, kw = weight.shape
    p = _output_size(h, padding[0], dilation[0], kh, stride[0])
    q = _output_size(w, padding[1], dilation[1], kw, stride[1])
    if p < 1 or q < 1:
        return None
    # Keep the caller's memory format: channels_last in, channels_last out.
    channels_last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    y = torch.empty((n, k, p, q), device=x.device, dtype=x.dtype,
                    memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    weight = weight.contiguous()
    bias = bias.contiguous() if bias is not None else None
    lib = _library.load()
    geometry = _library.Int64x8(kh, kw, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1])
    with _device.current_for(x):
        status = lib.dwshim_conv2d_forward(
            _DTYPES[x.dtype], _library.Int64x4(*x.shape), _library.Int64x4(*x.stride()), x.data_ptr(),
            weight.data_ptr(), bias.data_ptr() if bias is not None else None, geometry,
            _library.Int64x4(*y.shape), _library.Int64x4(*y.stride()), y.data_ptr(), 1.0, 0.0,
            torch.cuda.current_stream(x.device).cuda_stream)
    if status == _library.CANNOT_IMPLEMENT:
        return None
    if status != _library.OK:
        raise RuntimeError("dwshim_conv2d_forward failed with status %d" % status)
    return y


class _DepthwiseConv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):
        y = _forward(x, weight, bias, stride, padding, dilation)
        if y is None:
            y = F.conv2d(x, weight, bias, stride, padding, dilation, x.shape[1])
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, padding, dilation)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad_y):
        # Gradients by PyTorch's own convolution backward.
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]]
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_y.contiguous(memory_format=_memory_format(x)), x, weight,
            [weight.shape[0]] if ctx.has_bias else None, list(stride), list(padding), list(dilation), False,
            [0, 0], x.shape[1], mask)
        return grad_x, grad_w, grad_b, None, None, None


def _memory_format(x):
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """F.conv2d(x, weight, bias, stride, padding, dilation, groups=x.shape[1]) for weight [K, 1, kh, kw]."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    usable = (x.is_cuda and x.dim() == 4 and x.dtype in _DTYPES and weight.dtype == x.dtype
              and weight.dim() == 4 and weight.shape[1] == 1 and weight.device == x.device
              and (bias is None or (bias.dtype == x.dtype and bias.device == x.device))
              and _library.available())
    if not usable:
        return F.conv2d(x, weight, bias, stride, padding, dilation, x.shape[1] if x.dim() == 4 else 1)
    return _DepthwiseConv2d.apply(x, weight, bias, stride, padding, dilation)
