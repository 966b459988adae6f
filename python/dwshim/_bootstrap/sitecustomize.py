"""Imported by Python at start-up because dwshim-run puts this folder first on PYTHONPATH.

Installs dwshim's PyTorch hook (dwshim.hook) right after the program imports torch, so programs that never
import torch pay nothing, then runs the sitecustomize module this one shadows, if the environment has one.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _install_hook():
    try:
        from dwshim import hook

        hook.install()
    except Exception as error:  # the program must run even where the hook cannot
        sys.stderr.write("dwshim-run: PyTorch hook not installed: %s: %s\n" % (type(error).__name__, error))


class _InstallAfterExec(importlib.abc.Loader):
    """torch's own loader, plus the hook once the module has executed."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _install_hook()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _TorchImportWatcher(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)  # one import of torch only; the other finders locate it
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _InstallAfterExec(spec.loader)
        return spec


def _run_shadowed_sitecustomize():
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


if "torch" in sys.modules:
    _install_hook()
else:
    sys.meta_path.insert(0, _TorchImportWatcher())
_run_shadowed_sitecustomize()
