"""Merges one run's bench_cudnn.csv and bench_torch.csv: per case and direction (fwd, dgrad, wgrad) dwshim
against the real cuDNN through each API and against PyTorch (the faster of its cudnn.benchmark modes), the
geomean per (op, dtype, layout) of the speedup over the best of (cuDNN backend, PyTorch), and optionally a PNG
plot of those speedups (needs matplotlib). Per API, what routing compares: legacy_x = cuDNN legacy / dwshim
through the legacy API, backend_x = best of (cuDNN backend plan, PyTorch's plans) / dwshim through the backend;
--ties lists the rows where either is below 1.03 (the calls to leave with cuDNN there).

Usage: python3 bench/report.py CUDNN_CSV TORCH_CSV [--png OUT.png] [--csv OUT.csv] [--ties]
"""
import argparse
import csv
import math


def read(path):
    with open(path) as f:
        return {(r["case"], r.get("op", "fwd"), r["dtype"], r["layout"]): r for r in csv.DictReader(f)}


def positive(value):
    v = float(value)
    return v if v > 0 else None


def fastest(paths, columns):
    """{(case, op, dtype, layout): the smallest positive value among `columns`} over bench CSVs; a later file's row
    replaces an earlier one's."""
    times = {}
    for path in paths:
        for key, row in read(path).items():
            values = [v for v in (positive(row[c]) for c in columns if c in row) if v]
            if values:
                times[key] = min(values)
    return times


def merge(cudnn_rows, torch_rows):
    rows = []
    for key, c in cudnn_rows.items():
        t = torch_rows.get(key, {})
        ours = positive(c["dwshim_ms"])
        torch_ms = [v for v in (positive(t.get("torch_ms", -1)), positive(t.get("torch_benchmark_ms", -1))) if v]
        torch_best = min(torch_ms) if torch_ms else None
        competitors = [v for v in (positive(c["cudnn_backend_ms"]), torch_best) if v]
        best = min(competitors) if competitors else None
        legacy = positive(c["cudnn_legacy_ms"])
        ours_backend = positive(c.get("dwshim_backend_ms", -1)) or ours
        rows.append({
            "case": key[0], "op": key[1], "dtype": key[2], "layout": key[3], "dwshim_ms": ours,
            "cudnn_legacy_ms": legacy, "cudnn_backend_ms": positive(c["cudnn_backend_ms"]),
            "torch_ms": torch_best, "best_other_ms": best,
            "speedup_vs_best": best / ours if best and ours else None,
            "legacy_x": legacy / ours if legacy and ours else None,
            "backend_x": best / ours_backend if best and ours_backend else None,
            "pct_copy_bw": float(c["dwshim_pct_copy_bw"]),
        })
    return rows


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt(v, spec=".4f"):
    return format(v, spec) if v is not None else "-"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cudnn_csv")
    parser.add_argument("torch_csv")
    parser.add_argument("--png")
    parser.add_argument("--csv")
    parser.add_argument("--ties", action="store_true")
    args = parser.parse_args()
    rows = merge(read(args.cudnn_csv), read(args.torch_csv))
    if args.ties:
        rows = [r for r in rows if any(r[k] is not None and r[k] < 1.03 for k in ("legacy_x", "backend_x"))]
    header = ["case", "op", "dtype", "layout", "dwshim_ms", "cudnn_legacy_ms", "cudnn_backend_ms", "torch_ms",
              "speedup_vs_best", "legacy_x", "backend_x", "pct_copy_bw"]
    print(" ".join(f"{h:>16}" for h in header))
    for r in rows:
        print(" ".join(f"{r[h] if isinstance(r[h], str) else fmt(r[h], '.3f'):>16}" for h in header))
    print("\ngeomean speedup over the best of (cuDNN backend, PyTorch):")
    groups = sorted({(r["op"], r["dtype"], r["layout"]) for r in rows})
    for group in groups:
        g = geomean([r["speedup_vs_best"] for r in rows if (r["op"], r["dtype"], r["layout"]) == group])
        print(f"  {group[0]:>5} {group[1]:>4} {group[2]}: {fmt(g, '.2f')}x")
    print(f"  all: {fmt(geomean([r['speedup_vs_best'] for r in rows]), '.2f')}x")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header + ["best_other_ms"])
            writer.writeheader()
            writer.writerows(rows)
    if args.png:
        plot(rows, sorted({(r["dtype"], r["layout"]) for r in rows}), args.png)


def plot(rows, groups, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys((r["case"], r["op"]) for r in rows))
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(groups)
    for i, group in enumerate(groups):
        by_case = {(r["case"], r["op"]): r["speedup_vs_best"] for r in rows if (r["dtype"], r["layout"]) == group}
        xs = [c + i * width for c in range(len(cases))]
        ax.bar(xs, [by_case.get(c) or 0 for c in cases], width, label=" ".join(group))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(cases))])
    ax.set_xticklabels([f"{c[0]}\n{c[1]}" for c in cases], fontsize=7)
    ax.set_ylabel("dwshim speedup over best of (cuDNN backend, PyTorch)")
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
