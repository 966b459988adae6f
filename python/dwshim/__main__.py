"""python -m dwshim --version: what dwshim-run --version prints."""
import sys

from . import _version_report

if __name__ == "__main__":
    if sys.argv[1:] != ["--version"]:
        sys.exit("usage: python -m dwshim --version")
    print(_version_report.report())
