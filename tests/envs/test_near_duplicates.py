"""near_duplicates against a brute-force dense computation, across many tile boundaries."""

from __future__ import annotations

import numpy as np
import pytest

import banditsim.envs.dynamics as dynamics
from banditsim.envs.dynamics import Fatigue, near_duplicates


def _unit(rng, n, d, dup):
    x = rng.normal(size=(n, d))
    k = int(n * dup)
    if k:  # planted near-copies: many cosines above the threshold, some rows with none
        x[:k] = x[rng.integers(0, n, k)] + 0.05 * rng.normal(size=(k, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _brute(x, cfg):
    """Real neighbours (index, cosine) per item: cosine ≥ threshold, most similar first, ties by index."""
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    out = []
    for i in range(len(x)):
        c = np.flatnonzero(g[i] >= cfg.similarity)
        c = c[np.lexsort((c, -g[i, c]))][: min(cfg.max_neighbors, len(x)) - 1]
        out.append((c, g[i, c]))
    return out


@pytest.mark.parametrize("tile", [(7, 13), (512, 4096), (1, 1), (64, 5)])
@pytest.mark.parametrize("n,d,dup,sim,m", [(50, 4, 0.4, 0.8, 4), (90, 16, 0.5, 0.9, 8), (40, 32, 0.0, 0.99, 3),
                                           (1, 4, 0.0, 0.85, 8), (3, 2, 1.0, 0.5, 2)])
def test_near_duplicates_equal_brute_force(monkeypatch, tile, n, d, dup, sim, m):
    monkeypatch.setattr(dynamics, "_TILE", tile)
    x = _unit(np.random.default_rng(n * d), n, d, dup)
    cfg = Fatigue(similarity=sim, max_neighbors=m)
    idx, w = near_duplicates(x, cfg)
    assert idx.shape == w.shape == (n, min(m, n))
    assert (idx[:, 0] == np.arange(n)).all() and (w[:, 0] == 1).all()
    for i, (c, v) in enumerate(_brute(x, cfg)):
        k = len(c)
        np.testing.assert_array_equal(idx[i, 1:1 + k], c)
        np.testing.assert_allclose(w[i, 1:1 + k], v, rtol=1e-5)
        assert (w[i, 1 + k:] == 0).all()
        assert len(set(idx[i].tolist())) == idx.shape[1]  # pads are distinct other items
