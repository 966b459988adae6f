"""The PyTorch front end on CPU tensors: same parameters as KernelBench's Model, PyTorch's own answer."""
import os

import pytest

# Where the interpreter was chosen for its torch (DWSHIM_REQUIRE_TORCH), a missing torch is a failure.
torch = __import__("torch") if os.environ.get("DWSHIM_REQUIRE_TORCH") else pytest.importorskip("torch")

from dwshim.kb84 import ModelNew  # noqa: E402
from kernelbench_84 import Model  # noqa: E402


@pytest.mark.parametrize("bias", [False, True])
def test_model_new_draws_the_same_parameters_and_matches_on_cpu(bias):
    torch.manual_seed(7)
    model = Model(6, 12, 3, 2, 1, bias)
    torch.manual_seed(7)
    model_new = ModelNew(6, 12, 3, 2, 1, bias)
    assert model.state_dict().keys() == model_new.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, model_new.state_dict()[key])
    x = torch.randn(2, 6, 9, 13)
    assert torch.equal(model(x), model_new(x))
