#!/usr/bin/env python3
"""Writes kernelbench/level1/*.py: one self-contained KernelBench submission per depthwise problem of level 1,
its CUDA source inline (compiled by torch.utils.cpp_extension.load_inline), generated from dwshim's own kernel
sources so that every kernel has one source of truth.

    python3 scripts/make_kernelbench.py            # (re)write the files
    python3 scripts/make_kernelbench.py --check    # fail if a file is out of date or breaks KernelBench's rules
    python3 scripts/make_kernelbench.py --kernels-only OUT.cu   # the kernel source alone (compile check)

The CUDA source is the forward dispatch (kernels/forward/forward.cu) and every kernel file it includes (but the
2-byte-only tensor-core ones), each header once, in fp32 only: lines and blocks of the 2-byte types are left out
(KernelBench reads any fp32 -> fp16 conversion in an fp32 problem as a precision downgrade), then
kernelbench/binding.cu; for 86 (depthwise, then a 1x1 conv) also kernelbench/pointwise_conv.cu,
kernelbench/separable_conv.cu (the two fused) and kernelbench/binding_pointwise.cu.
"""
import argparse
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT_DIR = os.path.join(ROOT, "kernelbench", "level1")
sys.path.insert(0, os.path.join(ROOT, "kernelbench"))

import static_rules  # noqa: E402

_INCLUDE = re.compile(r'#include "([^"]+)"')
_TWO_BYTE = re.compile(r"DType::k(Half|BFloat16)\b")
# Kernel files with no fp32 path: the dispatch reaches them only from its 2-byte instantiations (in branches of an
# "if constexpr" on D), which an fp32-only source never instantiates, so only their headers go in.
_TWO_BYTE_ONLY = {"kernels/forward/toeplitz_2byte.cu", "kernels/forward/nhwc_mma.cu"}


def _without_two_byte_types(lines):
    """Drops the 2-byte DTypeTraits specializations, switch cases and explicit instantiations."""
    kept, skipping_block, skip_next = [], False, False
    for i, line in enumerate(lines):
        if skipping_block:
            skipping_block = not line.startswith("};")
            continue
        if skip_next:
            skip_next = False
            continue
        if line.startswith("template <>") and i + 1 < len(lines) and _TWO_BYTE.search(lines[i + 1]):
            skipping_block = True
            continue
        if _TWO_BYTE.search(line):
            # A dropped line that opens or closes a block (an "else if constexpr (D == DType::kBFloat16) {") would
            # splice its body into the fp32 code: 2-byte code belongs in the DTypeTraits specializations.
            if "{" in line or "}" in line:
                raise ValueError("cannot drop a line that opens or closes a block: " + line.strip())
            # "case DType::kHalf:" is followed by its return statement.
            skip_next = line.strip().startswith("case ")
            continue
        kept.append(line)
    return kept


def kernel_source(extra=()):
    """The forward dispatch and the kernel files it includes, then the files in extra (their includes resolved
    the same way), as one fp32-only translation unit."""
    seen, lines = set(), []

    def emit(path):
        if path in seen:
            return
        seen.add(path)
        with open(path) as f:
            for line in f.read().split("\n"):
                match = _INCLUDE.match(line)
                if match:
                    emit(os.path.join(ROOT, match.group(1)))
                elif not line.startswith("#pragma once"):
                    lines.append(line)

    forward = os.path.join(ROOT, "kernels", "forward", "forward.cu")
    emit(forward)
    with open(forward) as f:
        for header in _INCLUDE.findall(f.read()):
            source = header[: -len(".h")] + ".cu"
            if header.endswith(".h") and os.path.exists(os.path.join(ROOT, source)) and source not in _TWO_BYTE_ONLY:
                emit(os.path.join(ROOT, source))
    for path in extra:
        emit(path)
    text = "\n".join(_without_two_byte_types(lines))
    return re.sub(r"\n{3,}", "\n\n", text)


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def cuda_source(pointwise=False):
    """The depthwise kernels and their binding; with pointwise, problem 86's pointwise kernel and binding too."""
    extra = [os.path.join(ROOT, "kernelbench", name) for name in ("pointwise_conv.cu", "separable_conv.cu")
             if pointwise]
    source = kernel_source(extra) + "\n" + _read("kernelbench", "binding.cu")
    if pointwise:
        source += "\n" + _read("kernelbench", "binding_pointwise.cu")
    return source


_DECLARATION = ("torch::Tensor depthwise_conv2d_forward(torch::Tensor x, torch::Tensor weight, torch::Tensor bias, "
                "bool has_bias, int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dil_h, "
                "int64_t dil_w);")
_POINTWISE_DECLARATION = ("torch::Tensor pointwise_conv2d_forward(torch::Tensor x, torch::Tensor weight, "
                          "torch::Tensor bias, bool has_bias, bool allow_tf32); "
                          "torch::Tensor separable_conv2d_forward(torch::Tensor x, torch::Tensor dw_weight, "
                          "torch::Tensor dw_bias, bool has_dw_bias, int64_t stride_h, int64_t stride_w, "
                          "int64_t pad_h, int64_t pad_w, int64_t dil_h, int64_t dil_w, torch::Tensor pw_weight, "
                          "torch::Tensor pw_bias, bool has_pw_bias, bool allow_tf32);")

_HEADER = '''"""KernelBench level 1 problem {number} ({title}) on dwshim's depthwise kernels.

Generated by scripts/make_kernelbench.py from dwshim's kernels/ (github: dwshim); do not edit. ModelNew takes the
problem's Model constructor arguments and draws its parameters exactly as Model's nn.Conv2d does, so the two
agree under the same seed.
"""
import math

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

CUDA_SOURCE = r"""
{cuda}
"""

CPP_SOURCE = "{declaration}"

# The kernels need C++17, PyTorch's default for extensions from 2.1 on (1.13's is C++14); from 2.15 on its headers
# need C++20, which it adds only where no -std flag is given.
_TORCH_VERSION = tuple(int(part) for part in torch.__version__.split(".")[:2])
_STANDARD = [] if _TORCH_VERSION >= (2, 1) else ["-std=c++17"]
_dwshim = load_inline(name="dwshim_kernelbench_{number}", cpp_sources=CPP_SOURCE, cuda_sources=CUDA_SOURCE,
                      functions={functions}, extra_cuda_cflags=["-O3"] + _STANDARD)


class DepthwiseConv2d(nn.Module):
    """The parameters of nn.Conv2d(channels, out_channels, kernel, groups=channels), drawn in its order."""

    def __init__(self, out_channels, kernel, stride, padding, dilation, bias):
        super(DepthwiseConv2d, self).__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, 1, kernel[0], kernel[1]))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(kernel[0] * kernel[1])
            nn.init.uniform_(self.bias, -bound, bound)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x):
        has_bias = self.bias is not None
        return _dwshim.depthwise_conv2d_forward(x, self.weight, self.bias if has_bias else self.weight, has_bias,
                                                self.stride[0], self.stride[1], self.padding[0], self.padding[1],
                                                self.dilation[0], self.dilation[1])

'''

_POINTWISE = '''
class PointwiseConv2d(nn.Module):
    """The parameters of nn.Conv2d(in_channels, out_channels, 1), drawn in its order. Computes what that layer
    computes: under PyTorch's defaults, cuDNN with TF32 allowed, so operands rounded to TF32 on GPUs that have TF32
    tensor cores, fp32 sums."""

    def __init__(self, in_channels, out_channels, bias):
        super(PointwiseConv2d, self).__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(in_channels)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        has_bias = self.bias is not None
        return _dwshim.pointwise_conv2d_forward(x, self.weight, self.bias if has_bias else self.weight, has_bias,
                                                torch.backends.cudnn.allow_tf32)

'''

_MODEL = '''
class ModelNew(nn.Module):
    def __init__(self, {signature}):
        super(ModelNew, self).__init__()
{comment}        self.conv2d = DepthwiseConv2d({conv_args})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(x)
'''

_SEPARABLE_MODEL = '''
class ModelNew(nn.Module):
    def __init__(self, {signature}):
        super(ModelNew, self).__init__()
        self.depthwise = DepthwiseConv2d({conv_args})
        self.pointwise = PointwiseConv2d(in_channels, out_channels, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Both convs in one kernel where it applies (the depthwise output never leaves the chip), else in turn.
        dw, pw = self.depthwise, self.pointwise
        return _dwshim.separable_conv2d_forward(x, dw.weight, dw.bias if dw.bias is not None else dw.weight,
                                                dw.bias is not None, dw.stride[0], dw.stride[1], dw.padding[0],
                                                dw.padding[1], dw.dilation[0], dw.dilation[1], pw.weight,
                                                pw.bias if pw.bias is not None else pw.weight, pw.bias is not None,
                                                torch.backends.cudnn.allow_tf32)
'''

# Per problem: its KernelBench file name, title, Model's constructor signature and the DepthwiseConv2d arguments
# (out channels, kernel, stride, padding, dilation, bias) that Model's nn.Conv2d gets.
PROBLEMS = {
    82: dict(name="82_conv_depthwise_2D_square_input_square_kernel",
             title="depthwise conv2d, square input, square kernel",
             signature="in_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = False",
             conv_args="in_channels, (kernel_size, kernel_size), (stride, stride), (padding, padding),\n"
                       "                                      (1, 1), bias"),
    83: dict(name="83_conv_depthwise_2D_square_input_asymmetric_kernel",
             title="depthwise conv2d, square input, kernel k x 1",
             signature="in_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,\n"
                       "                 bias: bool = False",
             conv_args="in_channels, (kernel_size, 1), (stride, stride), (padding, padding),\n"
                       "                                      (dilation, dilation), bias"),
    84: dict(name="84_conv_depthwise_2D_asymmetric_input_square_kernel",
             title="depthwise conv2d, asymmetric input, square kernel",
             signature="in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,\n"
                       "                 bias: bool = False",
             conv_args="out_channels, (kernel_size, kernel_size), (stride, stride), (padding, padding),\n"
                       "                                      (1, 1), bias"),
    85: dict(name="85_conv_depthwise_2D_asymmetric_input_asymmetric_kernel",
             title="depthwise conv2d, asymmetric input, asymmetric kernel",
             signature="in_channels: int, out_channels: int, kernel_size_h: int, kernel_size_w: int, "
                       "stride_h: int = 1,\n                 stride_w: int = 1, padding_h: int = 0, "
                       "padding_w: int = 0, dilation_h: int = 1, dilation_w: int = 1,\n"
                       "                 groups: int = 1, bias: bool = False",
             comment="        # As Model: in_channels filters, one per channel, whatever out_channels and groups "
                     "say.\n",
             conv_args="in_channels, (kernel_size_h, kernel_size_w), (stride_h, stride_w),\n"
                       "                                      (padding_h, padding_w), (dilation_h, dilation_w), bias"),
    86: dict(name="86_conv_depthwise_separable_2D",
             title="depthwise-separable conv2d",
             signature="in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,\n"
                       "                 dilation: int = 1, bias: bool = False",
             conv_args="in_channels, (kernel_size, kernel_size), (stride, stride),\n"
                       "                                         (padding, padding), (dilation, dilation), bias",
             pointwise=True),
}


def render(number):
    problem = PROBLEMS[number]
    pointwise = problem.get("pointwise", False)
    cuda = cuda_source(pointwise)
    assert "\"\"\"" not in cuda, "the CUDA source goes into a triple-quoted string"
    functions = ["depthwise_conv2d_forward"] + (["pointwise_conv2d_forward", "separable_conv2d_forward"]
                                                if pointwise else [])
    declaration = _DECLARATION + (" " + _POINTWISE_DECLARATION if pointwise else "")
    header = _HEADER.format(number=number, title=problem["title"], cuda=cuda.strip("\n"), declaration=declaration,
                            functions="[" + (",\n" + " " * 33).join('"%s"' % f for f in functions) + "]")
    if pointwise:
        return header + _POINTWISE + _SEPARABLE_MODEL.format(signature=problem["signature"],
                                                             conv_args=problem["conv_args"])
    return header + _MODEL.format(signature=problem["signature"], comment=problem.get("comment", ""),
                                  conv_args=problem["conv_args"])


def path_of(number):
    return os.path.join(OUT_DIR, PROBLEMS[number]["name"] + ".py")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--kernels-only")
    args = parser.parse_args(argv)
    if args.kernels_only:
        with open(args.kernels_only, "w") as f:
            f.write(kernel_source())
        return 0
    failures = []
    for number in sorted(PROBLEMS):
        text, path = render(number), path_of(number)
        if args.check:
            current = open(path).read() if os.path.exists(path) else None
            if current != text:
                failures.append("%s is out of date: run scripts/make_kernelbench.py" % os.path.relpath(path, ROOT))
        else:
            os.makedirs(OUT_DIR, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        errors, warnings = static_rules.check(text)
        failures += ["%s: KernelBench %s: %s" % (os.path.relpath(path, ROOT), kind, what)
                     for kind, found in (("error", errors), ("warning", warnings)) for what in found]
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
