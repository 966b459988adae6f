"""dwshim-run and the PyTorch hook without a GPU (CI runs these on Debian's torch 1.13)."""
import os
import sys

import pytest

from launcher import python_script, run

# Where the interpreter was chosen for its torch (DWSHIM_REQUIRE_TORCH), a missing torch is a failure.
torch = __import__("torch") if os.environ.get("DWSHIM_REQUIRE_TORCH") else pytest.importorskip("torch")

PROBE = """
import os, sys
assert "torch" not in sys.modules
import torch
from dwshim import hook
torch.manual_seed(0)
x = torch.randn(2, 8, 17, 13, dtype=torch.float64)
w = torch.randn(16, 1, 3, 3, dtype=torch.float64)
for dtype in (torch.float32, torch.float64):
    y = torch.nn.functional.conv2d(x.to(dtype), w.to(dtype), None, 1, 1, 1, 8)
    torch.save(y, sys.argv[1] + "." + str(dtype))
print("installed=%s stats=%s preload=%s" % (hook.installed(), dict(hook.stats), os.environ.get("LD_PRELOAD", "")))
"""


def _probe(tmp_path, launcher_options):
    out = str(tmp_path / ("hooked" if launcher_options is not None else "plain"))
    result = run([sys.executable, "-c", PROBE, out], launcher_options,
                 env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert result.returncode == 0, result.stderr
    outputs = [torch.load(out + "." + str(dtype)) for dtype in (torch.float32, torch.float64)]
    return result.stdout.strip(), outputs


def test_hook_installs_on_import_and_cpu_convs_keep_pytorchs_path(tmp_path):
    line, hooked = _probe(tmp_path, [])
    assert "installed=True stats={}" in line, line  # no call reached the CUDA implementation
    assert "libdwshim.so" in line
    _, plain = _probe(tmp_path, None)
    for ours, theirs in zip(hooked, plain):
        assert torch.equal(ours, theirs)


def test_disable_leaves_the_hook_off(tmp_path):
    line, _ = _probe(tmp_path, ["--disable"])
    assert "installed=False" in line, line


def test_programs_without_torch_do_not_import_it():
    result = run([sys.executable, "-c", "import sys, json; print('torch' in sys.modules)"], [])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_arguments_and_exit_status_pass_through():
    result = run(["sh", "-c", 'echo "$1 $2"; exit 7', "sh", "a b", "--stats"], ["--stats"])
    assert result.returncode == 7
    assert result.stdout.strip() == "a b --stats"


def test_unknown_option_is_refused():
    result = run(["true"], ["--no-such-option"])
    assert result.returncode == 2
    assert "unknown option" in result.stderr


def test_an_existing_sitecustomize_still_runs(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['SHADOWED_SITECUSTOMIZE'] = 'ran'\n")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    result = run([sys.executable, "-c", "import os; print(os.environ.get('SHADOWED_SITECUSTOMIZE'))"], [],
                 env={"PYTHONPATH": path})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran"


def test_stats_flag_reaches_the_program():
    result = run(python_script("print_env.py", "DWSHIM_STATS", "DWSHIM_DISABLE"), ["--stats"])
    assert result.stdout.split() == ["1", "-"], result.stdout
