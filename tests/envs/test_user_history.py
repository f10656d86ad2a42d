"""The user-history context (envs/user_history.py) against a brute-force replay of the answers.

Which answers count: the one responding item of a step (for slates the responding position only)
when its kind is click, like, save or share; refused rows count nothing; a slot's history empties
when it gets a new person (a new user id) and is kept when the same person returns.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from banditsim.envs.clusters import cluster_population
from banditsim.envs.dynamics import Patience, Returns
from banditsim.envs.feedback_kinds import NEUTRAL
from banditsim.envs.recommend_env import RecommendEnv, SlateEnv
from banditsim.envs.user_history import UserHistory
from banditsim.envs.vector_env import BanditVectorEnv
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import WorldConfigError

torch.set_num_threads(1)


def _world(items, pop, k, dim=4, b=6, seed=3, **cfg):
    cfg = WorldConfig(history_k=k, history_dim=dim, patience=Patience(initial=2), returns=Returns(p_return=0.5),
                      **cfg)
    return World(items, pop, n_users=b, config=cfg, seed=seed)


def _principal(x, m):
    """Brute force: the projector onto the top-m principal directions of the centred items."""
    c = x - x.mean(0)
    w, v = np.linalg.eigh(c.T @ c)
    v = v[:, ::-1][:, :m]
    return v @ v.T


def _replay(world, steps, slate, rng, add_at=None, extra=None):
    """Run random actions; compare the history part of every observation with brute force."""
    b, d_u = world.n_users, world.population.features.shape[1]
    hist = world._history
    obs = world.reset(seed=11)
    liked = [[] for _ in range(b)]
    ids = obs.user_ids.copy()
    n_checked_full = 0
    for t in range(steps):
        if add_at is not None and t == add_at:
            world.add_items(extra)
        n = world.n_items
        acts = rng.integers(n, size=(b, 3)) if slate else rng.integers(n, size=b)
        active = rng.random(b) > 0.2
        res = world.step(acts, active=active)
        for r in range(b):
            if res.item[r] >= 0 and res.kind[r] > NEUTRAL:
                assert active[r]
                liked[r].append(int(res.item[r]))
        obs = res.observation
        for r in range(b):
            if obs.user_ids[r] != ids[r]:  # a new person in the slot
                liked[r] = []
        ids = obs.user_ids.copy()
        f = obs.features
        assert f.dtype == np.float32 and f.shape == (b, d_u + hist.dim)
        np.testing.assert_array_equal(f[:, :d_u], world.population.features[obs.population_index])
        x = world.item_vectors.astype(np.float64)
        for r in range(b):
            last = liked[r][-hist.k:]
            want = np.zeros(hist.dim) if not last else hist.project(x[last]).mean(0)
            np.testing.assert_allclose(f[r, d_u:], want, atol=2e-6, rtol=1e-5)
            n_checked_full += len(last) == hist.k
    return n_checked_full, sum(len(v) for v in liked)


@pytest.mark.parametrize("k", [1, 3, 40])
@pytest.mark.parametrize("slate", [False, True])
def test_history_is_the_mean_of_the_last_k_positive_answers(small_items, small_population, k, slate):
    world = _world(small_items, small_population, k)
    full, total = _replay(world, 60, slate, np.random.default_rng(k))
    assert total > 0  # positive answers happened
    if k == 1:
        assert full > 0  # windows filled and wrapped
    if k == 40:
        assert full == 0  # k longer than any history: the mean of all of it


def test_history_follows_items_added_mid_run(small_items, small_population):
    extra = np.random.default_rng(9).normal(size=(10, small_items.shape[1])).astype(np.float32) * 3
    world = _world(small_items, small_population, 2)
    _replay(world, 50, False, np.random.default_rng(5), add_at=10, extra=extra)


def test_projection_is_the_catalogs_top_principal_directions(small_items):
    h = UserHistory(small_items, 5, 4)
    np.testing.assert_allclose(h._basis.T @ h._basis, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(h._basis @ h._basis.T, _principal(small_items.astype(np.float64), 4), atol=1e-8)
    assert UserHistory(small_items, 5, 99).dim == small_items.shape[1]  # capped at d


def test_k0_features_and_dynamics_unchanged(small_items, small_population):
    """k = 0 gives exactly the population's features; k > 0 changes nothing else (same draws)."""
    rng = np.random.default_rng(0)
    acts = rng.integers(small_items.shape[0], size=(40, 6))
    off, on = _world(small_items, small_population, 0), _world(small_items, small_population, 5)
    o0, o1 = off.reset(seed=4), on.reset(seed=4)
    for a in acts:
        r0, r1 = off.step(a), on.step(a)
        for name in ("kind", "reward", "item", "expected_reward_chosen", "best_expected_reward", "churned"):
            np.testing.assert_array_equal(getattr(r0, name), getattr(r1, name))
        o0, o1 = r0.observation, r1.observation
        np.testing.assert_array_equal(o0.features, small_population.features[o0.population_index])
        np.testing.assert_array_equal(o1.features[:, :o0.features.shape[1]], o0.features)
        assert o1.features.shape[1] == o0.features.shape[1] + 4


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3", None])
def test_bad_history_k_is_one_line(bad):
    with pytest.raises(WorldConfigError) as e:
        WorldConfig(history_k=bad)
    assert "history_k" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(WorldConfigError, match="history_dim"):
        WorldConfig(history_k=3, history_dim=0)


@pytest.mark.parametrize("env_cls", [RecommendEnv, SlateEnv])
def test_gym_observation_space_contains_the_history(small_items, small_population, env_cls):
    cfg = WorldConfig(history_k=3, history_dim=5, patience=Patience(initial=2))
    kw = {"slate_size": 2} if env_cls is SlateEnv else {}
    env = env_cls(item_vectors=small_items, population=small_population, config=cfg, max_steps=30, **kw)
    obs, _ = env.reset(seed=2)
    assert env.observation_space["user"].shape == (small_population.features.shape[1] + 5,)
    rng = np.random.default_rng(1)
    seen_history = False
    for _ in range(200):
        assert env.observation_space.contains(obs), obs["user"]
        mask = obs["mask"].astype(bool)
        a = rng.choice(np.flatnonzero(mask), size=kw.get("slate_size", 1), replace=False)
        obs, _, term, trunc, _ = env.step(a if kw else int(a[0]))
        seen_history |= bool(np.any(obs["user"][-5:] != 0))
        if term or trunc:
            obs, _ = env.reset()
    assert seen_history
    venv = BanditVectorEnv(item_vectors=small_items, population=small_population, config=cfg, num_envs=3)
    vobs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(vobs)
    assert venv.single_observation_space["user"].shape == (small_population.features.shape[1] + 5,)


def test_empty_history_lies_in_the_space_of_a_one_sided_catalog():
    """Text embeddings share a direction: 0 (the prior) must still lie inside the Box."""
    x = np.abs(np.random.default_rng(0).normal(size=(30, 6))) + 2.0
    pop = cluster_population(x, 10, n_clusters=2, seed=0)
    env = RecommendEnv(item_vectors=x, population=pop, config=WorldConfig(history_k=2, history_dim=3))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_torch_backend_gives_the_same_history(small_items, small_population):
    ws = [_world(small_items, small_population, 3, backend=b) for b in ("numpy", "torch")]
    for w in ws:
        w.reset(seed=2)
    rng = np.random.default_rng(1)
    for _ in range(40):
        a = rng.integers(small_items.shape[0], size=6)
        r0, r1 = (w.step(a) for w in ws)
        np.testing.assert_array_equal(r0.kind, r1.kind)
        np.testing.assert_array_equal(r0.observation.features, r1.observation.features)
