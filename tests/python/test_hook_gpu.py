"""dwshim-run on a GPU: unmodified programs whose depthwise convs PyTorch runs on its own kernel."""
import json
import os
import re

import pytest

from launcher import python_script, run

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)


def _rel_error(ours, reference):
    ours, reference = ours.double(), reference.double()
    return ((ours - reference).norm() / reference.norm()).item()


def _hook_stats(stderr):
    match = re.search(r"dwshim hook: aten::_conv_depthwise2d calls: (\d+) routed, (\d+) left to PyTorch", stderr)
    assert match, stderr[-3000:]
    return int(match.group(1)), int(match.group(2))


def _report(line):
    path = os.environ.get("DWSHIM_TEST_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def test_unmodified_program_same_outputs_and_gradients(tmp_path):
    plain = run(python_script("hook_program.py", str(tmp_path / "plain.pt")))
    assert plain.returncode == 0, plain.stderr
    hooked = run(python_script("hook_program.py", str(tmp_path / "hooked.pt")), ["--stats"])
    assert hooked.returncode == 0, hooked.stderr
    routed, left = _hook_stats(hooked.stderr)
    expected, ours = torch.load(str(tmp_path / "plain.pt")), torch.load(str(tmp_path / "hooked.pt"))
    errors = {}
    for key, reference in expected.items():
        tolerance = 1e-2 if "bf16" in key else 1e-5
        errors[key] = _rel_error(ours[key], reference)
        assert errors[key] < tolerance, (key, errors[key])
    graph_error = _rel_error(ours["graph_f32/y"], ours["graph_f32/expected"])
    assert graph_error < 1e-5  # the replayed graph computed the new input
    _report("dwshim-run hook program: %d routed, %d left to PyTorch; worst rel. error f32 %.2e, bf16 %.2e" % (
        routed, left, max(v for k, v in errors.items() if "bf16" not in k),
        max(v for k, v in errors.items() if "bf16" in k)))
    print(hooked.stderr[-2000:])
    # Every forward but the small one is routed (the CUDA-graph warm-up, capture and check calls included).
    assert routed >= len([k for k in expected if k.endswith("/y")]) - 1
    assert left >= 1  # the small conv stays with PyTorch: the call would cost more than it saves


def test_training_loss_curve_matches_and_speed_is_reported():
    plain = run(python_script("train_program.py"))
    assert plain.returncode == 0, plain.stderr
    hooked = run(python_script("train_program.py"), ["--stats"])
    assert hooked.returncode == 0, hooked.stderr
    routed, _ = _hook_stats(hooked.stderr)
    assert routed > 0
    expected, ours = json.loads(plain.stdout), json.loads(hooked.stdout)
    for step, (a, b) in enumerate(zip(ours["losses"], expected["losses"])):
        assert abs(a - b) <= 1e-3 * abs(b) + 1e-4, (step, a, b)
    line = ("MobileNet-like training, 20 steps, batch 64x3x224x224 fp32: %.2f ms/step plain, %.2f ms/step under "
            "dwshim-run (%.2fx); loss %.4f -> %.4f, max loss difference %.1e" % (
                expected["step_ms"], ours["step_ms"], expected["step_ms"] / ours["step_ms"], expected["losses"][0],
                expected["losses"][-1], max(abs(a - b) for a, b in zip(ours["losses"], expected["losses"]))))
    print(line)
    _report(line)
