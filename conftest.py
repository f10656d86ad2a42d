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


@pytest.fixture(scope="session")
def movielens_catalog():
    """The built-in MovieLens-100K catalog."""
    from envs.catalog import movielens_catalog as load

    return load()


@pytest.fixture(scope="session")
def movielens_vectors(movielens_catalog):
    """all-MiniLM-L6-v2 embeddings of the MovieLens catalog (embedded once per session)."""
    from envs.embedding import embed_texts

    return embed_texts(movielens_catalog.texts, progress=False).vectors
