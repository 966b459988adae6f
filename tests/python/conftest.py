import os
import sys

# DWSHIM_TEST_INSTALLED=1: test the dwshim package pip installed (CI), not the repository's python/ folder.
if not os.environ.get("DWSHIM_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                    "python"))
