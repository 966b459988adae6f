"""Reads the rows scripts/compare_variants.sh writes (one file per round) and prints, per case, direction, dtype
and layout, the best of the rounds for each tree, each tree's speedup over the base tree (main unless --base says
otherwise) and, with --torch (bench_torch.py CSVs of the same cases), the faster of PyTorch's plans and each tree's
speedup over it: what deciding where a pending change lands and where it is routed needs. A speedup under 0.97 is
marked "slower". Last, a line per tree: its geometric-mean speedup over the base, its least, and its slower rows.

Usage: python3 bench/variant_table.py VARIANTS-1.txt [VARIANTS-2.txt ...] [--base main] [--torch CSV ...]
"""
import argparse
import math

from report import fastest

# Speedups outside [SLOWER, FASTER] count as slower or faster: an unchanged control tree timed 0.98-1.02x
# (run 2026-12-04nn, H200).
SLOWER, FASTER = 0.97, 1.03


def best_times(paths):
    """{(case, op, dtype, layout): {tree: best ms}} over every round; rows that did not run (ms <= 0) are left out."""
    times = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 6:
                    continue
                try:
                    ms = float(fields[5])
                except ValueError:
                    continue
                if ms <= 0:
                    continue
                tree, key = fields[0], tuple(fields[1:5])
                per_tree = times.setdefault(key, {})
                per_tree[tree] = min(ms, per_tree.get(tree, ms))
    return times


def torch_times(paths):
    """{(case, op, dtype, layout): the faster of PyTorch's plans} from bench_torch.py CSVs (the latest file wins)."""
    return fastest(paths, ("torch_ms", "torch_benchmark_ms"))


def table(times, base, torch=None):
    """Lines of text: a header, then one row per key in sorted order."""
    torch = torch or {}
    trees = sorted({t for per_tree in times.values() for t in per_tree} - {base})
    header = ["case", "op", "dtype", "layout", base] + [f"{t} (x{base})" for t in trees]
    if torch:
        header += ["torch"] + [f"{t} x torch" for t in [base] + trees]
    lines = ["  ".join(header)]
    for key in sorted(times):
        per_tree = times[key]
        ours = per_tree.get(base)
        cells = list(key) + [f"{ours:.4f}" if ours else "-"]
        for tree in trees:
            ms = per_tree.get(tree)
            if ms is None:
                cells.append("-")
                continue
            speedup = ours / ms if ours else None
            mark = " slower" if speedup is not None and speedup < SLOWER else ""
            cells.append(f"{ms:.4f} ({speedup:.2f}{mark})" if speedup else f"{ms:.4f}")
        if torch:
            reference = torch.get(key)
            cells.append(f"{reference:.4f}" if reference else "-")
            for tree in [base] + trees:
                ms = per_tree.get(tree)
                cells.append(f"{reference / ms:.2f}" if reference and ms else "-")
        lines.append("  ".join(cells))
    return lines


def summary(times, base):
    """Lines of text, one per tree other than base: over the keys both ran, the geometric mean of the speedups over
    base, the fewest (and its key), and how many were slower and faster."""
    trees = sorted({t for per_tree in times.values() for t in per_tree} - {base})
    lines = []
    for tree in trees:
        pairs = [(per_tree[base] / per_tree[tree], key) for key, per_tree in sorted(times.items())
                 if per_tree.get(base) and per_tree.get(tree)]
        if not pairs:
            continue
        geomean = math.exp(sum(math.log(speedup) for speedup, _ in pairs) / len(pairs))
        least, least_key = min(pairs)
        slower = sum(1 for speedup, _ in pairs if speedup < SLOWER)
        faster = sum(1 for speedup, _ in pairs if speedup > FASTER)
        lines.append(f"{tree} x{base}: {len(pairs)} rows, geomean {geomean:.3f}, least {least:.2f} "
                     f"({' '.join(least_key)}), {slower} slower, {faster} faster")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", nargs="+")
    parser.add_argument("--base", default="main")
    parser.add_argument("--torch", nargs="*", default=[])
    args = parser.parse_args(argv)
    times = best_times(args.rounds)
    for line in table(times, args.base, torch_times(args.torch)) + summary(times, args.base):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
