"""dwshim: fast depthwise convolutions behind cuDNN's API, and a ctypes front end for PyTorch."""
from ._library import available, load

__all__ = ["available", "load"]
