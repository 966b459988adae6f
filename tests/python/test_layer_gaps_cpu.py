"""bench/layer_gaps.py on made-up files: layer counts from the notes, totals with the faster kernel per layer."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

import layer_gaps  # noqa: E402

MODELS = """# name,N,C,H,W,kh,kw,stride_h,stride_w,pad_h,pad_w,dil_h,dil_w,multiplier,note
a,64,16,112,112,3,3,1,1,1,1,1,1,1,net_one x1
b,64,32,56,56,5,5,1,1,2,2,1,1,1,net_one x3 net_two x2
"""
TORCH = """case,op,dtype,layout,dwshim_ms,torch_ms,torch_benchmark_ms,speedup,dwshim_pct_copy_bw
a,fwd,bf16,nhwc,0.0500,0.1000,0.0900,1.8,40
b,fwd,bf16,nhwc,0.0300,0.0200,0.0250,0.7,40
b,wgrad,bf16,nhwc,-1.0000,0.0400,0.0400,0,0
a,fwd,f16,nhwc,0.0100,1.0000,1.0000,100,40
"""


def test_counts_and_totals(tmp_path):
    models = tmp_path / "models.csv"
    models.write_text(MODELS)
    torch_csv = tmp_path / "torch.csv"
    torch_csv.write_text(TORCH)
    counts = layer_gaps.layer_counts(str(models))
    assert counts == {"net_one": {"a": 1, "b": 3}, "net_two": {"b": 2}}
    torch = layer_gaps.read_times([str(torch_csv)], ("torch_ms", "torch_benchmark_ms"), "bf16", "nhwc")
    ours = layer_gaps.read_times([str(torch_csv)], ("dwshim_ms",), "bf16", "nhwc")
    assert torch == {("a", "fwd"): 0.09, ("b", "fwd"): 0.02, ("b", "wgrad"): 0.04}
    assert ours == {("a", "fwd"): 0.05, ("b", "fwd"): 0.03}  # wgrad did not run: no entry
    result = layer_gaps.gaps(counts, torch, ours)
    torch_total, best_total, rows = result["net_one"]
    assert abs(torch_total - (0.09 + 3 * 0.02 + 3 * 0.04)) < 1e-12
    assert abs(best_total - (0.05 + 3 * 0.02 + 3 * 0.04)) < 1e-12
    assert rows[0][:3] == ("b", "wgrad", 3)  # the most time left first
    torch_total, best_total, _ = result["net_two"]
    assert abs(torch_total - best_total) < 1e-12  # PyTorch's plan is the faster on both of net_two's rows
