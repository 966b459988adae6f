"""The generated KernelBench files (kernelbench/level1, scripts/make_kernelbench.py): up to date with kernels/,
clean under KernelBench's static rules, drawing the same parameters as each problem's Model, and their CUDA
source compiling where an nvcc is installed."""
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "kernelbench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import make_kernelbench  # noqa: E402
import static_rules  # noqa: E402


def test_generated_files_are_current_and_obey_the_rules(capsys):
    assert make_kernelbench.main(["--check"]) == 0, capsys.readouterr().err


def test_fp32_filter_drops_whole_lines_only():
    kept = make_kernelbench._without_two_byte_types([
        "template <>", "struct DTypeTraits<DType::kHalf> {", "    int x;", "};",
        "switch (d) {", "    case DType::kHalf:", "        return f<DType::kHalf>();", "    default:", "}"])
    assert kept == ["switch (d) {", "    default:", "}"]
    # Dropping a line that opens a block would splice a 2-byte branch's body into the fp32 code.
    with pytest.raises(ValueError):
        make_kernelbench._without_two_byte_types([
            "if constexpr (D == DType::kFloat) {", "    a();", "} else if constexpr (D == DType::kBFloat16) {",
            "    b();", "}"])


@pytest.mark.parametrize("text, found", [
    ("from dwshim.kb84 import ModelNew\n", "no __global__ kernel definition"),
    ("__global__ void k() { threadIdx.x; }\nload_inline\nclass M:\n    pass\n", "the word 'pass' (inheritance bypass)"),
    ("__global__ void k() { threadIdx.x; }\nload_inline\ntry:\n    x = 1\nexcept Exception:\n    x = 2\n",
     "try/except (fallback bypass)"),
    ("__global__ void k() { threadIdx.x; }\nload_inline\nimport threading\n", "threads or processes"),
])
def test_rules_reject_what_kernelbench_rejects(text, found):
    assert found in static_rules.check(text)[0]


@pytest.mark.parametrize("code, found", [
    ("y = F.conv2d(x, w)", "a functional op"),
    ("self.c = torch.nn.Conv2d(3, 3, 3)", "a torch.nn compute layer"),
    ("y = torch.conv2d(x, w)", "a torch compute op"),
    ("s = torch.cuda.Stream()", "CUDA streams"),
    ("__device__ void f(float v) { __float2half_rn(v); }", "an fp16 conversion"),
])
def test_rules_warn_where_kernelbench_warns(code, found):
    text = "__global__ void k() { threadIdx.x; }\nload_inline\n" + code + "\n"
    assert static_rules.check(text) == ([], [found])


def test_rules_ignore_comments():
    text = "__global__ void k() { threadIdx.x; }  // pass\nload_inline  # try: F.conv2d(x)\n"
    assert static_rules.check(text) == ([], [])


def _load_without_compiling(path, monkeypatch):
    torch = pytest.importorskip("torch")
    import torch.utils.cpp_extension

    monkeypatch.setattr(torch.utils.cpp_extension, "load_inline", lambda **kwargs: None)
    spec = importlib.util.spec_from_file_location("kernelbench_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("number", sorted(make_kernelbench.PROBLEMS))
def test_model_new_draws_models_parameters(number, monkeypatch):
    torch = pytest.importorskip("torch")
    import kernelbench_problems

    module = _load_without_compiling(make_kernelbench.path_of(number), monkeypatch)
    model_class, init_inputs, _ = kernelbench_problems.PROBLEMS[number]
    for bias in (False, True):
        args = init_inputs + [bias]
        torch.manual_seed(42)
        reference = model_class(*args)
        torch.manual_seed(42)
        ours = module.ModelNew(*args)
        for name, layer in reference.named_children():  # conv2d, or depthwise and pointwise (86)
            mine = getattr(ours, name)
            assert torch.equal(mine.weight, layer.weight), name
            if bias:
                assert torch.equal(mine.bias, layer.bias), name
            else:
                assert mine.bias is None and layer.bias is None, name
            if layer.kernel_size != (1, 1):  # the pointwise layer has no geometry to take
                assert (mine.stride, mine.padding, mine.dilation) == (layer.stride, layer.padding, layer.dilation)


@pytest.mark.parametrize("which", ["depthwise", "pointwise", "separable"])
def test_kernel_source_compiles(tmp_path, which):
    # ctest passes the build's CUDA compiler, host compiler, flags and architecture; elsewhere CUDA's own nvcc.
    nvcc = os.environ.get("DWSHIM_NVCC") or (
        "/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else shutil.which("nvcc"))
    if not nvcc:
        pytest.skip("no nvcc")
    if which == "depthwise":
        source = tmp_path / "kernels.cu"
        assert make_kernelbench.main(["--kernels-only", str(source)]) == 0
    else:
        source = os.path.join(ROOT, "kernelbench", "%s_conv.cu" % which)
    # 86's kernels include kernels/common/async_copy.cuh and kernels/common/tf32_mma.cuh, which the generator inlines
    # like the kernels' includes.
    command = [nvcc, "-std=c++17", "-arch=sm_%s" % (os.environ.get("DWSHIM_CUDA_ARCH") or "90"), "-c", str(source),
               "-I", ROOT, "-o", str(tmp_path / "kernels.o")] + shlex.split(
                   os.environ.get("DWSHIM_NVCC_FLAGS", ""))
    if os.environ.get("DWSHIM_NVCC_HOST"):
        command += ["-ccbin", os.environ["DWSHIM_NVCC_HOST"]]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, done.stdout[-3000:]
