"""Routes the depthwise convolutions PyTorch runs on its own CUDA kernel to dwshim's kernel.

PyTorch sends fp32 and bf16 NCHW depthwise convolutions (and fp16 ones when cuDNN is off) to its native
operator aten::_conv_depthwise2d, never to cuDNN, so LD_PRELOAD cannot see them. install() registers a CUDA
implementation of that operator through torch.library (available from torch 1.12 on):
- at::_convolution calls the operator below autograd, so gradients keep PyTorch's own formulas
  (convolution_backward); torch.compile keeps working because inductor calls aten.convolution at run time;
  CUDA-graph capture works because outputs come from the caching allocator and the kernel launches on the
  current stream without synchronising.
- a call dwshim declines (a shape it cannot take or was not measured faster on, or one too small to pay for a
  Python call) goes to the operator's out= overload, the native kernel that the functional overload itself
  runs: exactly what PyTorch would have done.
Alternatives rejected: patching torch.nn.functional.conv2d misses torch.conv2d, nn.functional aliases taken
before the patch and compiled graphs; torch.library.get_kernel (to call the replaced kernel) exists only in
recent torch releases.

Where the installed torch can build C++ extensions for CUDA, install() registers the same operator, and also
aten::convolution_backward (so the gradients of those convolutions run on dwshim's kernels too), in C++ instead
(csrc/torch_hook.cpp, built by torch's cpp_extension once per environment and cached): a call it declines costs a
few checks in C++, not a Python call, and calls declined by either go to the native kernels PyTorch registered.
DWSHIM_HOOK=python keeps the Python registration.
"""
import atexit
import collections
import os
import sys
import warnings

import torch

from . import _device, _library

_DTYPES = {torch.float32: _library.FLOAT, torch.float16: _library.HALF, torch.bfloat16: _library.BFLOAT16}

# Below this many bytes of x plus y, PyTorch keeps the call: routing costs 20-25 us of host time per call (Python
# + ctypes), more than dwshim's kernel saves on small convs. Measured (H100, bench/bench_hook.py, fp32 3x3):
# 6.4 MB 11 us native vs 33 us routed, 51 MB 65 vs 44 us, 154 MB 187 vs 107 us; the threshold sits between.
MIN_ROUTED_BYTES = 32 << 20

stats = collections.Counter()
_registration = None
_cpp_hook = None  # the C++ hook's module where it is the one installed


def installed():
    return _registration is not None


def install():
    """Registers the hook once; returns whether it is active (DWSHIM_DISABLE=1 keeps it off)."""
    global _registration
    if _registration is not None:
        return True
    if os.environ.get("DWSHIM_DISABLE") == "1":
        return False
    if os.environ.get("DWSHIM_STATS"):
        atexit.register(_print_stats)
    if os.environ.get("DWSHIM_HOOK") != "python" and torch.cuda.is_available():
        _registration = _install_native()
        if _registration is not None:
            return True
    registration = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel": that is the point
        registration.impl("_conv_depthwise2d", _conv_depthwise2d_cuda, "CUDA")
    _registration = registration
    return True


def mechanism():
    """"c++" or "python": which registration install() made (None before it made one)."""
    if _registration is None:
        return None
    return "c++" if _cpp_hook is not None else "python"


def _install_native():
    """The C++ hook, built (or found in torch's extension cache) and given libdwshim.so's entry points; None,
    with a line on stderr, where it cannot be built here."""
    global _cpp_hook
    import ctypes

    from torch.utils import cpp_extension

    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc", "torch_hook.cpp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel": that is the point
            major = int(torch.__version__.split(".")[0])
            # The major version selects the C++ warning API (csrc/torch_hook.cpp); torch's extension cache keys
            # builds on the flags, so a changed torch rebuilds.
            module = cpp_extension.load(name="dwshim_torch_hook", sources=[source], with_cuda=True,
                                        extra_cflags=["-O2", "-DDWSHIM_TORCH_MAJOR=%d" % major], verbose=False)
    except Exception as error:  # no compiler or CUDA headers here: the Python registration does the same job
        sys.stderr.write("dwshim: C++ hook not built (%s: %s); using the Python one\n"
                         % (type(error).__name__, str(error).splitlines()[0] if str(error) else ""))
        return None
    lib = _library.load()
    address = [ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for name in (
        "dwshim_conv2d_forward_if_faster", "dwshim_conv2d_backward_data_if_faster",
        "dwshim_conv2d_if_faster_query", "dwshim_conv2d_backward_filter_if_faster")]
    module.configure(*address, MIN_ROUTED_BYTES)
    _cpp_hook = module
    _cpp_hook.entry_addresses = address
    return module


def set_min_routed_bytes(nbytes):
    """Changes MIN_ROUTED_BYTES, in whichever hook is installed (benchmarks of the routed and declined paths)."""
    global MIN_ROUTED_BYTES
    MIN_ROUTED_BYTES = nbytes
    if _cpp_hook is not None:
        _cpp_hook.configure(*_cpp_hook.entry_addresses, nbytes)


def forward_counts():
    """aten::_conv_depthwise2d calls so far: (routed, left to PyTorch)."""
    if _cpp_hook is not None:
        counts = _cpp_hook.counts()
        return counts[0], counts[1]
    routed = stats.get("routed", 0)
    return routed, sum(stats.values()) - routed


def _print_stats():
    routed, left = forward_counts()
    if routed + left == 0 and _cpp_hook is None:
        return
    lines = ["dwshim hook (%s): aten::_conv_depthwise2d calls: %d routed, %d left to PyTorch"
             % (mechanism(), routed, left)]
    lines += ["  %6d  %s" % (count, why) for why, count in sorted(stats.items()) if why != "routed"]
    if _cpp_hook is not None:
        counts = _cpp_hook.counts()
        lines.append("dwshim hook (c++): aten::convolution_backward: %d data gradients and %d filter gradients "
                     "routed, %d calls left (in part) to PyTorch" % (counts[2], counts[3], counts[4]))
    sys.stderr.write("\n".join(lines) + "\n")


def _native(x, weight, kernel_size, bias, stride, padding, dilation):
    out = x.new_empty((0,))
    return torch.ops.aten._conv_depthwise2d.out(x, weight, kernel_size, bias, stride, padding, dilation, out=out)


def _conv_depthwise2d_cuda(x, weight, kernel_size, bias, stride, padding, dilation):
    y, why = _try_dwshim(x, weight, kernel_size, bias, stride, padding, dilation)
    stats[why] += 1
    return y if y is not None else _native(x, weight, kernel_size, bias, stride, padding, dilation)


def _output_size(size, pad, dilation, kernel, stride):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _try_dwshim(x, weight, kernel_size, bias, stride, padding, dilation):
    """dwshim's output and "routed", or None and why not."""
    if x.dtype not in _DTYPES or weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        return None, "data type"
    if x.dim() != 4 or weight.dim() != 4 or weight.shape[1] != 1 or tuple(weight.shape[2:]) != tuple(kernel_size):
        return None, "not a 2-D depthwise filter"
    n, c, h, w = x.shape
    k, _, kh, kw = weight.shape
    if c == 0 or k % c != 0 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        return None, "not a 2-D depthwise filter"
    p = _output_size(h, padding[0], dilation[0], kh, stride[0])
    q = _output_size(w, padding[1], dilation[1], kw, stride[1])
    if p < 1 or q < 1:
        return None, "empty output"
    if (x.numel() + n * k * p * q) * x.element_size() < MIN_ROUTED_BYTES:
        return None, "too small to pay for the call"
    y = torch.empty((n, k, p, q), device=x.device, dtype=x.dtype)  # contiguous, as the native kernel's
    weight = weight.contiguous()
    bias = bias.contiguous() if bias is not None else None
    geometry = _library.Int64x8(kh, kw, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1])
    with _device.current_for(x):
        status = _library.load().dwshim_conv2d_forward_if_faster(
            _DTYPES[x.dtype], _library.Int64x4(*x.shape), _library.Int64x4(*x.stride()), x.data_ptr(),
            weight.data_ptr(), bias.data_ptr() if bias is not None else None, geometry,
            _library.Int64x4(*y.shape), _library.Int64x4(*y.stride()), y.data_ptr(), 1.0, 0.0,
            torch.cuda.current_stream(x.device).cuda_stream)
    if status == _library.OK:
        return y, "routed"
    if status == _library.NOT_FASTER:
        return None, "not measured faster than PyTorch's kernel"
    if status == _library.CANNOT_IMPLEMENT:
        return None, "dwshim's kernel cannot implement it"
    raise RuntimeError("dwshim_conv2d_forward_if_faster failed with status %d" % status)
