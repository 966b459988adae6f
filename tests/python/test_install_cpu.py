"""The launcher (the build tree's, or the console command of a pip install: $DWSHIM_RUN) and python -m dwshim
report the version, the library and the cuDNN it forwards to, without a GPU."""
import os
import subprocess
import sys

import dwshim
from launcher import launcher


def _check(report):
    lines = report.splitlines()
    assert lines[0] == "dwshim " + dwshim.__version__, report
    assert any(line.startswith("library: ") and line.endswith("libdwshim.so") for line in lines), report
    assert any(line.startswith("cuDNN: ") and "version" in line for line in lines), report
    assert any(line.startswith("GPU: ") for line in lines), report


def test_launcher_reports_its_version():
    done = subprocess.run([launcher(), "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check(done.stdout)


def test_module_reports_its_version():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-m", "dwshim", "--version"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    _check(done.stdout)


def test_launcher_refuses_an_unknown_option():
    done = subprocess.run([launcher(), "--no-such-option", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert done.returncode == 2
    assert "unknown option" in done.stderr


def test_demo_explains_what_it_needs_without_a_gpu():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-m", "dwshim.demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "dwshim-demo needs" in done.stderr


def test_demo_lists_its_options():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-m", "dwshim.demo", "--help"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    for option in ("--model", "--dtype", "--layout", "--batch", "--png"):
        assert option in done.stdout
