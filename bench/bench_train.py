"""Training steps of depthwise-heavy torchvision models (random weights, batch 64, SGD), plain and under
dwshim-run, in separate processes run one after the other: GPU time per step (sum of the CUDA kernels the
profiler records over the timed steps), the losses of every step side by side, and dwshim's routed counts.

Usage: python3 bench/bench_train.py [--models mobilenet_v3_large,efficientnet_b0,convnext_tiny]
       [--mode bf16-channels-last|fp32-nchw] [--steps 20] [--run build/dwshim-run] [--csv OUT]
A child process (--child) trains one mode and prints one JSON line per model.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from dwshim._timing import kernel_ms  # noqa: E402
from dwshim._workloads import torchvision_training  # noqa: E402

MODES = ("bf16-channels-last", "fp32-nchw")


def train(name, mode, steps):
    import torch

    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = False
    channels_last = mode == "bf16-channels-last"
    _, _, step = torchvision_training(name, 64, channels_last, bf16=channels_last)

    warmup = [step().item() for _ in range(3)]
    torch.cuda.synchronize()
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        losses = [step() for _ in range(steps)]
        torch.cuda.synchronize()
    return {"model": name, "mode": mode, "gpu_ms_per_step": kernel_ms(prof) / steps,
            "dwshim_ms_per_step": kernel_ms(prof, "dwshim") / steps, "losses": warmup + [l.item() for l in losses]}


def compare_losses(plain, ours):
    """The largest relative difference between two runs' losses, and both curves as lines to print."""
    diff = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(plain, ours))
    return diff, ["  losses plain:  " + " ".join("%.4f" % v for v in plain),
                  "  losses dwshim: " + " ".join("%.4f" % v for v in ours)]


def write_csv(path, header, row_format, rows):
    with open(path, "w") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(row_format % row + "\n")


def child(args):
    for name in args.models.split(","):
        print(json.dumps(train(name, args.mode, args.steps)), flush=True)


def run(args, preloaded):
    command = [sys.executable, os.path.abspath(__file__), "--child", "--models", args.models, "--mode", args.mode,
               "--steps", str(args.steps)]
    if preloaded:
        command = [args.run, "--stats", "--"] + command
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(command), done.stderr[-3000:]))
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    summary = [line for line in done.stderr.splitlines() if line.startswith("dwshim summary")]
    return results, summary


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mobilenet_v3_large,efficientnet_b0,convnext_tiny")
    parser.add_argument("--mode", default=MODES[0], choices=MODES)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--run", default=os.path.join(here, "..", "build", "dwshim-run"))
    parser.add_argument("--csv")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plain, _ = run(args, preloaded=False)
    ours, summary = run(args, preloaded=True)
    rows = []
    print("%-20s %-20s %12s %12s %8s %14s %16s" % ("model", "mode", "plain_ms", "dwshim_ms", "change",
                                                    "dwshim_kern_ms", "max_loss_rel_diff"))
    for p, o in zip(plain, ours):
        diff, curves = compare_losses(p["losses"], o["losses"])
        change = o["gpu_ms_per_step"] / p["gpu_ms_per_step"] - 1.0
        rows.append((p["model"], p["mode"], p["gpu_ms_per_step"], o["gpu_ms_per_step"], change,
                     o["dwshim_ms_per_step"], diff))
        print("%-20s %-20s %12.3f %12.3f %+7.1f%% %14.3f %16.2e" % (rows[-1][:4] + (100 * change,) + rows[-1][5:]))
        print("\n".join(curves))
    print("\n".join(summary))
    if args.csv:
        write_csv(args.csv, "model,mode,plain_gpu_ms_per_step,dwshim_gpu_ms_per_step,change,"
                  "dwshim_kernel_ms_per_step,max_loss_rel_diff", "%s,%s,%.4f,%.4f,%.4f,%.4f,%.3e", rows)


if __name__ == "__main__":
    main()
