"""An unmodified PyTorch program with depthwise convs PyTorch runs on its own kernel (fp32/bf16 NCHW): forward,
backward, torch.compile and a CUDA graph. Saves every output and gradient to argv[1]. It never imports dwshim:
tests run it plain and under dwshim-run and compare."""
import sys

import torch
import torch.nn as nn

# name: (dtype, N, C, H, W, kernel, stride, padding, multiplier, bias)
CASES = {
    "kb84_f32": (torch.float32, 2, 128, 256, 512, 3, 1, 0, 1, False),
    "padded_f32": (torch.float32, 32, 144, 112, 112, 3, 1, 1, 1, True),
    "stride2_f32": (torch.float32, 32, 96, 112, 112, 3, 2, 1, 1, False),
    "k7_f32": (torch.float32, 16, 128, 112, 112, 7, 1, 3, 1, False),
    "mult2_f32": (torch.float32, 16, 64, 128, 128, 3, 1, 1, 2, False),
    "large31_f32": (torch.float32, 4, 64, 56, 56, 31, 1, 15, 1, False),
    "kb84_bf16": (torch.bfloat16, 2, 128, 256, 512, 3, 1, 0, 1, False),
    "small_f32": (torch.float32, 2, 8, 16, 16, 3, 1, 1, 1, False),
}


def main():
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    results = {}
    for seed, (name, (dtype, n, c, h, w, k, stride, pad, mult, bias)) in enumerate(CASES.items()):
        torch.manual_seed(seed)
        conv = nn.Conv2d(c, c * mult, k, stride, pad, groups=c, bias=bias).cuda().to(dtype)
        x = torch.randn(n, c, h, w, device="cuda", dtype=dtype, requires_grad=True)
        y = conv(x)
        grad_y = torch.randn_like(y)
        (y * grad_y).sum().backward()
        results[name + "/y"] = y.detach().cpu()
        results[name + "/grad_x"] = x.grad.cpu()
        results[name + "/grad_w"] = conv.weight.grad.cpu()
        if bias:
            results[name + "/grad_b"] = conv.bias.grad.cpu()
    conv = nn.Conv2d(128, 128, 3, groups=128).cuda()
    x = torch.randn(2, 128, 256, 512, device="cuda")
    with torch.no_grad():
        if hasattr(torch, "compile"):
            results["compiled_f32/y"] = torch.compile(conv)(x).cpu()
        static_x = x.clone()
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm up off the capture stream, as CUDA-graph capture requires
            conv(static_x)
        torch.cuda.current_stream().wait_stream(side)
        with torch.cuda.graph(graph):
            static_y = conv(static_x)
        static_x.copy_(torch.randn_like(x))
        graph.replay()
        torch.cuda.synchronize()
        results["graph_f32/y"] = static_y.cpu()
        results["graph_f32/expected"] = conv(static_x).cpu()
    torch.save(results, sys.argv[1])


if __name__ == "__main__":
    main()
