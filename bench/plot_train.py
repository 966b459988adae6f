"""Plots bench/bench_train.py's CSVs: GPU time per step, plain and under dwshim-run, per model and mode (left), and
each model's loss curves, plain and dwshim, per mode (right). Needs matplotlib.

Usage: python3 bench/plot_train.py --steps STEPS.csv [STEPS.csv ...] --losses LOSSES.csv [LOSSES.csv ...] --out PNG
"""
import argparse
import collections
import csv


def read(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows += list(csv.DictReader(f))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", nargs="+", required=True)
    parser.add_argument("--losses", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = read(args.steps)
    curves = collections.defaultdict(lambda: ([], []))
    for row in read(args.losses):
        plain, ours = curves[(row["model"], row["mode"])]
        plain.append(float(row["plain_loss"]))
        ours.append(float(row["dwshim_loss"]))

    figure, (bars, losses) = plt.subplots(1, 2, figsize=(15, 5.5))
    labels = ["%s\n%s" % (row["model"], row["mode"]) for row in steps]
    positions = range(len(steps))
    plain_ms = [float(row["plain_gpu_ms_per_step"]) for row in steps]
    our_ms = [float(row["dwshim_gpu_ms_per_step"]) for row in steps]
    bars.bar([p - 0.2 for p in positions], plain_ms, 0.4, label="plain")
    bars.bar([p + 0.2 for p in positions], our_ms, 0.4, label="dwshim-run")
    for p, a, b in zip(positions, plain_ms, our_ms):
        bars.annotate("%+.1f%%" % (100 * (b / a - 1)), (p + 0.2, b), ha="center", va="bottom", fontsize=7)
    bars.set_xticks(list(positions))
    bars.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    bars.set_ylabel("GPU time per training step (ms, profiler)")
    bars.legend()
    for (model, mode), (plain, ours) in sorted(curves.items()):
        line, = losses.plot(plain, label="%s %s plain" % (model, mode), linewidth=1)
        losses.plot(ours, "--", color=line.get_color(), label="%s %s dwshim" % (model, mode), linewidth=1)
    losses.set_xlabel("step")
    losses.set_ylabel("loss")
    losses.set_yscale("log")
    losses.legend(fontsize=5, ncol=2)
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
