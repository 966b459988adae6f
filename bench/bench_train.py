"""Training steps of depthwise-heavy torchvision models (random weights, batch 64, SGD), plain and under
dwshim-run, in separate processes, interleaved (plain, dwshim, plain, dwshim, ... for --rounds rounds): GPU time
per step (sum of the CUDA kernels the profiler records over the timed steps; the figure to compare), wall time
per step of as many steps again without the profiler (noisy between processes on a shared machine: the rounds'
median is reported), the losses of every step side by side with the largest relative difference from the first
plain run, for dwshim's runs and for the later plain runs (PyTorch's own run-to-run difference), and dwshim's
routed counts.

Usage: python3 bench/bench_train.py [--models mobilenet_v3_large,efficientnet_b0,convnext_tiny,mobilenet_v2]
       [--mode bf16-channels-last|bf16-nchw|fp32-nchw] [--steps 20] [--rounds 2] [--run build/dwshim-run]
       [--csv OUT] [--losses-csv OUT] [--deterministic]
--deterministic asks PyTorch and cuDNN for deterministic algorithms (cudnn.deterministic and
torch.use_deterministic_algorithms; dwshim's kernels are deterministic): plain runs then repeat their losses, so
the loss comparison shows dwshim's own difference rather than cuDNN's nondeterministic dense convolutions
(efficientnet_b0's fp32 plain runs differ by 6.4e-2 without it). Its GPU times are those of the deterministic
algorithms, not the figure to compare.
A child process (--child) trains one mode and prints one JSON line per model.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from dwshim._timing import kernel_ms  # noqa: E402
from dwshim._workloads import torchvision_training  # noqa: E402

MODES = ("bf16-channels-last", "bf16-nchw", "fp32-nchw")


def train(name, mode, steps, deterministic):
    import torch

    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = False
    if deterministic:
        torch.backends.cudnn.deterministic = True
        # warn_only: ops without a deterministic kernel (adaptive pooling's backward) warn instead of failing.
        torch.use_deterministic_algorithms(True, warn_only=True)
    _, _, step = torchvision_training(name, 64, mode.endswith("channels-last"), bf16=mode.startswith("bf16"))

    warmup = [step().item() for _ in range(3)]
    torch.cuda.synchronize()
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        losses = [step() for _ in range(steps)]
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return {"model": name, "mode": mode, "gpu_ms_per_step": kernel_ms(prof) / steps,
            "wall_ms_per_step": 1e3 * (time.perf_counter() - start) / steps,
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
    if args.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's condition for determinism
    for name in args.models.split(","):
        print(json.dumps(train(name, args.mode, args.steps, args.deterministic)), flush=True)


def run(args, preloaded):
    command = [sys.executable, os.path.abspath(__file__), "--child", "--models", args.models, "--mode", args.mode,
               "--steps", str(args.steps)] + (["--deterministic"] if args.deterministic else [])
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
    parser.add_argument("--models", default="mobilenet_v3_large,efficientnet_b0,convnext_tiny,mobilenet_v2")
    parser.add_argument("--mode", default=MODES[0], choices=MODES)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--run", default=os.path.join(here, "..", "build", "dwshim-run"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--csv")
    parser.add_argument("--losses-csv")
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plain_rounds, our_rounds = [], []
    for _ in range(args.rounds):
        plain_rounds.append(run(args, preloaded=False)[0])
        ours, summary = run(args, preloaded=True)
        our_rounds.append(ours)
    rows, loss_rows = [], []
    print("%-20s %-18s %9s %9s %8s %10s %10s %8s %9s %10s %10s" % (
        "model", "mode", "plain_ms", "dwshim_ms", "change", "plain_wall", "dwshim_wall", "change", "dw_kern",
        "loss_diff", "plain_diff"))
    for i, p in enumerate(plain_rounds[0]):
        o = our_rounds[0][i]
        gpu = [statistics.median(r[i]["gpu_ms_per_step"] for r in rounds) for rounds in (plain_rounds, our_rounds)]
        wall = [statistics.median(r[i]["wall_ms_per_step"] for r in rounds) for rounds in (plain_rounds, our_rounds)]
        # Losses against the first plain run: dwshim's rounds, and the later plain rounds (PyTorch's own
        # run-to-run difference, the noise dwshim's is to be read against; 0 with one round).
        diff = max(compare_losses(p["losses"], r[i]["losses"])[0] for r in our_rounds)
        noise = max([0.0] + [compare_losses(p["losses"], r[i]["losses"])[0] for r in plain_rounds[1:]])
        rows.append((p["model"], p["mode"], gpu[0], gpu[1], gpu[1] / gpu[0] - 1.0, wall[0], wall[1],
                     wall[1] / wall[0] - 1.0, o["dwshim_ms_per_step"], diff, noise))
        print("%-20s %-18s %9.3f %9.3f %+7.1f%% %10.3f %10.3f %+7.1f%% %9.3f %10.2e %10.2e" % (
            rows[-1][:4] + (100 * rows[-1][4],) + rows[-1][5:7] + (100 * rows[-1][7],) + rows[-1][8:]))
        print("\n".join(compare_losses(p["losses"], o["losses"])[1]))
        loss_rows += [(p["model"], p["mode"], step, a, b) for step, (a, b) in enumerate(zip(p["losses"], o["losses"]))]
    print("\n".join(summary))
    if args.csv:
        write_csv(args.csv, "model,mode,plain_gpu_ms_per_step,dwshim_gpu_ms_per_step,gpu_change,plain_wall_ms_per_step,"
                  "dwshim_wall_ms_per_step,wall_change,dwshim_kernel_ms_per_step,max_loss_rel_diff,"
                  "plain_rounds_max_loss_rel_diff", "%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.3e,%.3e", rows)
    if args.losses_csv:
        write_csv(args.losses_csv, "model,mode,step,plain_loss,dwshim_loss", "%s,%s,%d,%.6f,%.6f", loss_rows)

if __name__ == "__main__":
    main()
