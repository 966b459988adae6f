"""The PyTorch front end and LD_PRELOAD interposition on a GPU."""
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import torch.nn.functional as F  # noqa: E402

from dwshim import _library  # noqa: E402
from dwshim.functional import depthwise_conv2d  # noqa: E402
from dwshim.kb84 import ModelNew  # noqa: E402

TOLERANCE = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 1e-2}


def rel_error(ours, reference):
    ours = ours.double()
    return ((ours - reference).norm() / reference.norm()).item()


def routed_count():
    return _library.load().dwshim_decision_count(0)


@pytest.fixture(autouse=True)
def exact_fp32():
    torch.backends.cudnn.allow_tf32 = False
    yield


def test_kb84_matches_float64_and_pytorch():
    torch.manual_seed(42)
    model_new = ModelNew(128, 128, 3).cuda()
    x = torch.randn(64, 128, 256, 512, device="cuda")
    before = routed_count()
    with torch.no_grad():
        ours = model_new(x)
        torch.cuda.synchronize()
        assert routed_count() == before + 1
        theirs = F.conv2d(x, model_new.conv2d.weight, None, 1, 0, 1, 128)
        reference = F.conv2d(x.double(), model_new.conv2d.weight.double(), None, 1, 0, 1, 128)
    assert ours.shape == (64, 128, 254, 510)
    assert rel_error(ours, reference) < 1e-5
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4)


CASES = [
    # n, c, mult, h, w, k, stride, padding, dilation, bias
    (2, 16, 1, 33, 47, 3, 1, 1, 1, True),
    (3, 24, 2, 20, 20, 5, 2, 2, 1, False),
    (1, 7, 1, 31, 17, 7, 1, 3, 2, True),
    (4, 8, 1, 12, 64, 1, 3, 0, 1, False),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_random_shapes_forward_and_backward(case, dtype, channels_last):
    n, c, mult, h, w, k, stride, padding, dilation, with_bias = case
    torch.manual_seed(hash((case, str(dtype), channels_last)) % 1000)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(n, c, h, w, device="cuda").to(dtype).contiguous(memory_format=fmt).requires_grad_()
    weight = torch.randn(c * mult, 1, k, k, device="cuda").to(dtype).requires_grad_()
    bias = torch.randn(c * mult, device="cuda").to(dtype).requires_grad_() if with_bias else None
    before = routed_count()
    y = depthwise_conv2d(x, weight, bias, stride, padding, dilation)
    assert routed_count() == before + 1
    assert y.is_contiguous(memory_format=fmt)
    x64, w64 = x.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
    b64 = bias.detach().double().requires_grad_() if with_bias else None
    y64 = F.conv2d(x64, w64, b64, stride, padding, dilation, c)
    assert rel_error(y.detach(), y64.detach()) < TOLERANCE[dtype]

    grad = torch.randn_like(y64)
    y.backward(grad.to(dtype))
    torch.cuda.synchronize()
    assert routed_count() == before + 3  # both gradients on dwshim's kernels
    y64.backward(grad)
    assert x.grad.is_contiguous(memory_format=fmt)
    assert rel_error(x.grad, x64.grad) < TOLERANCE[dtype]
    assert rel_error(weight.grad, w64.grad) < TOLERANCE[dtype]
    if with_bias:
        assert rel_error(bias.grad, b64.grad) < 2e-2  # PyTorch's own sum, in the tensor's type


@pytest.mark.parametrize("channels_last", [False, True])
def test_filter_gradient_is_bitwise_reproducible(channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(11)
    x = torch.randn(8, 32, 56, 56, device="cuda").contiguous(memory_format=fmt)
    weight = torch.randn(32, 1, 3, 3, device="cuda", requires_grad=True)
    grad = torch.randn(8, 32, 56, 56, device="cuda").contiguous(memory_format=fmt)
    grads = []
    for _ in range(2):
        weight.grad = None
        depthwise_conv2d(x, weight, None, 1, 1, 1).backward(grad)
        grads.append(weight.grad.clone())
    assert torch.equal(grads[0], grads[1])


def test_double_backward_matches_float64():
    torch.manual_seed(5)
    x = torch.randn(2, 8, 20, 24, device="cuda", requires_grad=True)
    weight = torch.randn(8, 1, 3, 3, device="cuda", requires_grad=True)
    x64 = x.detach().double().requires_grad_()
    w64 = weight.detach().double().requires_grad_()
    results = []
    for conv, a, w in ((lambda a, w: depthwise_conv2d(a, w, None, 1, 1, 1), x, weight),
                       (lambda a, w: F.conv2d(a, w, None, 1, 1, 1, 8), x64, w64)):
        grad_x, = torch.autograd.grad((conv(a, w) ** 2).sum(), a, create_graph=True)
        grad_w, = torch.autograd.grad(grad_x.pow(2).sum(), w)
        results.append(grad_w)
    assert rel_error(results[0], results[1]) < 1e-5


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fewer than 2 GPUs")
@pytest.mark.parametrize("channels_last", [False, True])
def test_tensors_on_the_second_gpu_while_the_first_is_current(channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(7)
    x = torch.randn(2, 16, 40, 48, device="cuda:1").contiguous(memory_format=fmt)
    weight = torch.randn(16, 1, 3, 3, device="cuda:1")
    with torch.cuda.device(0):
        before = routed_count()
        y = depthwise_conv2d(x, weight, None, 1, 1, 1)
        assert routed_count() == before + 1
        assert torch.cuda.current_device() == 0
    assert y.device == x.device
    reference = F.conv2d(x.double(), weight.double(), None, 1, 1, 1, 16)
    assert rel_error(y, reference) < 1e-5


def test_cuda_graph_capture_replays_the_kernel():
    model = ModelNew(16, 16, 3, padding=1).cuda()
    static_x = torch.randn(2, 16, 32, 32, device="cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(stream):
        model(static_x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        static_y = model(static_x)
    for _ in range(2):
        static_x.copy_(torch.randn_like(static_x))
        graph.replay()
        torch.cuda.synchronize()
        with torch.no_grad():
            expected = F.conv2d(static_x.double(), model.conv2d.weight.double(), None, 1, 1, 1, 16)
        assert rel_error(static_y, expected) < 1e-5


def _run_program(tmp_path, name, extra_env, options=()):
    out = str(tmp_path / (name + ".pt"))
    env = dict(os.environ, **extra_env)
    program = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preload_program.py")
    result = subprocess.run([sys.executable, program, out] + list(options), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    assert result.returncode == 0, result.stderr
    saved = torch.load(out)
    return saved["outputs"], saved["kernels"], result.stderr


def _preloaded_and_plain(tmp_path, api_env, options=()):
    """The program's outputs without and with dwshim preloaded, and the preloaded run's log."""
    plain, plain_kernels, _ = _run_program(tmp_path, "plain", api_env, options)
    preloaded, kernels, log = _run_program(tmp_path, "preloaded", dict(api_env, LD_PRELOAD=_library.load()._name,
                                                                       DWSHIM_LOG="1", DWSHIM_STATS="1"), options)
    print(log[-3000:])
    # The GPU itself ran dwshim's kernels, and only under the preload.
    assert any("dwshim" in name for name in kernels), kernels
    assert not any("dwshim" in name for name in plain_kernels), plain_kernels
    return plain, preloaded, log


def _routed(log):
    """Routed convolutions in the busiest process of the run (torch.compile starts helper processes)."""
    counts = [int(line.split()[2]) for line in log.splitlines()
              if line.startswith("dwshim summary:") and "convolutions routed" in line]
    return max(counts) if counts else 0


def _report(name, log, plain, preloaded):
    """Appends routed/forwarded counts and errors to $DWSHIM_TEST_REPORT, for the measurement notes."""
    path = os.environ.get("DWSHIM_TEST_REPORT")
    if not path:
        return
    summary = [line[len("dwshim summary: "):] for line in log.splitlines() if line.startswith("dwshim summary:")]
    errors = ", ".join("%s %.2e" % (key, rel_error(preloaded[key], plain[key].double())) for key in plain)
    with open(path, "a") as f:
        f.write("%s: %s; rel. error vs no preload: %s\n" % (name, "; ".join(summary), errors))


def _assert_same(plain, preloaded, tolerance_fp32=1e-5, tolerance_low=1e-2, untouched_bitwise=True):
    assert plain, "the program produced nothing to compare"
    for key, expected in plain.items():
        assert torch.isfinite(expected).all(), key + ": the reference itself is not finite"
        tolerance = tolerance_fp32 if ("f32" in key or "fp32" in key) else tolerance_low
        assert rel_error(preloaded[key], expected.double()) < tolerance, key
    for key in plain if untouched_bitwise else ():
        if key.startswith(("dense", "grouped")):
            assert torch.equal(preloaded[key], plain[key]), key  # calls we do not take are untouched


def _depthwise_keys(outputs):
    return [key for key in outputs if not key.startswith(("dense", "grouped"))]


def test_ld_preload_legacy_api_routes_depthwise_convs(tmp_path):
    plain, preloaded, log = _preloaded_and_plain(tmp_path, {"TORCH_CUDNN_V8_API_DISABLED": "1"})
    _report("legacy API convs", log, plain, preloaded)
    assert "cudnnConvolutionForward routed" in log
    assert _routed(log) >= len(_depthwise_keys(plain)), log
    _assert_same(plain, preloaded)


@pytest.mark.parametrize("options", [(), ("--benchmark",), ("--compile",)])
def test_ld_preload_backend_api_routes_depthwise_convs(tmp_path, options):
    plain, preloaded, log = _preloaded_and_plain(tmp_path, {}, options)
    _report("backend API convs %s" % " ".join(options), log, plain, preloaded)
    assert "cudnnBackendExecute routed" in log
    assert _routed(log) >= len(_depthwise_keys(plain)), log
    # Autotuning may pick another algorithm for the convs we leave alone, so only then is bitwise too strict.
    _assert_same(plain, preloaded, untouched_bitwise="--benchmark" not in options)


def _routed_in(log, direction):
    """Routed convolutions of one direction (fwd, dgrad, wgrad) in the busiest process of the run."""
    counts = [int(line.split()[2]) for line in log.splitlines()
              if line.startswith("dwshim summary:") and line.endswith("%s convolutions routed" % direction)]
    return max(counts) if counts else 0


@pytest.mark.parametrize("api", ["legacy", "backend"])
def test_ld_preload_gradients_match(tmp_path, api):
    api_env = {"TORCH_CUDNN_V8_API_DISABLED": "1"} if api == "legacy" else {}
    plain, preloaded, log = _preloaded_and_plain(tmp_path, api_env, ("--gradients",))
    _report("%s API gradients" % api, log, plain, preloaded)
    assert _routed_in(log, "dgrad") > 0, log
    assert _routed_in(log, "wgrad") > 0, log
    _assert_same(plain, preloaded)


@pytest.mark.parametrize("model", ["mobilenet_v3_small", "efficientnet_b0", "convnext_tiny"])
def test_ld_preload_torchvision_model_logits_match(tmp_path, model):
    pytest.importorskip("torchvision")
    plain, preloaded, log = _preloaded_and_plain(tmp_path, {}, ("--model", model))
    _report(model, log, plain, preloaded)
    assert _routed(log) > 0, log
    _assert_same(plain, preloaded, tolerance_fp32=1e-4, tolerance_low=2e-2)
