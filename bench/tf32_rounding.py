"""Which rounding makes an emulation match PyTorch's default fp32 1x1 conv (KernelBench 86's pointwise layer)?

PyTorch lets cuDNN use TF32 for fp32 convolutions by default, so Model's pointwise output is not the exact fp32
answer. This runs the layer as Model does and compares it with float64 sums of operands rounded to TF32 four
ways (not at all, to nearest with ties away from zero as cvt.rna, to nearest even, toward zero), printing each
one's largest difference and whether it passes KernelBench's allclose (atol = rtol = 1e-4).

    python3 bench/tf32_rounding.py [--batch 2]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import kernelbench_problems  # noqa: E402


def _bits(t):
    return t.contiguous().view(torch.int32)


def _round(t, mode):
    """t rounded to TF32 (10 mantissa bits) in the given mode, as fp32; infinities and NaNs are not expected."""
    if mode == "exact":
        return t
    bits = _bits(t)
    if mode == "nearest, ties away":
        bits = bits + 0x1000
    elif mode == "nearest even":
        bits = bits + 0xFFF + ((bits >> 13) & 1)
    return (bits & ~0x1FFF).view(torch.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    model_class, init_inputs, shape = kernelbench_problems.PROBLEMS[86]
    torch.manual_seed(42)
    model = model_class(*init_inputs).cuda()
    torch.manual_seed(42)
    x = torch.rand(args.batch, *shape[1:], device="cuda")
    print("torch %s, cuDNN %s, allow_tf32 %s, %s" % (torch.__version__, torch.backends.cudnn.version(),
                                                    torch.backends.cudnn.allow_tf32, torch.cuda.get_device_name()))
    with torch.no_grad():
        t = model.depthwise(x)
        y = model.pointwise(t)
        w = model.pointwise.weight[:, :, 0, 0]
        for mode in ("exact", "nearest, ties away", "nearest even", "toward zero"):
            reference = torch.einsum("oc,ncp->nop", _round(w, mode).double(),
                                     _round(t, mode).double().flatten(2)).view(y.shape)
            difference = (y.double() - reference).abs().max().item()
            passes = torch.allclose(y, reference.float(), atol=1e-4, rtol=1e-4)
            print("%-20s largest difference %.3e, allclose(1e-4): %s" % (mode, difference, passes))


if __name__ == "__main__":
    main()
