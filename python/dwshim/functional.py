"""Depthwise conv2d on dwshim's kernels for CUDA tensors, forward and both gradients; anything else goes to
torch.nn.functional.conv2d."""
import ctypes

import torch
import torch.nn.functional as F

from . import _device, _library

_DTYPES = {torch.float32: _library.FLOAT, torch.float16: _library.HALF, torch.bfloat16: _library.BFLOAT16}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _output_size(size, pad, dilation, kernel, stride):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _geometry(weight, stride, padding, dilation):
    kh, kw = weight.shape[2:]
    return _library.Int64x8(kh, kw, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1])


def _sizes_and_strides(t):
    return _library.Int64x4(*t.shape), _library.Int64x4(*t.stride())


def _stream(x):
    return torch.cuda.current_stream(x.device).cuda_stream


def _checked(status, entry):
    """True where dwshim computed the result, False where it cannot; raises on a failure."""
    if status == _library.CANNOT_IMPLEMENT:
        return False
    if status != _library.OK:
        raise RuntimeError("%s failed with status %d" % (entry, status))
    return True


def _forward(x, weight, bias, stride, padding, dilation):
    """dwshim's kernel, or None when it cannot take these arguments."""
    n, c, h, w = x.shape
    k, _, kh, kw = weight.shape
    p = _output_size(h, padding[0], dilation[0], kh, stride[0])
    q = _output_size(w, padding[1], dilation[1], kw, stride[1])
    if p < 1 or q < 1:
        return None
    # Keep the caller's memory format: channels_last in, channels_last out.
    y = torch.empty((n, k, p, q), device=x.device, dtype=x.dtype, memory_format=_memory_format(x))
    weight = weight.contiguous()
    bias = bias.contiguous() if bias is not None else None
    with _device.current_for(x):
        status = _library.load().dwshim_conv2d_forward(
            _DTYPES[x.dtype], *_sizes_and_strides(x), x.data_ptr(), weight.data_ptr(),
            bias.data_ptr() if bias is not None else None, _geometry(weight, stride, padding, dilation),
            *_sizes_and_strides(y), y.data_ptr(), 1.0, 0.0, _stream(x))
    return y if _checked(status, "dwshim_conv2d_forward") else None


def data_gradient(grad_y, x, weight, stride, padding, dilation):
    """dL/dx on dwshim's kernel alone, in x's memory format, or None when it cannot compute it; stride, padding
    and dilation are pairs."""
    grad_x = torch.empty_like(x)
    weight = weight.contiguous()
    with _device.current_for(x):
        status = _library.load().dwshim_conv2d_backward_data(
            _DTYPES[x.dtype], *_sizes_and_strides(grad_x), grad_x.data_ptr(), weight.data_ptr(),
            _geometry(weight, stride, padding, dilation), *_sizes_and_strides(grad_y), grad_y.data_ptr(), 1.0, 0.0,
            _stream(x))
    return grad_x if _checked(status, "dwshim_conv2d_backward_data") else None


def filter_gradient(grad_y, x, weight, stride, padding, dilation):
    """dL/dweight on dwshim's kernel alone (bitwise reproducible), or None when it cannot compute it; stride,
    padding and dilation are pairs."""
    lib = _library.load()
    geometry = _geometry(weight, stride, padding, dilation)
    size = ctypes.c_size_t(0)
    status = lib.dwshim_conv2d_backward_filter_workspace_size(
        _DTYPES[x.dtype], *_sizes_and_strides(x), geometry, *_sizes_and_strides(grad_y), ctypes.byref(size))
    if not _checked(status, "dwshim_conv2d_backward_filter_workspace_size"):
        return None
    # From PyTorch's caching allocator, so that CUDA-graph capture works; freed in stream order.
    workspace = torch.empty(max(size.value, 1), dtype=torch.uint8, device=x.device)
    grad_w = torch.empty(weight.shape, dtype=weight.dtype, device=weight.device)
    with _device.current_for(x):
        status = lib.dwshim_conv2d_backward_filter(
            _DTYPES[x.dtype], *_sizes_and_strides(x), x.data_ptr(), grad_w.data_ptr(), geometry,
            *_sizes_and_strides(grad_y), grad_y.data_ptr(), 1.0, 0.0, workspace.data_ptr(), size.value, _stream(x))
    return grad_w if _checked(status, "dwshim_conv2d_backward_filter") else None


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
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        grad_y = grad_y.contiguous(memory_format=_memory_format(x))
        grad_x = grad_w = grad_b = None
        # dwshim's gradients are not differentiable: with create_graph=True (grad mode on here) PyTorch's own
        # convolution backward computes them, so that double backward stays correct.
        if not torch.is_grad_enabled():
            if ctx.needs_input_grad[0]:
                grad_x = data_gradient(grad_y, x, weight, stride, padding, dilation)
            if ctx.needs_input_grad[1]:
                grad_w = filter_gradient(grad_y, x, weight, stride, padding, dilation)
        mask = [ctx.needs_input_grad[0] and grad_x is None, ctx.needs_input_grad[1] and grad_w is None,
                ctx.has_bias and ctx.needs_input_grad[2]]
        if any(mask):
            theirs = torch.ops.aten.convolution_backward(
                grad_y, x, weight, [weight.shape[0]] if ctx.has_bias else None, list(stride), list(padding),
                list(dilation), False, [0, 0], x.shape[1], mask)
            grad_x = theirs[0] if mask[0] else grad_x
            grad_w = theirs[1] if mask[1] else grad_w
            grad_b = theirs[2] if mask[2] else None
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
