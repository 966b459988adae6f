"""Finds and loads libdwshim.so through ctypes, and declares the signatures of its C entry points."""
import ctypes
import os

_HERE = os.path.dirname(os.path.abspath(__file__))

# Mirrors enum dwshim_status in shim/dwshim.h.
OK = 0
CANNOT_IMPLEMENT = 1
LAUNCH_FAILED = 2
BAD_ARGUMENT = 3
NOT_FASTER = 4

# Mirrors enum dwshim_dtype.
FLOAT = 0
HALF = 1
BFLOAT16 = 2

Int64x4 = ctypes.c_int64 * 4
Int64x8 = ctypes.c_int64 * 8


def candidate_paths():
    """Where libdwshim.so is looked for, in order: DWSHIM_LIBRARY, beside this package, the build tree."""
    explicit = os.environ.get("DWSHIM_LIBRARY")
    if explicit:
        return [explicit]
    repo = os.path.dirname(os.path.dirname(_HERE))
    return [os.path.join(_HERE, "libdwshim.so"), os.path.join(repo, "build", "libdwshim.so")]


def _declare(lib):
    lib.dwshim_conv2d_forward.restype = ctypes.c_int
    lib.dwshim_conv2d_forward.argtypes = [
        ctypes.c_int,  # dtype
        Int64x4, Int64x4, ctypes.c_void_p,  # x sizes, strides, data
        ctypes.c_void_p, ctypes.c_void_p,  # filter, bias
        Int64x8,  # geometry
        Int64x4, Int64x4, ctypes.c_void_p,  # y sizes, strides, data
        ctypes.c_float, ctypes.c_float,  # alpha, beta
        ctypes.c_void_p,  # stream
    ]
    lib.dwshim_conv2d_forward_if_faster.restype = ctypes.c_int
    lib.dwshim_conv2d_forward_if_faster.argtypes = lib.dwshim_conv2d_forward.argtypes
    lib.dwshim_conv2d_backward_data.restype = ctypes.c_int
    lib.dwshim_conv2d_backward_data.argtypes = [
        ctypes.c_int,  # dtype
        Int64x4, Int64x4, ctypes.c_void_p,  # dx sizes, strides, data
        ctypes.c_void_p,  # filter
        Int64x8,  # geometry
        Int64x4, Int64x4, ctypes.c_void_p,  # dy sizes, strides, data
        ctypes.c_float, ctypes.c_float,  # alpha, beta
        ctypes.c_void_p,  # stream
    ]
    lib.dwshim_conv2d_backward_filter_workspace_size.restype = ctypes.c_int
    lib.dwshim_conv2d_backward_filter_workspace_size.argtypes = [
        ctypes.c_int, Int64x4, Int64x4, Int64x8, Int64x4, Int64x4, ctypes.POINTER(ctypes.c_size_t)]
    lib.dwshim_conv2d_backward_filter.restype = ctypes.c_int
    lib.dwshim_conv2d_backward_filter.argtypes = [
        ctypes.c_int,  # dtype
        Int64x4, Int64x4, ctypes.c_void_p,  # x sizes, strides, data
        ctypes.c_void_p,  # dfilter
        Int64x8,  # geometry
        Int64x4, Int64x4, ctypes.c_void_p,  # dy sizes, strides, data
        ctypes.c_float, ctypes.c_float,  # alpha, beta
        ctypes.c_void_p, ctypes.c_size_t,  # workspace, its bytes
        ctypes.c_void_p,  # stream
    ]
    lib.dwshim_conv2d_if_faster_query.restype = ctypes.c_int
    lib.dwshim_conv2d_if_faster_query.argtypes = [
        ctypes.c_int, ctypes.c_int, Int64x4, Int64x4, Int64x8, Int64x4, Int64x4, ctypes.POINTER(ctypes.c_size_t)]
    lib.dwshim_tune_record_torch_native.restype = ctypes.c_int
    lib.dwshim_tune_record_torch_native.argtypes = [
        ctypes.c_int, ctypes.c_int, Int64x4, Int64x4, Int64x8, Int64x4, Int64x4, ctypes.c_double, ctypes.c_double]
    lib.dwshim_real_cudnn_path.restype = ctypes.c_char_p
    lib.dwshim_real_cudnn_path.argtypes = []
    lib.dwshim_decision_count.restype = ctypes.c_uint64
    lib.dwshim_decision_count.argtypes = [ctypes.c_int]
    lib.dwshim_reason_text.restype = ctypes.c_char_p
    lib.dwshim_reason_text.argtypes = [ctypes.c_int]
    lib.cudnnGetVersion.restype = ctypes.c_size_t
    lib.cudnnGetVersion.argtypes = []
    lib.cudnnGetErrorString.restype = ctypes.c_char_p
    lib.cudnnGetErrorString.argtypes = [ctypes.c_int]
    return lib


_loaded = None


def load():
    """The loaded library; raises OSError naming every path tried when none loads."""
    global _loaded
    if _loaded is None:
        errors = []
        for path in candidate_paths():
            try:
                _loaded = _declare(ctypes.CDLL(path))
                break
            except OSError as error:
                errors.append("%s: %s" % (path, error))
        else:
            raise OSError("libdwshim.so not found (set DWSHIM_LIBRARY): " + "; ".join(errors))
    return _loaded


def available():
    try:
        load()
        return True
    except OSError:
        return False
