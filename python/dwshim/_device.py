"""Which GPU a launch goes to. dwshim's C entry points launch on the current device, into the stream they are
given; PyTorch makes a tensor's device current around its own CUDA kernels (the device guard its generated
wrappers add), but not around a kernel written in Python, such as the hook's or a ModelNew's forward."""
import contextlib

import torch

_NO_GUARD = contextlib.nullcontext()


def current_for(tensor):
    """A context in which tensor's GPU is the current device: a no-op where it already is."""
    index = tensor.device.index
    if index is None or index == torch.cuda.current_device():
        return _NO_GUARD
    return torch.cuda.device(index)
