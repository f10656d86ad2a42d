"""Rooms a newcomer can read: no module of envs/ or agents/ over 400 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["envs", "agents"])
def test_no_module_over_400_lines(folder):
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _modules(folder)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, "split these modules:\n" + "\n".join(long)


@pytest.mark.parametrize("folder", ["envs", "agents"])
def test_no_function_over_60_lines(folder):
    long = []
    for p in _modules(folder):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}: {n}")
    assert not long, "split these functions:\n" + "\n".join(long)
