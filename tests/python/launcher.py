"""Runs programs plain and under dwshim-run (the build tree's launcher, $DWSHIM_RUN) for the hook tests."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def launcher():
    path = os.environ.get("DWSHIM_RUN")
    if not path or not os.path.exists(path):
        pytest.skip("DWSHIM_RUN does not name the built dwshim-run")
    return path


def run(args, launcher_options=None, env=None, timeout=900):
    """Runs `args` with this interpreter's environment; under dwshim-run when launcher_options is a list.
    DWSHIM_ROUTE is dropped so that the default, measured policy decides, as it would for a user."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DWSHIM_ROUTE", "LD_PRELOAD")}
    environment.update(env or {})
    command = list(args)
    if launcher_options is not None:
        command = [launcher()] + list(launcher_options) + ["--"] + command
    return subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


def python_script(name, *arguments):
    return [sys.executable, os.path.join(HERE, name)] + list(arguments)
