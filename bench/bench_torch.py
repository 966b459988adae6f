"""Times depthwise convs as PyTorch runs them against dwshim's kernel called from PyTorch, in one process, with
copy bandwidth. Forward: F.conv2d against dwshim.functional.depthwise_conv2d (ctypes overhead included).
Gradients (--op dgrad,wgrad): PyTorch's aten.convolution_backward for one gradient, with
torch.backends.cudnn.benchmark off (torch_ms) and on (torch_benchmark_ms), against dwshim.functional's
data_gradient / filter_gradient (ctypes overhead included; -1 where dwshim cannot compute it). For fp32 and bf16
NCHW this is PyTorch's own depthwise backward, which no cuDNN call shows to dwshim.

Usage: python3 bench/bench_torch.py [--cases ../shared/bench/cases.csv] [--case kb84] [--op fwd,dgrad,wgrad]
       [--dtype f32,f16,bf16] [--layout nchw,nhwc] [--csv OUT] [--tune]
--tune records each fp32/bf16 NCHW pair of timings (PyTorch's own kernels there) in the tuning cache that decides
the hook's calls on this GPU (README, "Tuning for your GPU"; scripts/dwshim-tune runs it).
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from dwshim import _library  # noqa: E402
from dwshim._timing import median_ms  # noqa: E402
from dwshim.functional import data_gradient, depthwise_conv2d, filter_gradient  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
OPS = ["fwd", "dgrad", "wgrad"]


def copy_bandwidth_gbps():
    a = torch.empty(1 << 28, device="cuda")
    b = torch.empty_like(a)
    ms = median_ms(lambda: b.copy_(a))
    return 2 * a.numel() * 4 / (ms * 1e6)


def read_cases(path):
    cases = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.strip().split(",")
            cases.append((fields[0], [int(v) for v in fields[1:14]]))
    return cases


def record_torch_native(op, x, weight, y, geometry, dwshim_ms, torch_ms):
    """Puts the pair of timings in the tuning cache, for the hook's calls on this problem."""
    (sh, sw), (ph, pw), (dh, dw) = geometry
    kh, kw = weight.shape[2:]
    dtype = _library.FLOAT if x.dtype == torch.float32 else _library.BFLOAT16
    status = _library.load().dwshim_tune_record_torch_native(
        dtype, OPS.index(op), _library.Int64x4(*x.shape), _library.Int64x4(*x.stride()),
        _library.Int64x8(kh, kw, sh, sw, ph, pw, dh, dw), _library.Int64x4(*y.shape), _library.Int64x4(*y.stride()),
        dwshim_ms, torch_ms)
    if status != _library.OK:
        print("tuning: nothing recorded (status %d)" % status, file=sys.stderr)


def time_case(name, op, dtype_name, layout, v, copy_gbps, tune=False):
    n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, mult = v
    dtype = DTYPES[dtype_name]
    fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    x = torch.randn(n, c, h, w, device="cuda", dtype=dtype).contiguous(memory_format=fmt)
    weight = torch.randn(c * mult, 1, kh, kw, device="cuda", dtype=dtype)
    geometry = ((sh, sw), (ph, pw), (dh, dw))
    with torch.no_grad():
        y = F.conv2d(x, weight, None, *geometry, c)
        nbytes = (x.numel() + y.numel() + weight.numel()) * x.element_size()
        if op == "fwd":
            ours = median_ms(lambda: depthwise_conv2d(x, weight, None, *geometry), gpu_only=True)
            theirs = [median_ms(lambda: F.conv2d(x, weight, None, *geometry, c), gpu_only=True)]
        else:
            dy = torch.randn_like(y)
            mask = [op == "dgrad", op == "wgrad", False]
            gradient = data_gradient if op == "dgrad" else filter_gradient
            ours = -1.0
            if gradient(dy, x, weight, *geometry) is not None:
                ours = median_ms(lambda: gradient(dy, x, weight, *geometry), gpu_only=True)
            theirs = []
            for benchmark in (False, True):
                torch.backends.cudnn.benchmark = benchmark
                theirs.append(median_ms(lambda: torch.ops.aten.convolution_backward(
                    dy, x, weight, None, *geometry, False, (0, 0), c, mask), gpu_only=True))
            torch.backends.cudnn.benchmark = False
        if len(theirs) == 1:
            theirs.append(theirs[0])
    if tune and layout == "nchw" and dtype_name in ("f32", "bf16") and ours > 0:
        record_torch_native(op, x, weight, y, geometry, ours, theirs[0])
    pct = 100.0 * nbytes / (ours * 1e6) / copy_gbps if ours > 0 else -1.0
    speedup = min(theirs) / ours if ours > 0 else 0.0
    return (name, op, dtype_name, layout, ours, theirs[0], theirs[1], speedup, pct)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=os.path.join(here, "..", "..", "shared", "bench", "cases.csv"))
    parser.add_argument("--case", default="kb84")
    parser.add_argument("--op", default="fwd")
    parser.add_argument("--dtype", default="f32")
    parser.add_argument("--layout", default="nchw")
    parser.add_argument("--csv")
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    copy_gbps = copy_bandwidth_gbps()
    print("device %s, copy bandwidth %.0f GB/s (read + write), torch %s, cuDNN %s"
          % (torch.cuda.get_device_name(), copy_gbps, torch.__version__, torch.backends.cudnn.version()))
    header = "%-12s %-5s %-5s %-5s %10s %10s %10s %8s %8s" % ("case", "op", "dtype", "layout", "dwshim_ms", "torch_ms",
                                                             "torch_bm_ms", "speedup", "%copyBW")
    print(header)
    rows = []
    csv = open(args.csv, "w") if args.csv else None
    if csv:
        csv.write("case,op,dtype,layout,dwshim_ms,torch_ms,torch_benchmark_ms,speedup,dwshim_pct_copy_bw\n")
    for name, v in read_cases(args.cases):
        if args.case not in ("", "all") and name != args.case:
            continue
        for op in args.op.split(","):
            for dtype_name in args.dtype.split(","):
                for layout in args.layout.split(","):
                    rows.append(time_case(name, op, dtype_name, layout, v, copy_gbps, args.tune))
                    print("%-12s %-5s %-5s %-5s %10.4f %10.4f %10.4f %8.2f %8.1f" % rows[-1])
                    if csv:  # row by row, so that a run cut short keeps what it measured
                        csv.write("%s,%s,%s,%s,%.4f,%.4f,%.4f,%.3f,%.1f\n" % rows[-1])
                        csv.flush()
                    torch.cuda.empty_cache()
    if csv:
        csv.close()


if __name__ == "__main__":
    main()
