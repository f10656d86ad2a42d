import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import banditsim.envs  # noqa: F401  (registers the ids)
from banditsim.envs.registration import ENV_IDS
from banditsim.envs.vector_env import BanditVectorEnv
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError


@pytest.fixture()
def kw(small_items, small_population):
    return {"item_vectors": small_items, "population": small_population, "max_steps": 20}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_passes(env_id, kw):
    env = gym.make(env_id, **kw)
    check_env(env.unwrapped, skip_render_check=True)


def _trajectory(env, seed, n=40):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        n, k = env.unwrapped.world.n_items, env.unwrapped.slate_size
        action = rng.integers(n) if k is None else rng.choice(n, k, replace=False)
        obs, r, term, trunc, info = env.step(action)
        out.append((r, term, trunc, info["kind"], info["expected_reward"], info["best_expected_reward"]))
        if term or trunc:
            obs, _ = env.reset()
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory_different_seed_differs(env_id, kw):
    a = _trajectory(gym.make(env_id, **kw), 5)
    b = _trajectory(gym.make(env_id, **kw), 5)
    c = _trajectory(gym.make(env_id, **kw), 6)
    assert a == b and a != c


def test_env_and_batched_core_give_same_numbers(kw):
    env = gym.make("banditsim/Recommend-v0", **kw)
    world = World(kw["item_vectors"], kw["population"], n_users=1, config=WorldConfig(session_length=20), seed=None)
    obs, _ = env.reset(seed=11)
    o = world.reset(seed=11)
    np.testing.assert_array_equal(obs["user"], o.features[0])
    for t in range(60):
        a = t % 60
        _, r, term, trunc, info = env.step(a)
        res = world.step(np.array([a]))
        assert r == res.reward[0] and info["kind_code"] == res.kind[0]
        assert info["expected_reward"] == res.expected_reward_chosen[0]
        assert info["best_expected_reward"] == res.best_expected_reward[0]
        assert (term, trunc) == (bool(res.terminated[0]), bool(res.truncated[0]))
        if term or trunc:
            env.reset()


def test_truncated_at_max_steps(small_items, small_population):
    from banditsim.envs.dynamics import Blocking, Patience

    # blocking off: showing item 0 again after a block would be refused and not count (envs.action_masks)
    env = gym.make("banditsim/Recommend-v0", item_vectors=small_items, population=small_population,
                   max_steps=7, config=WorldConfig(patience=Patience(enabled=False), blocking=Blocking(enabled=False)))
    env.reset(seed=0)
    flags = [env.step(0)[3] for _ in range(7)]
    assert flags == [False] * 6 + [True]


def test_slate_env_rejects_oversized_slate(kw):
    with pytest.raises(ActionError, match="slate size 61 is larger than the catalog"):
        gym.make("banditsim/Slate-v0", slate_size=61, **kw)


@pytest.mark.parametrize("slate", [None, 3])
def test_vector_env_matches_world(kw, slate):
    venv = gym.make_vec("banditsim/Recommend-v0", num_envs=8, vectorization_mode="vector_entry_point",
                        slate_size=slate, **kw)
    assert isinstance(venv.unwrapped, BanditVectorEnv)
    world = World(kw["item_vectors"], kw["population"], n_users=8, config=WorldConfig(session_length=20), seed=None)
    obs, _ = venv.reset(seed=3)
    world.reset(seed=3)
    assert venv.observation_space.contains(obs)
    rng = np.random.default_rng(1)
    for _ in range(10):
        # allowed items only: the vector env refuses a blocked one (envs.action_masks)
        a = np.array([rng.choice(np.flatnonzero(m), size=slate) for m in obs["mask"]])
        obs, r, term, trunc, info = venv.step(a)
        res = world.step(a)
        np.testing.assert_array_equal(r, res.reward)
        np.testing.assert_array_equal(info["kind_code"], res.kind)
        assert venv.observation_space.contains(obs)
