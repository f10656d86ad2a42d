"""Fixtures the embedding test modules share (import them by name): one torch thread for the
whole module, and a loaded one-thread embedder on the torch backend (the tests wrap or call its
torch model)."""

from __future__ import annotations

import pytest

from banditsim.envs.cpu_threads import torch_threads
from banditsim.envs.embedding import TextEmbedder


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def embedder():
    emb = TextEmbedder(device="cpu", threads=1, backend="torch")
    emb._load()
    return emb
