"""The tuning cache on a GPU (README, "Tuning for your GPU"): measurements recorded under the device's own
identity, a recorded decision overriding the static rules for this GPU's calls, and dwshim-tune filling the file."""
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from dwshim import _library  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A KernelBench-84-like fp32 NCHW forward on the row-vector path: routed by the static rules, computed here by
# dwshim_conv2d_forward_if_faster (the hook's entry point) after the file's line for it, if any, was recorded.
_PROGRAM = """
import sys
import torch
from dwshim import _library
lib = _library.load()
x = torch.randn(2, 8, 16, 32, device="cuda")
w = torch.randn(8, 1, 3, 3, device="cuda")
y = torch.full((2, 8, 14, 30), float("nan"), device="cuda")
sizes = lambda t: (_library.Int64x4(*t.shape), _library.Int64x4(*t.stride()))
geometry = _library.Int64x8(3, 3, 1, 1, 0, 0, 1, 1)
if len(sys.argv) > 1:
    record = lib.dwshim_tune_record_torch_native(_library.FLOAT, 0, *sizes(x), geometry, *sizes(y),
                                                 float(sys.argv[1]), float(sys.argv[2]))
    assert record == _library.OK, record
status = lib.dwshim_conv2d_forward_if_faster(_library.FLOAT, *sizes(x), x.data_ptr(), w.data_ptr(), None, geometry,
                                             *sizes(y), y.data_ptr(), 1.0, 0.0, torch.cuda.current_stream().cuda_stream)
torch.cuda.synchronize()
if status == _library.OK:
    reference = torch.nn.functional.conv2d(x.double(), w.double(), groups=8)
    assert ((y.double() - reference).norm() / reference.norm()).item() < 1e-5
print(status)
"""


def _run(cache, *args, **env):
    full_env = dict(os.environ, DWSHIM_TUNE_CACHE=str(cache), **env)
    full_env.pop("DWSHIM_ROUTE", None)
    full_env.pop("DWSHIM_TUNE_IDENTITY", None)
    out = subprocess.run([sys.executable, "-c", _PROGRAM] + [str(a) for a in args], env=full_env, check=True,
                         capture_output=True, text=True, cwd=REPO).stdout
    return int(out.split()[-1])


def test_recorded_decision_overrides_the_static_rules_on_this_gpu(tmp_path):
    cache = tmp_path / "routes.csv"
    assert _run(cache) == _library.OK  # the static rules route it
    assert _run(cache, 0.2, 0.1) == _library.NOT_FASTER  # recorded slower here, then asked
    line = cache.read_text().splitlines()[0]
    major, minor = torch.cuda.get_device_capability()
    identity = line.split(",")[0]
    assert identity.startswith(torch.cuda.get_device_name().replace(",", " "))
    assert " sm%d%d " % (major, minor) in identity and " cudnn" in identity and " dwshim" in identity
    assert line.endswith(",torch,fwd,f32,nchw,2,8,16,32,8,14,30,3,3,1,1,0,0,1,1,0,0.2,0.1")
    assert _run(cache, 0.05, 0.1) == _library.OK  # a later measurement, faster, replaces it


def test_tuning_off_keeps_the_static_rules(tmp_path):
    cache = tmp_path / "routes.csv"
    assert _run(cache, 0.2, 0.1) == _library.NOT_FASTER
    full_env = dict(os.environ, DWSHIM_TUNE_CACHE=str(cache), DWSHIM_TUNE="off")
    full_env.pop("DWSHIM_ROUTE", None)
    out = subprocess.run([sys.executable, "-c", _PROGRAM], env=full_env, check=True, capture_output=True,
                         text=True, cwd=REPO).stdout
    assert int(out.split()[-1]) == _library.OK


def test_dwshim_tune_fills_the_cache_for_both_apis_and_pytorch(tmp_path):
    bench = os.environ.get("DWSHIM_BENCH", os.path.join(REPO, "build", "bench", "dwshim_bench_cudnn"))
    cases = tmp_path / "cases.csv"
    cases.write_text("small,2,8,16,32,3,3,1,1,1,1,1,1,1,one case\n")
    cache = tmp_path / "cache" / "routes.csv"
    env = dict(os.environ, DWSHIM_TUNE_CACHE=str(cache), DWSHIM_BENCH=bench)
    env.pop("DWSHIM_TUNE_IDENTITY", None)
    subprocess.run([os.path.join(REPO, "scripts", "dwshim-tune"), str(cases), "--op", "fwd,wgrad", "--dtype", "f32",
                    "--layout", "nchw"], env=env, check=True, capture_output=True, text=True)
    apis = sorted((f[1], f[2]) for f in (line.split(",") for line in cache.read_text().splitlines()))
    assert apis == [("backend", "fwd"), ("backend", "wgrad"), ("legacy", "fwd"), ("legacy", "wgrad"),
                    ("torch", "fwd"), ("torch", "wgrad")]


_TUNED_PROGRAM = """
import torch
import torch.nn.functional as F
x = torch.randn(2, 8, 16, 32, device="cuda").contiguous(memory_format=torch.channels_last)
w = torch.randn(8, 1, 3, 3, device="cuda")
F.conv2d(x, w, None, 1, 1, 1, 8)  # channels-last fp32: PyTorch calls cuDNN
torch.cuda.synchronize()
"""


def test_dwshim_tune_program_measures_what_the_program_called(tmp_path):
    bench = os.environ.get("DWSHIM_BENCH", os.path.join(REPO, "build", "bench", "dwshim_bench_cudnn"))
    cache = tmp_path / "cache" / "routes.csv"
    env = dict(os.environ, DWSHIM_TUNE_CACHE=str(cache), DWSHIM_BENCH=bench)
    env.pop("DWSHIM_TUNE_IDENTITY", None)
    subprocess.run([os.path.join(REPO, "scripts", "dwshim-tune"), "--program", "--", sys.executable, "-c",
                    _TUNED_PROGRAM], env=env, check=True, capture_output=True, text=True)
    rows = [line.split(",") for line in cache.read_text().splitlines()]
    # The recorded problem, forward, fp32, channels-last, timed through both APIs (the file's key fields).
    measured = sorted({(f[1], f[2], f[3], f[4], tuple(f[5:9])) for f in rows})
    assert measured == [("backend", "fwd", "f32", "nhwc", ("2", "8", "16", "32")),
                        ("legacy", "fwd", "f32", "nhwc", ("2", "8", "16", "32"))]
