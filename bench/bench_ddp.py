"""DDP training of a depthwise-heavy torchvision model with NCCL, one process per GPU, plain and under
`dwshim-run --stats`: per-rank loss curves side by side, per-rank routed counts, GPU time per step (profiler)
and wall time per step.

Usage: python3 bench/bench_ddp.py [--gpus N] [--model mobilenet_v3_large] [--mode bf16-channels-last|fp32-nchw]
       [--steps 20] [--run build/dwshim-run] [--csv OUT]
The launcher starts `torchrun --standalone --nproc_per_node N` twice, plain and then under dwshim-run, with
NVLink multicast off (NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1, NVSHMEM_DISABLE_NVLS=1); each rank
(--worker) trains on its own random batch and prints one JSON line.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
from dwshim._timing import kernel_ms  # noqa: E402
from dwshim._workloads import torchvision_training  # noqa: E402
from bench_train import compare_losses, write_csv  # noqa: E402  (this script's folder is on sys.path)

MODES = ("bf16-channels-last", "fp32-nchw")
NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def routed_in_this_process():
    """Calls dwshim routed in this rank (cuDNN calls and hook calls), or None without the preload."""
    if "dwshim" not in os.environ.get("LD_PRELOAD", ""):
        return None
    from dwshim import _library

    return _library.load().dwshim_decision_count(0)


def worker(args):
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl")
    torch.manual_seed(rank)  # each rank its own batch; DDP starts every rank from rank 0's weights
    torch.backends.cudnn.benchmark = False
    channels_last = args.mode == "bf16-channels-last"

    def wrap(model):
        return DistributedDataParallel(model, device_ids=[local_rank])

    _, _, step = torchvision_training(args.model, args.batch, channels_last, bf16=channels_last, wrap=wrap)
    warmup = [step().item() for _ in range(3)]
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        losses = [step() for _ in range(args.steps)]
        torch.cuda.synchronize()
    wall = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
    wall.sort()
    print(json.dumps({"rank": rank, "gpu_ms_per_step": kernel_ms(prof) / args.steps,
                      "dwshim_ms_per_step": kernel_ms(prof, "dwshim") / args.steps,
                      "wall_ms_per_step": 1000.0 * wall[len(wall) // 2],
                      "losses": warmup + [loss.item() for loss in losses], "routed": routed_in_this_process()}),
          flush=True)
    dist.destroy_process_group()


def launch(args, preloaded):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.gpus),
               os.path.abspath(__file__), "--worker", "--model", args.model, "--mode", args.mode,
               "--steps", str(args.steps), "--batch", str(args.batch)]
    if preloaded:
        command = [args.run, "--stats", "--"] + command
    done = subprocess.run(command, env=dict(os.environ, **NO_MULTICAST), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if done.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(command), done.stderr[-3000:]))
    ranks = sorted((json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")),
                   key=lambda r: r["rank"])
    if len(ranks) != args.gpus:
        sys.exit("expected %d ranks' results, got %d:\n%s" % (args.gpus, len(ranks), done.stdout[-3000:]))
    return ranks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpus", type=int, default=2)
    parser.add_argument("--model", default="mobilenet_v3_large")
    parser.add_argument("--mode", default=MODES[0], choices=MODES)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64, help="per rank")
    parser.add_argument("--run", default=os.path.join(HERE, "..", "build", "dwshim-run"))
    parser.add_argument("--csv")
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    plain = launch(args, preloaded=False)
    ours = launch(args, preloaded=True)
    rows = []
    print("%-5s %12s %12s %8s %12s %12s %8s %16s" % ("rank", "plain_gpu", "dwshim_gpu", "change", "plain_wall",
                                                     "dwshim_wall", "routed", "max_loss_rel_diff"))
    for p, o in zip(plain, ours):
        diff, curves = compare_losses(p["losses"], o["losses"])
        change = o["gpu_ms_per_step"] / p["gpu_ms_per_step"] - 1.0
        rows.append((p["rank"], args.model, args.mode, p["gpu_ms_per_step"], o["gpu_ms_per_step"],
                     p["wall_ms_per_step"], o["wall_ms_per_step"], o["routed"], diff))
        print("%-5d %12.3f %12.3f %+7.1f%% %12.3f %12.3f %8d %16.2e" % (
            p["rank"], p["gpu_ms_per_step"], o["gpu_ms_per_step"], 100 * change, p["wall_ms_per_step"],
            o["wall_ms_per_step"], o["routed"], diff))
        print("\n".join(curves))
    if args.csv:
        write_csv(args.csv, "rank,model,mode,plain_gpu_ms_per_step,dwshim_gpu_ms_per_step,plain_wall_ms_per_step,"
                  "dwshim_wall_ms_per_step,routed,max_loss_rel_diff", "%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%d,%.3e", rows)


if __name__ == "__main__":
    main()
