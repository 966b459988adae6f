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


_modules = {}


def _load(number):
    """The generated file of a problem, imported once (its import builds the extension)."""
    if number not in _modules:
        spec = importlib.util.spec_from_file_location("kernelbench_%d" % number, make_kernelbench.path_of(number))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[number] = module
    return _modules[number]


@pytest.mark.parametrize("number", sorted(make_kernelbench.PROBLEMS))
def test_generated_file_passes_kernelbench_eval(number):
    module = _load(number)
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


def _round_tf32_nearest_even(t):
    bits = t.contiguous().view(torch.int32)
    bits = (bits + 0xFFF + ((bits >> 13) & 1)) & ~0x1FFF
    return bits.view(torch.float32)


def _pointwise_in_float64(layer, x, allow_tf32):
    """The 1x1 conv `layer` of x in float64, its operands rounded as the kernels promise: to TF32, nearest even,
    where TF32 is allowed on a GPU with TF32 tensor cores."""
    rounds = allow_tf32 and torch.cuda.get_device_capability()[0] >= 8
    operands = [_round_tf32_nearest_even(t) if rounds else t for t in (layer.weight[:, :, 0, 0], x)]
    expected = torch.einsum("oc,nchw->nohw", operands[0].double(), operands[1].double())
    return expected + layer.bias.double().view(1, -1, 1, 1)


@pytest.mark.parametrize("allow_tf32", [True, False])
@pytest.mark.parametrize("shape", [(2, 64, 32, 32, 128), (3, 70, 17, 19, 200), (1, 5, 4, 4, 3)])
def test_pointwise_conv_of_86_against_float64(shape, allow_tf32):
    # Both kernels (TF32 tensor cores, plain fp32), 16-byte and scalar loads (H x W a multiple of 4 or not), more
    # channels than one staged chunk and outputs than one block, against float64 sums of the operands.
    n, c, h, w, outputs = shape
    module = _load(86)
    layer = module.ModelNew(c, outputs, 3, bias=True).cuda().pointwise
    torch.manual_seed(7)
    x = torch.randn(n, c, h, w, device="cuda")
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    with torch.no_grad():
        output = layer(x)
    torch.backends.cudnn.allow_tf32 = previous
    expected = _pointwise_in_float64(layer, x, allow_tf32)
    error = ((output.double() - expected).abs().max() / expected.abs().max()).item()
    assert error < 1e-5, error


@pytest.mark.parametrize("allow_tf32", [True, False])
@pytest.mark.parametrize("shape", [(2, 64, 32, 64, 128, 3), (1, 40, 9, 20, 200, 3), (2, 16, 7, 132, 24, 3),
                                   (1, 8, 5, 30, 16, 3), (1, 70, 6, 8, 16, 3), (1, 8, 6, 8, 16, 5)])
def test_separable_conv_of_86_against_float64(shape, allow_tf32):
    # ModelNew 86's forward: fused where TF32 is in use on a 3x3 filter, up to 64 channels and rows of a multiple of
    # 4 columns (the first three shapes: several strips, a strip past the row's end, fewer channels than 64, outputs
    # in two blocks), else the two kernels in turn (the last three, and without TF32). Against float64 sums of the
    # 1x1 conv's operands rounded as the kernels promise, where the depthwise output is PyTorch's own fp32
    # kernel's (the value Model's depthwise layer stores), at KernelBench's tolerance.
    import torch.nn.functional as F

    n, c, h, w, outputs, k = shape
    module = _load(86)
    model = module.ModelNew(c, outputs, k, 1, k // 2, 1, True).cuda()
    torch.manual_seed(11)
    x = torch.randn(n, c, h, w, device="cuda")
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    with torch.no_grad():
        output = model(x)
        depthwise = F.conv2d(x, model.depthwise.weight, model.depthwise.bias, 1, k // 2, 1, c)
    torch.backends.cudnn.allow_tf32 = previous
    expected = _pointwise_in_float64(model.pointwise, depthwise, allow_tf32)
    assert torch.allclose(output.double(), expected, atol=1e-4, rtol=1e-4), (output.double() - expected).abs().max()
