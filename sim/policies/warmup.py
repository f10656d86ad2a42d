"""Warm-up data: a uniformly random policy plays a world; every frozen policy trains on these rows.

The rows come from a world of their own (its own seed), so the policies — and the OPE reward
model — are fitted on data independent of the log or the A/B test they are judged on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WarmupRows:
    """Rows logged by the uniform policy: visible ``features`` (n, d_u), ``action``, ``reward``,
    feedback ``kind``, the uniform propensity ``pscore`` (1 / allowed items) and the decision
    ``step`` (so forgetting agents trained on them age row by row), all (n,)."""

    features: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    kind: np.ndarray
    pscore: np.ndarray
    step: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.action.shape[0])


def uniform_actions(mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uniformly random allowed item per row of ``mask`` (B, n) and its propensity.

    >>> a, p = uniform_actions(np.array([[True, False, True], [False, True, False]]), np.random.default_rng(0))
    >>> a[1], p.tolist()
    (np.int64(1), [0.5, 1.0])
    """
    keys = np.where(mask, rng.random(mask.shape), -1.0)
    return keys.argmax(axis=1).astype(np.int64), 1.0 / mask.sum(axis=1)


def collect_warmup(world, steps: int, rng: np.random.Generator, seed: int | None = None) -> WarmupRows:
    """Reset ``world`` (with ``seed``) and let the uniform policy play ``steps`` steps; return the rows.

    Examples
    --------
    >>> from banditsim.envs.clusters import cluster_population
    >>> from banditsim.envs.population import unit_rows
    >>> from banditsim.envs.world import World
    >>> x = unit_rows(np.random.default_rng(0).normal(size=(30, 8)))
    >>> w = World(x, cluster_population(x, 50, n_clusters=3, seed=0), n_users=16, seed=1)
    >>> rows = collect_warmup(w, 5, np.random.default_rng(2))
    >>> rows.n_rows, rows.features.shape, rows.step[[0, -1]].tolist()
    (80, (80, 16), [0, 4])
    """
    if steps < 1:
        raise ValueError(f"warm-up steps must be ≥ 1, got {steps}")
    obs = world.reset(seed=seed)
    parts: list[tuple] = []
    for t in range(steps):
        action, pscore = uniform_actions(obs.mask, rng)
        res = world.step(action)
        parts.append((obs.features.astype(np.float64), action, res.reward, res.kind, pscore,
                      np.full(action.shape[0], t, dtype=np.int64)))
        obs = res.observation
    cols = [np.concatenate(c) for c in zip(*parts)]
    return WarmupRows(*cols)
