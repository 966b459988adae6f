"""dwshim-run, the console command a pip install provides (the build tree and cmake --install have the shell
launcher scripts/dwshim-run.in, which does the same):

    dwshim-run [--stats] [--disable] [--] PROGRAM [ARGS...]
    dwshim-run --version

Runs PROGRAM with libdwshim.so preloaded, so its cuDNN calls go through dwshim, and, for Python programs that
import torch, with dwshim's hook for the depthwise convolutions PyTorch runs on its own CUDA kernel.
  --stats    print what was routed and why not when the program exits (DWSHIM_STATS=1)
  --disable  pure pass-through: nothing routed, nothing hooked (DWSHIM_DISABLE=1)
  --version  dwshim's version, its library, the cuDNN it forwards to and the GPU
"""
import os
import sys

from . import _library, _version_report

USAGE = "usage: dwshim-run [--stats] [--disable] [--] PROGRAM [ARGS...] | --version"


def _library_path():
    """The libdwshim.so this package loads: DWSHIM_LIBRARY, beside the package, then the build tree."""
    for path in _library.candidate_paths():
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option == "--stats":
            os.environ["DWSHIM_STATS"] = "1"
        elif option == "--disable":
            os.environ["DWSHIM_DISABLE"] = "1"
        elif option == "--version":
            print(_version_report.report())
            return 0
        elif option in ("-h", "--help"):
            print(USAGE)
            return 0
        elif option == "--":
            break
        else:
            sys.stderr.write("dwshim-run: unknown option %s\n%s\n" % (option, USAGE))
            return 2
    if not args:
        sys.stderr.write(USAGE + "\n")
        return 2
    library = _library_path()
    if library is None:
        sys.stderr.write("dwshim-run: libdwshim.so not found (looked in %s)\n" % ", ".join(_library.candidate_paths()))
        return 1
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bootstrap = os.path.join(package_parent, "dwshim", "_bootstrap")
    preload = os.environ.get("LD_PRELOAD")
    os.environ["LD_PRELOAD"] = library + (":" + preload if preload else "")
    os.environ["DWSHIM_LIBRARY"] = library
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([bootstrap, package_parent] + ([path] if path else []))
    try:
        os.execvp(args[0], args)
    except OSError as error:
        sys.stderr.write("dwshim-run: %s: %s\n" % (args[0], error.strerror))
        return 127


if __name__ == "__main__":
    sys.exit(main())
