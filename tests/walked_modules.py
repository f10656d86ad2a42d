"""The "add an X" walks run for real: a fresh interpreter whose modules carry a walk's edits.

``install(edits, new)`` puts a finder first on ``sys.meta_path``: a module named in ``edits`` is loaded
from its own source with each (old text, new text) applied (each old text must occur exactly once);
a module named in ``new`` is served from the given source, as if saved in the repository.
``run_walked`` runs a script in such an interpreter and returns the finished process.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Walked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the modules of a walk: edited existing ones and new ones."""

    def __init__(self, edits: dict[str, list[tuple[str, str]]], new: dict[str, str]):
        self.edits, self.new = edits, new

    def find_spec(self, name, path, target=None):
        if name in self.new:
            return importlib.util.spec_from_loader(name, self, origin=name.replace(".", "/") + ".py")
        if name not in self.edits:
            return None
        sys.meta_path.remove(self)
        try:
            origin = importlib.util.find_spec(name).origin
        finally:
            sys.meta_path.insert(0, self)
        return importlib.util.spec_from_file_location(name, origin, loader=self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        if name in self.new:
            src = self.new[name]
        else:
            src = Path(module.__spec__.origin).read_text(encoding="utf-8")
            for old, new in self.edits[name]:
                assert src.count(old) == 1, (name, old)
                src = src.replace(old, new)
        exec(compile(src, module.__spec__.origin, "exec"), module.__dict__)


def install(edits: dict[str, list[tuple[str, str]]], new: dict[str, str] | None = None) -> None:
    """Load the modules of ``edits`` with their edits and the modules of ``new`` from their source."""
    sys.meta_path.insert(0, Walked(edits, new or {}))


def run_walked(script: str, edits, new=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter (working folder: the repository) after :func:`install`."""
    prelude = f"from tests.walked_modules import install\ninstall({edits!r}, {new!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + script], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
