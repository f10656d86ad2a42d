"""Shared fixtures: one embedding cache per test session, single-threaded torch, each taste fit once."""

from __future__ import annotations

import os

import pytest

_SESSION_CACHE: str | None = None


def pytest_configure(config):
    """Point the embedding cache at a session folder unless the caller set one."""
    global _SESSION_CACHE
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("BANDITSIM_NOTEBOOK_SIZE", "ci")
    if "BANDITSIM_CACHE_DIR" not in os.environ:
        _SESSION_CACHE = tempfile.mkdtemp(prefix="banditsim-test-cache-")
        os.environ["BANDITSIM_CACHE_DIR"] = _SESSION_CACHE
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    from tests.session_memo import install_fit_memo

    install_fit_memo()  # each distinct taste fit once per session (tests/session_memo.py)


_PACKAGE_FOLDERS = ("envs", "agents", "sim")  # installed as banditsim.envs, banditsim.agents, banditsim.sim


def pytest_collectstart(collector):
    """Run the doctests of envs/, agents/ and sim/ in the installed modules (``banditsim.envs.world.core``).

    pytest would import ``envs/world/core.py`` under the folder's name, ``envs.world.core``: a second copy
    of the module, with its own registries and classes, beside the ``banditsim.envs.world.core`` the rest of
    the code imports.
    """
    from _pytest.doctest import DoctestModule

    # a module named on the command line (``pytest sim/metrics/builtin.py``) is also collected as a
    # test module: the same second copy, whose registrations then clash with the installed module's
    if not isinstance(collector, (DoctestModule, pytest.Module)):
        return
    try:
        rel = collector.path.relative_to(collector.config.rootpath).with_suffix("")
    except ValueError:  # a file outside the repository
        return
    if rel.parts[0] in _PACKAGE_FOLDERS:
        import importlib

        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        collector._obj = importlib.import_module(".".join(("banditsim", *parts)))


@pytest.fixture(scope="session")
def movielens_catalog():
    """The built-in MovieLens-100K catalog."""
    from banditsim.envs.catalog import movielens_catalog as load

    return load()


@pytest.fixture(scope="session")
def movielens_vectors(movielens_catalog):
    """all-MiniLM-L6-v2 embeddings of the MovieLens catalog (embedded once per session)."""
    from banditsim.envs.embedding import embed_texts

    return embed_texts(movielens_catalog.texts, progress=False).vectors
