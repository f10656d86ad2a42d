"""``World.expected_rewards`` works in blocks of rows: its bits do not depend on the block size and
equal the formula evaluated over the whole array, on the per-cut path (big arrays) and the one-sigmoid
path (small ones)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit

from banditsim.envs.clusters import cluster_population
from banditsim.envs.feedback import _reward_steps
from banditsim.envs.feedback_kinds import BLOCK
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world.utility import _SMALL_EXACT

torch.set_num_threads(1)

N_USERS = 24


def _world(n_items: int, backend: str = "numpy") -> World:
    x = np.random.default_rng(1).normal(size=(n_items, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pop = cluster_population(x, 50, n_clusters=4, seed=2)
    w = World(x, pop, n_users=N_USERS, config=WorldConfig(backend=backend), seed=3)
    w.reset(seed=3)
    r = np.random.default_rng(4)
    for _ in range(12):  # fatigue, drift and refusals away from their starting values
        w.step(r.integers(n_items, size=N_USERS))
    return w


def _whole_array_reference(w: World) -> np.ndarray:
    """The per-cut formula over all rows at once, each step a fresh array (no blocks, nothing in place)."""
    rows = np.arange(N_USERS)[:, None]
    u = w._exact_utility(rows, np.arange(w.n_items)[None, :], w._cosine_rows(), w._fatigue.f)
    _, ks, steps = _reward_steps(w.rewards.tobytes())
    temp = w._temperature[rows].astype(np.float64)
    cuts = w._cut_points[rows].astype(np.float64)
    value = float(w.rewards[-1]) + 0.0 * u
    for k, step in zip(ks, steps):
        value = value - expit((cuts[..., k] - u) / temp) * float(step)
    return np.where(w._allowed, value, float(w.rewards[BLOCK]))


@pytest.fixture(scope="module")
def big_world():
    w = _world(3000)
    assert N_USERS * w.n_items > _SMALL_EXACT >= w.n_items  # whole array per cut, one row would not be
    return w


@pytest.mark.parametrize("n_items", [100, 3000])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_block_size_does_not_change_the_bits(n_items, backend):
    w = _world(n_items, backend)
    s = w._cosine_rows()
    whole = w._expected_rows(s, N_USERS)
    for per_block in (1, 7):
        assert w._expected_rows(s, per_block).tobytes() == whole.tobytes(), per_block
    assert w.expected_rewards().tobytes() == whole.tobytes()


def test_blocks_in_place_equal_the_whole_array_formula(big_world):
    got = big_world.expected_rewards()
    assert got.dtype == np.float64 and got.shape == (N_USERS, big_world.n_items)
    assert got.tobytes() == _whole_array_reference(big_world).tobytes()
    assert not (big_world._allowed.all()), "no refused item to check the blocked value on"
