"""What `dwshim-run --version` and `python -m dwshim --version` print: dwshim's version, the library, the real
cuDNN it forwards to and the GPU, each found without PyTorch (it is used where it is installed, so that the
cuDNN it brings is the one reported)."""
import ctypes
import os

from . import __version__, _library


def _gpu_name():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "none (no CUDA driver)"
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return "none (the CUDA driver sees no device)"
    name = ctypes.create_string_buffer(256)
    if cuda.cuDeviceGetName(name, len(name), 0) != 0:
        return "unknown"
    return "%s (%d device%s)" % (name.value.decode(), count.value, "" if count.value == 1 else "s")


def report():
    lines = ["dwshim %s" % __version__]
    try:
        import torch  # noqa: F401  (loads the cuDNN PyTorch ships, which dwshim then forwards to)
    except ImportError:
        pass
    try:
        lib = _library.load()
    except OSError as error:
        lines.append("library: %s" % error)
        return "\n".join(lines)
    lines.append("library: %s" % os.path.abspath(lib._name))
    real = lib.dwshim_real_cudnn_path().decode()
    if real:
        v = lib.cudnnGetVersion()  # cuDNN 9: major * 10000 + minor * 100 + patch; cuDNN 8: major * 1000 + ...
        major, minor = (v // 10000, v // 100 % 100) if v >= 10000 else (v // 1000, v // 100 % 10)
        lines.append("cuDNN: %s (version %d.%d.%d)" % (real, major, minor, v % 100))
    else:
        lines.append("cuDNN: not found (set DWSHIM_CUDNN_LIBRARY)")
    lines.append("GPU: %s" % _gpu_name())
    return "\n".join(lines)
