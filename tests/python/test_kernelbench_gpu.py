"""KernelBench problem 84's own test, unchanged in substance: Model and ModelNew built from the same seed and
init inputs, correctness on 5 random inputs at atol = rtol = 1e-4, then the speed of each."""
import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import kernelbench_84 as problem  # noqa: E402

from dwshim import _timing  # noqa: E402
from dwshim.kb84 import ModelNew  # noqa: E402


def test_model_new_passes_kernelbench_84():
    seed = 42
    init_inputs = problem.get_init_inputs()
    torch.manual_seed(seed)
    model = problem.Model(*init_inputs).cuda()
    torch.manual_seed(seed)
    model_new = ModelNew(*init_inputs).cuda()
    with torch.no_grad():
        for trial in range(5):
            torch.manual_seed(seed + trial)
            inputs = [x.cuda() for x in problem.get_inputs()]
            expected = model(*inputs)
            output = model_new(*inputs)
            assert output.shape == expected.shape
            assert torch.allclose(output, expected, atol=1e-4, rtol=1e-4), (output - expected).abs().max().item()
        reference_ms = _timing.median_ms(lambda: model(*inputs))
        new_ms = _timing.median_ms(lambda: model_new(*inputs))
    line = "KernelBench 84: Model %.3f ms, ModelNew %.3f ms, speedup %.2fx" % (reference_ms, new_ms,
                                                                             reference_ms / new_ms)
    print(line)
    path = os.environ.get("DWSHIM_TEST_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")
