"""bench/variant_table.py on made-up rounds: the best of the rounds per tree, speedups over the base and PyTorch."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

import variant_table  # noqa: E402

ROUND_1 = """main c96_56x56_k7s1 fwd bf16 nhwc 0.1000 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 19.0
new c96_56x56_k7s1 fwd bf16 nhwc 0.0500 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 38.0
main c96_56x56_k7s1 wgrad bf16 nhwc 0.2000 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 9.0
new c96_56x56_k7s1 wgrad bf16 nhwc 0.3000 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 6.0
"""
ROUND_2 = """main c96_56x56_k7s1 fwd bf16 nhwc 0.0800 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 19.0
new c96_56x56_k7s1 fwd bf16 nhwc 0.0600 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 38.0
new c96_56x56_k7s1 wgrad bf16 nhwc -1.0000 -1.0000 -1 0.00 | -1.0000 -1.0000 0.00 | 0.0
"""
TORCH = """case,op,dtype,layout,dwshim_ms,torch_ms,torch_benchmark_ms,speedup,dwshim_pct_copy_bw
c96_56x56_k7s1,fwd,bf16,nhwc,0.1000,0.1600,0.1400,1.40,19.0
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_best_of_rounds_speedups_and_torch(tmp_path):
    rounds = [write(tmp_path, "r1.txt", ROUND_1), write(tmp_path, "r2.txt", ROUND_2)]
    times = variant_table.best_times(rounds)
    assert times[("c96_56x56_k7s1", "fwd", "bf16", "nhwc")] == {"main": 0.08, "new": 0.05}
    assert times[("c96_56x56_k7s1", "wgrad", "bf16", "nhwc")] == {"main": 0.2, "new": 0.3}  # -1: did not run
    torch = variant_table.torch_times([write(tmp_path, "torch.csv", TORCH)])
    assert torch == {("c96_56x56_k7s1", "fwd", "bf16", "nhwc"): 0.14}
    lines = variant_table.table(times, "main", torch)
    assert lines[0].split("  ")[4:] == ["main", "new (xmain)", "torch", "main x torch", "new x torch"]
    fwd = lines[1].split("  ")
    assert fwd[4:] == ["0.0800", "0.0500 (1.60)", "0.1400", "1.75", "2.80"]
    wgrad = lines[2].split("  ")
    assert wgrad[5] == "0.3000 (0.67 slower)" and wgrad[6:] == ["-", "-", "-"]


def test_summary_per_tree(tmp_path):
    rounds = [write(tmp_path, "r1.txt", ROUND_1), write(tmp_path, "r2.txt", ROUND_2)]
    lines = variant_table.summary(variant_table.best_times(rounds), "main")
    # new: 1.60 on fwd, 0.67 on wgrad; geomean sqrt(1.6 * 2 / 3) = 1.033.
    assert lines == ["new xmain: 2 rows, geomean 1.033, least 0.67 (c96_56x56_k7s1 wgrad bf16 nhwc), 1 slower, "
                     "1 faster"]
