"""dwshim: fast depthwise convolutions behind cuDNN's API, and a ctypes front end for PyTorch."""
__version__ = "0.4.0"

from ._library import available, load  # noqa: E402

__all__ = ["__version__", "available", "load"]
