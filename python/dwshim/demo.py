"""dwshim-demo: what dwshim does for a PyTorch program, on this GPU, in about a minute.

    dwshim-demo [--model mobilenet_v3_large] [--dtype fp32|bf16] [--layout nchw|nhwc] [--batch 64]
                [--steps 10] [--png dwshim-demo.png]

1. KernelBench level 1 problem 84 (a 64 x 128 x 256 x 512 depthwise 3x3 conv): its Model plain, the same Model
   under dwshim-run, and dwshim.kb84.ModelNew, each timed with CUDA events.
2. A depthwise-heavy torchvision model (random weights): inference and one training step, plain and under
   dwshim-run, GPU time from the profiler.
3. What dwshim-run routed and forwarded, a short table, and a PNG plot (where matplotlib is installed).
Each measurement runs in a child process (python -m dwshim.demo --child STAGE), plain or under dwshim-run.
"""
import argparse
import json
import subprocess
import sys

from . import _timing, _workloads

STAGES = ("kb84", "kb84-modelnew", "model")


def _profiled_ms(fn, steps):
    """GPU time of fn per call: the CUDA kernels the profiler records over `steps` calls."""
    import torch

    fn()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            fn()
        torch.cuda.synchronize()
    return _timing.kernel_ms(prof) / steps


def _child(args):
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    if args.child in ("kb84", "kb84-modelnew"):
        conv = nn.Conv2d(128, 128, 3, groups=128, bias=False).cuda()
        if args.child == "kb84-modelnew":
            from dwshim.kb84 import ModelNew

            model = ModelNew(128, 128, 3).cuda()
            model.load_state_dict({"conv2d.weight": conv.weight.detach()})
        else:
            model = conv
        x = torch.randn(64, 128, 256, 512, device="cuda")
        with torch.no_grad():
            return {"ms": _timing.median_ms(lambda: model(x))}
    low = args.dtype == "bf16"
    model, images, train = _workloads.torchvision_training(args.model, args.batch, args.layout == "nhwc", low)

    def infer():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=low):
            model(images)

    model.eval()
    inference = _profiled_ms(infer, args.steps)
    model.train()
    training = _profiled_ms(train, args.steps)
    return {"inference_ms": inference, "training_ms": training}


def _run_child(args, stage, preloaded):
    command = [sys.executable, "-m", "dwshim.demo", "--child", stage, "--model", args.model, "--dtype", args.dtype,
               "--layout", args.layout, "--batch", str(args.batch), "--steps", str(args.steps)]
    if preloaded:  # dwshim-run itself says so when it finds no libdwshim.so
        command = [sys.executable, "-m", "dwshim.run", "--stats", "--"] + command
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if done.returncode != 0:
        sys.exit("dwshim-demo: %s failed:\n%s" % (stage, done.stderr[-2000:]))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["summary"] = [line for line in done.stderr.splitlines() if line.startswith("dwshim summary")]
    return result


def _plot(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [r[0] for r in rows]
    ax.barh(labels, [r[1] / r[2] for r in rows])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over plain PyTorch")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print("plot: %s" % path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dwshim-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenet_v3_large")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--layout", default="nchw", choices=("nchw", "nhwc"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--png", default="dwshim-demo.png")
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    try:
        import torch
    except ImportError:
        sys.exit("dwshim-demo needs PyTorch")
    if not torch.cuda.is_available():
        sys.exit("dwshim-demo needs a CUDA GPU (torch.cuda.is_available() is False)")
    print("dwshim-demo on %s" % torch.cuda.get_device_name())
    print("[1/5] KernelBench 84, plain PyTorch ...", flush=True)
    kb_plain = _run_child(args, "kb84", preloaded=False)["ms"]
    print("[2/5] KernelBench 84 under dwshim-run ...", flush=True)
    kb_dwshim = _run_child(args, "kb84", preloaded=True)["ms"]
    print("[3/5] KernelBench 84, dwshim.kb84.ModelNew ...", flush=True)
    kb_new = _run_child(args, "kb84-modelnew", preloaded=False)["ms"]
    what = "%s %s %s batch %d" % (args.model, args.dtype, args.layout, args.batch)
    print("[4/5] %s, plain PyTorch ..." % what, flush=True)
    plain = _run_child(args, "model", preloaded=False)
    print("[5/5] %s under dwshim-run ..." % what, flush=True)
    ours = _run_child(args, "model", preloaded=True)
    rows = [("KB84 Model under dwshim-run", kb_plain, kb_dwshim), ("KB84 ModelNew", kb_plain, kb_new),
            ("%s inference" % args.model, plain["inference_ms"], ours["inference_ms"]),
            ("%s training step" % args.model, plain["training_ms"], ours["training_ms"])]
    print("\n%-40s %12s %12s %9s" % ("", "plain ms", "dwshim ms", "speed-up"))
    for name, base, new in rows:
        print("%-40s %12.3f %12.3f %8.2fx" % (name, base, new, base / new))
    print("\nunder dwshim-run (%s):" % what)
    for line in ours["summary"]:
        print("  " + line[len("dwshim summary: "):])
    _plot(rows, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
