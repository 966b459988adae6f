"""Routing measured on first sight through PyTorch (README, "Tuning for your GPU"): channels-last depthwise convs
(cuDNN's backend API), forward and both gradients, in fp32 and bf16, run twice under dwshim-run with
DWSHIM_TUNE=measure and one fresh cache: the first process measures each problem, the second reads the file.
Prints per shape the relative errors of y, dx and dw against float64 and the time of the first step and of later
steps, then the measurements dwshim logged and the cache file.

    DWSHIM_RUN=build/dwshim-run python3 bench/bench_first_sight.py
"""
import collections
import os
import subprocess
import sys
import tempfile

CHILD = r'''
import time, torch, torch.nn.functional as F
torch.manual_seed(0)
shapes = [(32, 144, 56, 56, 3, 1), (32, 240, 28, 28, 5, 1), (16, 96, 112, 112, 3, 2), (32, 384, 14, 14, 7, 1)]
for dtype in (torch.float32, torch.bfloat16):
    for n, c, h, w, k, s in shapes:
        x = torch.randn(n, c, h, w, device="cuda").to(memory_format=torch.channels_last)
        wt = torch.randn(c, 1, k, k, device="cuda") * 0.2
        xd, wd = x.detach().to(dtype).requires_grad_(), wt.detach().to(dtype).requires_grad_()
        conv = lambda: F.conv2d(xd, wd, stride=s, padding=k // 2, groups=c)
        start = time.perf_counter()
        y = conv()
        dy = torch.randn_like(y)
        y.backward(dy)
        torch.cuda.synchronize()
        first_ms = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        for _ in range(3):
            conv().backward(dy)
        torch.cuda.synchronize()
        later_ms = (time.perf_counter() - start) * 1e3 / 3
        x64 = x.detach().double().cpu().requires_grad_()
        w64 = wt.detach().double().cpu().requires_grad_()
        y64 = F.conv2d(x64, w64, stride=s, padding=k // 2, groups=c)
        y64.backward(dy.double().cpu())
        xd.grad = None
        wd.grad = None
        y = conv()
        y.backward(dy)
        err = lambda a, b: ((a.double().cpu() - b).norm() / b.norm()).item()
        print("%s %s y %.2e dx %.2e dw %.2e first %.2f ms later %.2f ms" % (dtype, (n, c, h, w, k, s),
              err(y, y64), err(xd.grad, x64.grad), err(wd.grad, w64.grad), first_ms, later_ms), flush=True)
'''


def main():
    run = os.environ.get("DWSHIM_RUN", "build/dwshim-run")
    cache = os.path.join(tempfile.mkdtemp(), "routes.csv")
    for label in ("measuring", "cached"):
        env = dict(os.environ, DWSHIM_TUNE="measure", DWSHIM_TUNE_CACHE=cache, DWSHIM_LOG="1", DWSHIM_STATS="1")
        env.pop("DWSHIM_ROUTE", None)
        done = subprocess.run([run, sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
        print("== %s rc %d" % (label, done.returncode))
        print(done.stdout)
        for line in done.stderr.splitlines():
            if "on first sight" in line or "summary" in line or "rror" in line:
                print(line)
        kinds = collections.Counter(line.split("[")[0][:150] for line in done.stderr.splitlines()
                                    if "cudnnBackendExecute" in line)
        for kind, count in kinds.most_common():
            print(count, kind)
    print("== cache file")
    print(open(cache).read() if os.path.exists(cache) else "(none)")


if __name__ == "__main__":
    main()
