"""Prints the named environment variables, '-' for unset ones (for the launcher tests)."""
import os
import sys

print(" ".join(os.environ.get(name, "-") for name in sys.argv[1:]))
