"""Where a model's depthwise time goes: per model of bench/models.csv (the note names the models and how many
layers of each shape they have), per layer and direction, PyTorch's plan (bench_torch.py CSVs) against dwshim's
kernel (the fastest of its times in bench_cudnn.py CSVs or bench_torch.py's dwshim_ms), times the layer count;
the model's total with PyTorch alone, with the faster of the two per layer, and the layers with the most time
left, largest first. Later files override earlier ones for the same row: give the runs of the tree in question
(variant runs time other kernels under the same names).

Usage: python3 bench/layer_gaps.py --torch CSV [CSV ...] [--dwshim CSV ...] [--dtype bf16] [--layout nhwc]
       [--models mobilenet_v3_large,efficientnet_b0,convnext_tiny] [--top 10]
"""
import argparse
import re

from report import fastest

OPS = ("fwd", "dgrad", "wgrad")


def layer_counts(path="bench/models.csv"):
    """{model: {case: layers of that shape}}."""
    counts = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split(",")
            for model, count in re.findall(r"(\w+) x(\d+)", fields[-1]):
                counts.setdefault(model, {})[fields[0]] = int(count)
    return counts


def read_times(paths, columns, dtype, layout):
    """{(case, op): the smallest positive value among `columns`} of one dtype and layout, later files overriding
    earlier ones."""
    return {(case, op): ms for (case, op, d, l), ms in fastest(paths, columns).items() if (d, l) == (dtype, layout)}


def gaps(counts, torch, ours):
    """Per model: (PyTorch's total, the total with the faster per layer, rows (case, op, layers, torch_ms, ours_ms,
    the best total of the row)), for the layers and directions PyTorch was timed on."""
    result = {}
    for model, cases in counts.items():
        rows, torch_total, best_total = [], 0.0, 0.0
        for case, layers in cases.items():
            for op in OPS:
                t = torch.get((case, op))
                if t is None:
                    continue
                o = ours.get((case, op))
                best = min(t, o) if o else t
                torch_total += t * layers
                best_total += best * layers
                rows.append((case, op, layers, t, o, best * layers))
        result[model] = (torch_total, best_total, sorted(rows, key=lambda r: -r[5]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch", nargs="+", required=True)
    parser.add_argument("--dwshim", nargs="*", default=[])
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--layout", default="nhwc")
    parser.add_argument("--models", default="mobilenet_v3_large,efficientnet_b0,convnext_tiny")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--cases", default="bench/models.csv")
    args = parser.parse_args(argv)
    torch = read_times(args.torch, ("torch_ms", "torch_benchmark_ms"), args.dtype, args.layout)
    ours = read_times(args.torch + args.dwshim, ("dwshim_ms", "dwshim_backend_ms"), args.dtype, args.layout)
    counts = layer_counts(args.cases)
    for model, (torch_total, best_total, rows) in gaps(counts, torch, ours).items():
        if model not in args.models.split(","):
            continue
        print(f"{model}: PyTorch {torch_total:.3f} ms, the faster per layer {best_total:.3f} "
              f"(saves {torch_total - best_total:.3f})")
        for case, op, layers, t, o, total in rows[:args.top]:
            ours_text = f"{o:.4f}" if o else "-"
            print(f"  {case:<20} {op:<5} x{layers}  torch {t:.4f}  dwshim {ours_text}  time left {total:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
