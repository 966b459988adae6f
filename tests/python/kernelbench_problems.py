"""KernelBench level 1's depthwise problems 82-86 as the benchmark states them: each Model's constructor, its init
inputs and its input shape (written here from the problem statements; 84 is kernelbench_84.py)."""
import torch
import torch.nn as nn

import kernelbench_84


class Model82(nn.Module):
    def __init__(self, in_channels, kernel_size, stride=1, padding=0, bias=False):
        super(Model82, self).__init__()
        self.conv2d = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                groups=in_channels, bias=bias)

    def forward(self, x):
        return self.conv2d(x)


class Model83(nn.Module):
    def __init__(self, in_channels, kernel_size, stride=1, padding=0, dilation=1, bias=False):
        super(Model83, self).__init__()
        self.conv2d = nn.Conv2d(in_channels, in_channels, kernel_size=(kernel_size, 1), stride=stride,
                                padding=padding, dilation=dilation, groups=in_channels, bias=bias)

    def forward(self, x):
        return self.conv2d(x)


class Model85(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size_h, kernel_size_w, stride_h=1, stride_w=1, padding_h=0,
                 padding_w=0, dilation_h=1, dilation_w=1, groups=1, bias=False):
        super(Model85, self).__init__()
        self.conv2d = nn.Conv2d(in_channels, in_channels, (kernel_size_h, kernel_size_w), stride=(stride_h, stride_w),
                                padding=(padding_h, padding_w), dilation=(dilation_h, dilation_w), groups=in_channels,
                                bias=bias)

    def forward(self, x):
        return self.conv2d(x)


class Model86(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=False):
        super(Model86, self).__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=in_channels, bias=bias)
        self.pointwise = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


# number: (Model, init inputs, input shape); inputs are torch.rand of that shape, as the problems draw them.
PROBLEMS = {
    82: (Model82, [64, 3, 1, 0], (16, 64, 512, 512)),
    83: (Model83, [8, 3, 1, 0, 1], (64, 8, 512, 512)),
    84: (kernelbench_84.Model, kernelbench_84.get_init_inputs(), (64, 128, 256, 512)),
    85: (Model85, [128, 128, 3, 7, 1, 1, 0, 0, 1, 1, 128], (32, 128, 128, 256)),
    86: (Model86, [64, 128, 3, 1, 1, 1], (16, 64, 512, 512)),
}


def get_inputs(number, device="cpu"):
    return [torch.rand(*PROBLEMS[number][2], device=device)]
