"""Every repository path, ``banditsim.…`` name and private code name the documentation mentions exists.

README.md, ARCHITECTURE.md and bench/README.md point readers at files (``envs/world/core.py``,
``configs/quickstart.yaml``), at names in them (``agents/_linear/posterior_disjoint.py:scores``),
at importable names (``banditsim.sim.stats.intervals.mean_ci``, never the folder-relative
``sim.stats.intervals``) and at code by name (``World.step``, ``_gram_cols``). Modules move and
functions are renamed; a mention that was right when it was written then sends the reader nowhere.
A path under one of the repository's folders must exist (a trailing ``/`` names a folder) and a
``file.py:name`` must define ``name``; a dotted ``banditsim`` name must import, its last parts read
as attributes of the longest importable module; a backticked ``_private`` name, or ``Class.attr`` of
a class of ours, must be defined somewhere in the package (or be one of its modules). Paths of a
user's own files (the walks' ``agents/my_agent.py``) are not repository paths: they are listed in
``NOT_IN_REPO``. The package's own docstrings and comments name only paths that exist and
``banditsim`` names that import.
"""
from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "ARCHITECTURE.md", "bench/README.md")
FOLDERS = ("envs", "agents", "sim", "banditsim", "tests", "bench", "configs", "notebooks")

# folder/…/name.ext or folder/…/ (a folder), not inside a URL or a longer path
PATH = re.compile(r"(?<![\w/.~-])((?:" + "|".join(FOLDERS) + r")/(?:[\w.-]+/)*(?:[\w-]+(?:\.[\w-]+)*\.[a-z]+\b|(?=[\s`)|,;:]|$)))")
DOTTED = re.compile(r"(?<![\w./-])banditsim(?:\.[A-Za-z_]\w*)+")

PATH_NAME = re.compile(r"(?<![\w/.~-])((?:" + "|".join(FOLDERS) + r")/[\w/.-]*\.py):([A-Za-z_]\w*)")
TICKED = re.compile(r"`([^`\n]+)`")
FOLDER_RELATIVE = re.compile(r"(?<=`)~?((?:envs|agents|sim)(?:\.[A-Za-z_]\w*)+)(?=`)")
CODE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")

NOT_IN_REPO = {
    "agents/my_agent.py", "sim/ope/my_estimator.py", "banditsim.sim.ope.my_estimator",  # the walks' new files
    "banditsim.sim.ope.module",  # README: stands for any estimator's module
    "bench/results/latest.json", "bench/results/latest.md",  # written by `python -m bench`, ignored by git
}


def _lines(*docs: str):
    for doc in docs or DOCS:
        for n, line in enumerate((ROOT / doc).read_text(encoding="utf-8").splitlines(), 1):
            yield doc, n, line


def _mentions(pattern: re.Pattern) -> list[tuple[str, int, str]]:
    return [(d, n, m.group(1) if m.groups() else m.group(0)) for d, n, line in _lines() for m in pattern.finditer(line)]


def _defined_names(files) -> tuple[set[str], set[str]]:
    """(every name a def, class, assignment, argument or import binds, the class names) in ``files``."""
    names, classes = set(), set()
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                if isinstance(node, ast.ClassDef):
                    classes.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
    return names, classes


def _package_files():
    for top in ("envs", "agents", "sim", "banditsim"):
        yield from (ROOT / top).rglob("*.py")


def _resolves(dotted: str) -> bool:
    """True when ``dotted`` is a module, or attributes of the longest prefix that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_the_docs_mention_paths_at_all():
    """The patterns still find the docs' paths (a broken pattern would pass every check below)."""
    paths = {p for _, _, p in _mentions(PATH)}
    assert {"envs/world/", "sim/run/play.py", "tests/reliability/", "configs/quickstart.yaml"} <= paths
    assert len(paths) > 50
    assert len(_mentions(PATH_NAME)) > 3
    assert len({d for _, _, d in _mentions(DOTTED)}) > 10


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_exists(doc):
    missing = [f"{d}:{n}: {p}" for d, n, p in _mentions(PATH)
               if d == doc and p not in NOT_IN_REPO and not (ROOT / p).exists()]
    for d, n, line in _lines(doc):
        for m in PATH_NAME.finditer(line):
            path, name = m.groups()
            if (ROOT / path).exists() and name not in _defined_names([ROOT / path])[0]:
                missing.append(f"{d}:{n}: {path}:{name} (no {name} in {path})")
    assert not missing, "paths the docs name that the repository does not have:\n" + "\n".join(missing)


@pytest.mark.parametrize("doc", DOCS)
def test_every_banditsim_name_imports(doc):
    broken = sorted({f"{d}:{n}: {name}" for d, n, name in _mentions(DOTTED)
                     if d == doc and name not in NOT_IN_REPO and not _resolves(name)})
    assert not broken, "banditsim names the docs mention that do not import:\n" + "\n".join(broken)


@pytest.mark.parametrize("doc", DOCS)
def test_no_module_is_named_by_its_folder_alone(doc):
    """``sim.run.play`` is not importable (the package is ``banditsim``): docs write the import path."""
    short = [f"{d}:{n}: {m.group(1)}" for d, n, line in _lines(doc) for m in TICKED.finditer(line)
             if re.fullmatch(r"(?:envs|agents|sim)(?:\.[A-Za-z_]\w*)+", re.sub(r"\(.*\)$", "", m.group(1).strip("~")))]
    assert not short, "write these as banditsim.<name>:\n" + "\n".join(short)


@pytest.mark.parametrize("doc", DOCS)
def test_every_private_or_class_attribute_name_is_defined(doc):
    names, classes = _defined_names(_package_files())
    names |= {f.stem for f in _package_files()} | {f.parent.name for f in _package_files()}  # `_xp`, `_thompson`
    unknown = []
    for d, n, line in _lines(doc):
        for m in TICKED.finditer(line):
            text = re.sub(r"\(.*\)$", "", m.group(1).strip())
            if not CODE_NAME.fullmatch(text) or text.startswith("banditsim."):
                continue
            parts = text.split(".")
            ours = (parts[0].startswith("_") and not parts[0].startswith("__")) or (len(parts) > 1 and parts[0] in classes)
            if ours and not all(p in names for p in parts):
                unknown.append(f"{d}:{n}: {text}")
    assert not unknown, "code names the docs mention that the package does not define:\n" + "\n".join(unknown)


def _doc_lines(path: Path):
    """(line number, text) of the docstring and comment lines of a module."""
    src = path.read_text(encoding="utf-8")
    keep = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            keep.update(range(node.lineno, node.end_lineno + 1))
    keep.update(t.start[0] for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.COMMENT)
    lines = src.splitlines()
    return [(n, lines[n - 1]) for n in sorted(keep)]


def test_docstrings_and_comments_name_existing_paths_and_modules():
    """A docstring that names ``tests/agents/test_private_limit.py`` or ``banditsim.sim.run.play``
    sends its reader there: the file must exist and the name must import."""
    wrong = []
    for path in sorted(_package_files()):
        for n, line in _doc_lines(path):
            where = f"{path.relative_to(ROOT)}:{n}"
            wrong += [f"{where}: {m.group(1)}" for m in PATH.finditer(line) if not (ROOT / m.group(1)).exists()]
            wrong += [f"{where}: {m.group(0)}" for m in DOTTED.finditer(line) if not _resolves(m.group(0))]
    assert not wrong, "docstrings and comments name what does not exist:\n" + "\n".join(wrong)


def test_docstrings_name_modules_by_their_import_paths():
    """``:mod:`envs.world``` does not import since the folders install as ``banditsim.*``."""
    short = [f"{path.relative_to(ROOT)}:{n}: {m.group(1)}" for path in sorted(_package_files())
             for n, line in _doc_lines(path) for m in FOLDER_RELATIVE.finditer(line)]
    assert not short, "write these as banditsim.<name>:\n" + "\n".join(short)
