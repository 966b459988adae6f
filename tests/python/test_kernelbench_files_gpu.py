"""Each generated KernelBench file run the way KernelBench's eval runs it: seed 42, build Model, reseed, build
ModelNew (the file compiles its CUDA source with load_inline on import), 5 correctness trials on fresh inputs at
atol = rtol = 1e-4, then CUDA-event timing of both; prints and reports the speed-ups."""
import importlib.util
import os
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import kernelbench_problems  # noqa: E402
import make_kernelbench  # noqa: E402

from dwshim import _timing  # noqa: E402


@pytest.mark.parametrize("number", sorted(make_kernelbench.PROBLEMS))
def test_generated_file_passes_kernelbench_eval(number):
    spec = importlib.util.spec_from_file_location("kernelbench_%d" % number, make_kernelbench.path_of(number))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model_class, init_inputs, _ = kernelbench_problems.PROBLEMS[number]
    seed = 42
    torch.manual_seed(seed)
    model = model_class(*init_inputs).cuda()
    torch.manual_seed(seed)
    model_new = module.ModelNew(*init_inputs).cuda()
    with torch.no_grad():
        for trial in range(5):
            torch.manual_seed(seed + trial)
            inputs = kernelbench_problems.get_inputs(number, "cuda")
            expected = model(*inputs)
            torch.cuda.synchronize()
            output = model_new(*inputs)
            assert output.shape == expected.shape
            assert torch.allclose(output, expected, atol=1e-4, rtol=1e-4), (output - expected).abs().max().item()
        reference_ms = _timing.median_ms(lambda: model(*inputs))
        new_ms = _timing.median_ms(lambda: model_new(*inputs))
    line = "KernelBench %d (generated file): Model %.3f ms, ModelNew %.3f ms, speedup %.2fx" % (
        number, reference_ms, new_ms, reference_ms / new_ms)
    print(line)
    path = os.environ.get("DWSHIM_TEST_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")
