"""An ordinary PyTorch program with channels_last depthwise convs: nothing in it knows about dwshim.
Writes its outputs to the file named by argv[1]."""
import sys

import torch
import torch.nn as nn

torch.backends.cudnn.allow_tf32 = False  # fp32 stays fp32, so runs compare at fp32 tolerance
torch.manual_seed(0)
outputs = {}
for dtype in (torch.float32, torch.float16):
    for stride, padding in ((1, 1), (2, 0)):
        conv = nn.Conv2d(32, 32, 3, stride=stride, padding=padding, groups=32, bias=False)
        conv = conv.cuda().to(dtype).to(memory_format=torch.channels_last)
        x = torch.randn(4, 32, 40, 56, device="cuda", dtype=dtype).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            outputs["%s_s%d" % (dtype, stride)] = conv(x).float().cpu()
torch.save(outputs, sys.argv[1])
