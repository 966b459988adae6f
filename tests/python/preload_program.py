"""An ordinary PyTorch program with depthwise convs (and dense and grouped ones, which must stay cuDNN's).
Nothing in it knows about dwshim. Writes its outputs to the file named by argv[1].

Options: --benchmark (cudnn.benchmark = True), --compile (torch.compile the conv modules),
         --model NAME (a torchvision model, random weights, channels_last; fp32 and AMP fp16 logits),
         --gradients (the input and weight gradients of each conv instead of its output).
"""
import argparse

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--benchmark", action="store_true")
parser.add_argument("--compile", action="store_true")
parser.add_argument("--model")
parser.add_argument("--gradients", action="store_true")
args = parser.parse_args()

torch.backends.cudnn.allow_tf32 = False  # fp32 stays fp32, so runs compare at fp32 tolerance
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.benchmark = args.benchmark
torch.backends.cudnn.deterministic = args.gradients  # convs left to cuDNN give the same gradients in each run
torch.manual_seed(0)
outputs = {}


def run_model(name):
    import torchvision

    model = getattr(torchvision.models, name)(num_classes=100).cuda()
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(8, 3, 160, 160, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        # Calibrate batch-norm statistics, as after training: random weights with unit running variance would
        # overflow fp16 activations.
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None
        model.train()
        model(x)
        model.eval()
        outputs["fp32"] = model(x).float().cpu()
        with torch.autocast("cuda", dtype=torch.float16):
            outputs["amp_fp16"] = model(x).float().cpu()


def run_convs():
    cases = [
        # name, dtype, channels_last, groups (None = depthwise), stride, padding
        ("f32_nhwc_s1", torch.float32, True, None, 1, 1),
        ("f32_nhwc_s2", torch.float32, True, None, 2, 0),
        ("f16_nhwc_s1", torch.float16, True, None, 1, 1),
        ("bf16_nhwc_s1", torch.bfloat16, True, None, 1, 1),
        ("f16_nchw_s1", torch.float16, False, None, 1, 1),  # fp16 NCHW stride 2 stays on PyTorch's own kernel
        ("bf16_nhwc_s2", torch.bfloat16, True, None, 2, 1),
        ("dense_f32_nhwc", torch.float32, True, 1, 1, 1),
        ("grouped_f16_nhwc", torch.float16, True, 8, 1, 1),
    ]
    for name, dtype, channels_last, groups, stride, padding in cases:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        conv = nn.Conv2d(32, 32, 3, stride=stride, padding=padding, groups=groups or 32, bias=True)
        conv = conv.cuda().to(dtype).to(memory_format=fmt)
        if args.compile:
            conv = torch.compile(conv)
        x = torch.randn(4, 32, 40, 56, device="cuda", dtype=dtype).contiguous(memory_format=fmt)
        try:
            if args.gradients:
                x.requires_grad_(True)
                y = conv(x)
                y.backward(torch.randn_like(y))
                outputs[name + "/dx"] = x.grad.float().cpu()
                outputs[name + "/dw"] = conv.weight.grad.float().cpu()
            else:
                with torch.no_grad():
                    outputs[name] = conv(x).float().cpu()
        except RuntimeError as error:  # some PyTorch builds reject a case on one API: report, go on
            print("case %s failed: %s" % (name, str(error).splitlines()[0]))


with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profile:
    if args.model:
        run_model(args.model)
    else:
        run_convs()
    torch.cuda.synchronize()
kernels = sorted({event.name for event in profile.events() if event.device_type == torch.autograd.DeviceType.CUDA})
torch.save({"outputs": outputs, "kernels": kernels}, args.out)
