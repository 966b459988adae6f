"""KernelBench level 1 problem 84 (depthwise conv2d, asymmetric input, square kernel) on dwshim's kernel."""
import torch.nn as nn

from .functional import depthwise_conv2d


class ModelNew(nn.Module):
    """Same constructor, parameters and state_dict keys as the problem's Model; forward on dwshim's kernel."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=False):
        super(ModelNew, self).__init__()
        # The same nn.Conv2d as Model, so parameters are drawn identically from the same seed.
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size=(kernel_size, kernel_size), stride=stride,
                                padding=padding, groups=in_channels, bias=bias)

    def forward(self, x):
        conv = self.conv2d
        return depthwise_conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation)
