"""The static rules KernelBench applies to a "cuda" submission before it runs it (its kernel_static_checker, as
../shared/FACTS.md describes them), so a generated file can be checked here, without KernelBench installed.

Errors reject the file; warnings are reported. dwshim's files must have neither.
"""
import re


def _code_lines(text):
    """The text with what KernelBench treats as comments removed: everything after '#' or '//' on a line."""
    lines = []
    for line in text.split("\n"):
        for marker in ("#", "//"):
            if marker in line:
                line = line[: line.index(marker)]
        lines.append(line)
    return "\n".join(lines)


_TORCH_OPS = ("mm", "bmm", "matmul", "einsum", "conv1d", "conv2d", "conv3d", "conv", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "relu", "tanh", "sigmoid", "softmax", "linear",
              "batch_norm", "layer_norm", "clamp", "dropout")

_ERRORS = [
    (r"\btry\s*:|\bexcept\s*:|\bexcept\s+\w+", "try/except (fallback bypass)"),
    (r"\bpass\b", "the word 'pass' (inheritance bypass)"),
    (r"torch\.cuda\.Event\.(record|elapsed_time)\s*=|torch\.cuda\.(synchronize|Event)\s*=|"
     r"time\.(perf_counter|time)\s*=", "a timing function reassigned"),
    (r"import\s+threading|from\s+threading\s+import|threading\.Thread\s*\(|import\s+multiprocessing|"
     r"multiprocessing\.|concurrent\.futures|ThreadPoolExecutor|ProcessPoolExecutor", "threads or processes"),
    (r"_make_subclass|class\s+\w+.*\((torch\.)?Tensor\)|torch\.Tensor\.__new__", "a lazy tensor"),
]

_WARNINGS = [
    (r"torch\.nn\.(?!(Module|parameter|Parameter|ParameterList|ParameterDict|ModuleList|ModuleDict|init)\b)",
     "a torch.nn compute layer"),
    (r"\b(" + "|".join(re.escape("torch." + op) for op in _TORCH_OPS) + r")(?=\s*\(|\s|$)", "a torch compute op"),
    (r"torch\.nn\.functional\.\w+|\bnn\.functional\.\w+|"
     r"\bF\.(conv|linear|relu|gelu|softmax|batch_norm|layer_norm|dropout|max_pool|avg_pool)", "a functional op"),
    (r"torch\.cuda\.Stream\s*\(|cuda\.Stream\s*\(|with\s+torch\.cuda\.stream|\.wait_stream\s*\(|"
     r"\.record_stream\s*\(", "CUDA streams"),
    # fp32 problems: any fp32 -> fp16 conversion reads as a precision downgrade.
    (r"__float2half(_rn)?\s*\(|\(\s*__half\s*\)\s*[\w\->\.]+|static_cast\s*<\s*(__half|half)\s*>\s*\(|"
     r"\.half\s*\(|\.float16\s*\(|\.to\s*\(\s*(dtype\s*=\s*)?torch\.(float16|half)\b", "an fp16 conversion"),
]


def check(text):
    """(errors, warnings): lists of what KernelBench's static rules would report for this file's text."""
    code = _code_lines(text)
    errors = [what for pattern, what in _ERRORS if re.search(pattern, code)]
    if "__global__" not in code:
        errors.append("no __global__ kernel definition")
    if "load_inline" not in code and "cpp_extension" not in code:
        errors.append("no load_inline or cpp_extension")
    if not re.search(r"\b(threadIdx|blockIdx|blockDim|gridDim)\.|__syncthreads\s*\(|__shared__\s|__device__\s",
                     code):
        errors.append("no CUDA thread indexing or kernel features")
    warnings = [what for pattern, what in _WARNINGS if re.search(pattern, code)]
    return errors, warnings
