"""The installed package is ``banditsim``: no top-level ``envs``, ``agents`` or ``sim`` module.

The repository keeps the design card's folders envs/, agents/ and sim/; setup.py installs them as
``banditsim.envs``, ``banditsim.agents`` and ``banditsim.sim``. Generic top-level names would clash
with other packages (OpenAI's Agents SDK installs a top-level ``agents``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("envs", "agents", "sim")
SOURCES = ("banditsim", "envs", "agents", "sim", "tests", "bench")


def _top_level_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import whose first component is one of the bare folder names."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in FOLDERS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FOLDERS:
                found.append((node.lineno, node.module))
    return found


def _python_files():
    for top in SOURCES:
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_source_imports_a_bare_folder_name():
    bad = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        bad += [f"{path.relative_to(ROOT)}:{line}: {mod}" for line, mod in _top_level_imports(tree)]
    assert not bad, "import banditsim.<folder> instead of the bare folder:\n" + "\n".join(bad)


def test_no_notebook_imports_a_bare_folder_name():
    bad = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            source = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
            bad += [f"{nb.name} cell {i}: {mod}" for _, mod in _top_level_imports(ast.parse(source))]
    assert not bad, "\n".join(bad)


def test_module_strings_name_the_installed_package():
    """Entry points, monkeypatch targets and ``-m`` commands written as strings use banditsim.*."""
    pattern = re.compile(r"""["'](?:-m\s+)?(envs|agents|sim)\.[a-z_]+(?:\.[a-z_]+)*(?::\w+)?["']""")
    bad = []
    for path in _python_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                mod = m.group(0).strip("\"'").split(":")[0].split()[-1].split(".")
                if (ROOT / mod[0] / f"{mod[1]}.py").exists() or (ROOT / mod[0] / mod[1]).is_dir():
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
    assert not bad, "\n".join(bad)


def _fresh_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter whose working folder is not the repository (``-I``: the
    repository is not on sys.path through the current folder or PYTHONPATH)."""
    return subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("name", FOLDERS)
def test_bare_folder_names_are_not_installed(tmp_path, name):
    proc = _fresh_python(f"import {name}", tmp_path)
    assert proc.returncode != 0 and f"No module named '{name}'" in proc.stderr, proc.stderr[-2000:]


def test_import_banditsim_registers_the_envs_and_gym_make_runs(tmp_path):
    code = """
import numpy as np, gymnasium as gym, banditsim
gym.register_envs(banditsim)
rng = np.random.default_rng(0)
items = rng.normal(size=(30, 8)); items /= np.linalg.norm(items, axis=1, keepdims=True)
env = gym.make("banditsim/Recommend-v0", item_vectors=items, max_steps=5)
obs, info = env.reset(seed=1)
total = 0.0
for _ in range(5):
    obs, r, term, trunc, info = env.step(env.action_space.sample())
    total += r
    if term or trunc:
        break
import banditsim.agents, banditsim.sim, banditsim.envs
print(type(env.unwrapped).__module__, banditsim.__version__, sorted(banditsim.ENV_IDS))
"""
    proc = _fresh_python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[0] == "banditsim.envs.recommend_env", proc.stdout


def test_the_docs_name_the_installed_package_in_import_examples():
    """Prose and notebook text say ``import banditsim``/``banditsim.envs``, never a bare folder."""
    pattern = re.compile(r"`(?:import|from) (?:envs|agents|sim)\b")
    bad = []
    for path in [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "bench" / "README.md",
                 *sorted((ROOT / "notebooks").glob("*.ipynb")), *_python_files()]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not bad, "\n".join(bad)
