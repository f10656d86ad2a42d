"""The bound on every non-candidate item's utility after drift (the oracle's envelope) is a bound,
and the oracle's best item stays exact with it: brute force over seeds, drift rates, catalog sizes,
both drift bases and exact ties (duplicated items)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from banditsim.envs.backend import Backend
from banditsim.envs.clusters import cluster_population
from banditsim.envs.dynamics import Drift
from banditsim.envs.population import unit_rows
from banditsim.envs.world import World
from banditsim.envs.world.candidates import DRIFT_GRID, others_envelope
from banditsim.envs.world_config import WorldConfig


def test_envelope_columns_are_the_other_items_max_at_each_grid_point():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(7, 50)).astype(np.float32)
    kappa = rng.uniform(1, 4, size=7).astype(np.float32)
    spread = rng.uniform(0, 1, size=50).astype(np.float32)
    ub = np.sort(base, axis=1)[:, -5]  # the 5th largest: 4 candidates above it
    env = others_envelope(Backend("numpy"), base, ub, kappa, spread)
    assert env.shape == (7, len(DRIFT_GRID))
    for k, d in enumerate(DRIFT_GRID):
        lines = np.where(base <= ub[:, None], base + kappa[:, None] * np.float32(d) * spread[None, :], -np.inf)
        np.testing.assert_allclose(env[:, k], lines.max(1), rtol=0, atol=1e-6)


def _catalog(n_items: int, seed: int, ties: bool) -> np.ndarray:
    """Unit items sharing a common direction (as text embeddings); ``ties``: the last 10 repeat the first."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_items, 16)) + 1.1 * rng.normal(size=16)[None, :] / 4
    if ties:
        x[-10:] = x[:10]
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _world(n_items, seed, rate, basis, ties):
    x = _catalog(n_items, seed, ties)
    pop = cluster_population(x, 40, n_clusters=4, seed=seed)
    if basis == "tastes":  # tastes in a 6-dim span, so that the tastes' coordinates differ from the items'
        q = np.linalg.qr(np.random.default_rng(seed).normal(size=(16, 6)))[0]
        pop = dataclasses.replace(pop, theta=unit_rows(pop.theta @ q @ q.T).astype(np.float32))
    cfg = WorldConfig(drift=Drift(rate=rate, basis=basis), candidates=6)
    return World(x, pop, n_users=48, config=cfg, seed=seed)


def _other_items_max(w) -> np.ndarray:
    """Max base utility κ·θ·x + b over each slot's non-candidate items, from θ in float64."""
    th = w.theta().astype(np.float64)
    ths = th if w._basis is None else th @ w._basis
    base = w._kappa[:, None] * (ths @ w._tables.items.T.astype(np.float64)) + w._tables.item_bias[None, :]
    np.put_along_axis(base, w._candidates.items, -np.inf, axis=1)
    return base.max(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rate", [0.05, 0.3])
@pytest.mark.parametrize("n_items,basis,ties", [(60, "full", True), (400, "full", False), (200, "tastes", True)])
def test_bound_holds_and_the_best_item_is_exact(seed, rate, n_items, basis, ties):
    w = _world(n_items, seed, rate, basis, ties)
    w.reset()
    rng = np.random.default_rng(seed + 10)
    for _ in range(40):
        e = np.where(w._allowed, w.expected_rewards(), -np.inf)
        _, value = w.best_items()
        # within the float32 rounding of the candidates' ranking (near-ties: see World.step)
        np.testing.assert_allclose(value, e.max(1), rtol=0, atol=1e-7)
        assert (_other_items_max(w) <= w._others_bound_now() + 1e-6).all()
        w.step(rng.integers(w.n_items, size=w.n_users))
    assert w._candidates.drift_sq.max() > 0.01  # the bound was exercised after drift, not only at δ = 0
