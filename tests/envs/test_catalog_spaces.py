"""The envs' spaces, observations and masks follow a catalog grown by ``world.add_items``
(envs.catalog_spaces)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import banditsim.envs  # noqa: F401  (registers the ids)
from banditsim.envs.vector_env import BanditVectorEnv


@pytest.fixture()
def kw(small_items, small_population):
    return {"item_vectors": small_items, "population": small_population, "max_steps": 20}


def _new_items(m=5):
    return np.random.default_rng(9).normal(size=(m, 16)).astype(np.float32)


def _block_something(env, obs, info, rng):
    for _ in range(500):
        if not obs["mask"].all():
            return obs, info
        k = env.unwrapped.slate_size
        a = rng.choice(np.flatnonzero(obs["mask"]), size=k, replace=False)
        obs, _, term, trunc, info = env.step(a)
        if term or trunc:
            obs, info = env.reset()
    raise AssertionError("no block")


@pytest.mark.parametrize("env_id,k", [("banditsim/Recommend-v0", None), ("banditsim/Slate-v0", 3)])
def test_single_env_spaces_follow_the_catalog(kw, env_id, k):
    env = gym.make(env_id, **kw, **({} if k is None else {"slate_size": k}))  # through gym.make's wrappers
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    obs, info = _block_something(env, obs, info, rng)
    blocked = np.flatnonzero(obs["mask"] == 0)
    new = env.unwrapped.world.add_items(_new_items())
    n = 65
    assert env.observation_space["mask"].n == n
    if k is None:
        assert env.action_space == gym.spaces.Discrete(n)
    else:
        assert env.action_space == gym.spaces.MultiDiscrete(np.full(k, n))
    masks = env.unwrapped.action_masks()
    assert masks.shape == ((n,) if k is None else (k * n,))
    assert masks.reshape(-1, n)[:, new].all() and not masks.reshape(-1, n)[:, blocked].any()  # old blocks kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the passive checker sees actions inside the space
        for _ in range(10):
            allowed = np.flatnonzero(masks[:n])
            fresh = np.intersect1d(new, allowed)[:1]  # a new item while one is still allowed
            rest = rng.choice(np.setdiff1d(allowed, fresh), (k or 1) - len(fresh), replace=False)
            a = np.r_[fresh, rest].astype(int)
            a = int(a[0]) if k is None else a
            assert env.action_space.contains(a)
            obs, _, term, trunc, info = env.step(a)
            assert env.observation_space.contains(obs) and obs["mask"].shape == (n,)
            m = info["action_mask"] if k is None else info["action_mask"][0]
            assert m.shape == (n,) and not info["disallowed"]
            masks = env.unwrapped.action_masks()
            if term or trunc:
                obs, info = env.reset()
    env.unwrapped.world.add_items(_new_items(2))
    obs, info = env.reset()  # a reset carrying on with the session sees the grown catalog too
    assert obs["mask"].shape == (67,) and env.observation_space.contains(obs)
    assert env.action_space.sample(mask=info["action_mask"]) is not None


def test_spaces_follow_items_added_before_the_first_reset(kw):
    env = gym.make("banditsim/Recommend-v0", **kw)
    env.unwrapped.world.add_items(_new_items())
    assert env.action_space.n == 65
    obs, info = env.reset(seed=0)
    assert obs["mask"].shape == (65,) and env.observation_space.contains(obs)


@pytest.mark.parametrize("k", [None, 3])
def test_vector_env_spaces_follow_the_catalog(kw, k):
    venv = BanditVectorEnv(4, slate_size=k, **kw)
    obs, _ = venv.reset(seed=0)
    new = venv.world.add_items(_new_items())
    assert venv.single_observation_space["mask"].n == 65 and venv.observation_space["mask"].shape == (4, 65)
    if k is None:
        assert venv.single_action_space.n == 65 and venv.action_space.shape == (4,)
    else:
        assert (venv.single_action_space.nvec == 65).all() and venv.action_space.shape == (4, k)
    masks = venv.action_masks()
    assert masks.shape == (4, 65 if k is None else 3 * 65) and masks[:, new].all()
    a = np.full(4, new[0]) if k is None else np.tile(new[:k], (4, 1))
    assert venv.action_space.contains(a)
    obs, r, term, trunc, info = venv.step(a)
    assert venv.observation_space.contains(obs) and not info["disallowed"].any()
    assert info["action_mask"].shape == ((4, 65) if k is None else (4, k, 65))
