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


def test_cpp_hook_source_compiles_against_this_torch(tmp_path):
    # dwshim.hook builds csrc/torch_hook.cpp on the user's machine against whatever torch is there (1.13 on), so
    # its source must compile against this torch's headers, in the C++ standard torch's extension builder passes
    # (14 in 1.13, 20 in recent releases: the one its source names most); a syntax check needs no GPU.
    import collections
    import inspect
    import re
    import shutil
    import subprocess
    import sysconfig

    from torch.utils import cpp_extension

    compiler = shutil.which("g++") or shutil.which("c++")
    nvcc = os.environ.get("DWSHIM_NVCC") or shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    cuda_include = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))), "include")
    python_include = sysconfig.get_paths()["include"]
    if compiler is None or not os.path.exists(os.path.join(cuda_include, "cuda_runtime_api.h")):
        pytest.skip("no C++ compiler or CUDA headers")
    if not os.path.exists(os.path.join(python_include, "Python.h")):
        pytest.skip("no Python headers")
    standards = collections.Counter(re.findall(r"-std=c\+\+(\d+)", inspect.getsource(cpp_extension)))
    assert standards, "no -std flag in torch.utils.cpp_extension"
    includes = ["-I" + path for path in cpp_extension.include_paths()] + ["-I" + python_include, "-I" + cuda_include]
    # A CPU-only torch ships c10/cuda without the header its CUDA build generates: stand in for it.
    stub = tmp_path / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h"
    stub.parent.mkdir(parents=True)
    stub.write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    includes.append("-I" + str(tmp_path))
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python",
                          "dwshim", "csrc", "torch_hook.cpp")
    command = [compiler, "-std=c++" + standards.most_common(1)[0][0], "-fsyntax-only",
               "-DTORCH_EXTENSION_NAME=probe", "-DDWSHIM_TORCH_MAJOR=%d" % int(torch.__version__.split(".")[0]),
               source] + includes
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, " ".join(command[:3]) + "\n" + done.stdout[-3000:]
