"""Real RL clients on the banditsim envs: render modes, action masks, wrappers, SB3 / sb3-contrib."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import (
    FlattenObservation,
    NormalizeObservation,
    RecordEpisodeStatistics,
    RecordVideo,
    TimeLimit,
)

import banditsim.envs  # noqa: F401  (registers the ids)
from banditsim.envs.clusters import cluster_population
from banditsim.envs.dynamics import Blocking, Patience
from banditsim.envs.registration import ENV_IDS
from banditsim.envs.world_config import WorldConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def kw():
    x = np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32)
    return {"item_vectors": x, "population": cluster_population(x, 40, n_clusters=5, seed=0), "max_steps": 20}


def _masked_action(env, info, rng):
    """A uniformly random allowed action, from ``info["action_mask"]`` alone."""
    m = info["action_mask"]
    if isinstance(m, tuple):
        return np.array([rng.choice(np.flatnonzero(p)) for p in m])
    return int(rng.choice(np.flatnonzero(m)))


def _blocked_state(env_id, kw, seed=0):
    """An env (after reset(seed)) stepped with allowed actions until its user has blocked an item."""
    env = gym.make(env_id, **kw)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(500):
        obs, r, term, trunc, info = env.step(_masked_action(env, info, rng))
        if term or trunc:
            obs, info = env.reset()
        if not obs["mask"].all():
            return env, obs, info
    raise AssertionError("no block in 500 steps")


# ---------------------------------------------------------------- render modes
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rgb_array_frames_show_the_session(env_id, kw):
    env = gym.make(env_id, render_mode="rgb_array", **kw)
    _, info = env.reset(seed=0)
    first = env.render()
    assert first.shape == (320, 640, 3) and first.dtype == np.uint8
    rng = np.random.default_rng(0)
    _, _, _, _, info = env.step(_masked_action(env, info, rng))
    second = env.render()
    assert second.shape == first.shape and (second != first).any()  # the step is drawn
    assert len(env.unwrapped._picture.history) == 1


def test_ended_session_is_drawn_as_it_ended(kw):
    cfg = WorldConfig(patience=Patience(enabled=False))
    env = gym.make("banditsim/Recommend-v0", render_mode="rgb_array", config=cfg, **{**kw, "max_steps": 3})
    _, info = env.reset(seed=0)
    user = env.unwrapped._last.user_ids[0]
    rng = np.random.default_rng(0)
    for _ in range(3):
        _, _, term, trunc, info = env.step(_masked_action(env, info, rng))
    assert trunc and env.unwrapped._view["user_id"] == user and env.unwrapped._view["session_step"] == 3
    assert env.render().shape == (320, 640, 3)


def test_frames_follow_a_growing_catalog(kw):
    env = gym.make("banditsim/Recommend-v0", render_mode="rgb_array", **kw)
    env.reset(seed=0)
    env.render()
    new = env.unwrapped.world.add_items(np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32))
    env.step(int(new[-1]))  # a new item is shown: it must sit on the map
    assert env.render().shape == (320, 640, 3)
    assert len(env.unwrapped._picture._projection()[0]) == 65


def test_human_mode_headless_warns_once_and_draws_nothing(kw):
    env = gym.make("banditsim/Recommend-v0", render_mode="human", **kw)
    with pytest.warns(UserWarning, match="no window to draw in"):
        env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, _, _, info = env.step(0)
        assert env.render() is None


def test_ansi_stays(kw):
    env = gym.make("banditsim/Recommend-v0", render_mode="ansi", **kw)
    env.reset(seed=0)
    env.step(3)
    assert env.render().startswith("user ") and "item 3" in env.render()


def test_unknown_render_mode_is_one_clear_error(kw):
    with pytest.raises(Exception, match="render_mode must be one of"):
        gym.make("banditsim/Recommend-v0", render_mode="video", **kw)


def test_no_render_mode_costs_nothing():
    code = """
import sys, numpy as np, gymnasium as gym
import banditsim.envs
from banditsim.envs.clusters import cluster_population
x = np.random.default_rng(0).normal(size=(30, 8))
env = gym.make("banditsim/Recommend-v0", item_vectors=x, population=cluster_population(x, 10, n_clusters=3))
obs, info = env.reset(seed=0)
for _ in range(20):
    obs, *_ , info = env.step(int(np.flatnonzero(obs["mask"])[0]))
assert env.unwrapped._picture is None
assert env.render() is None
assert "matplotlib" not in sys.modules and "banditsim.envs.render_session" not in sys.modules, "imported"
lazy = gym.make("banditsim/Recommend-v0", render_mode="rgb_array", item_vectors=x,
                population=cluster_population(x, 10, n_clusters=3))
lazy.reset(seed=0); lazy.step(0)
assert not lazy.unwrapped._picture.projected and "matplotlib" not in sys.modules
lazy.render()
assert lazy.unwrapped._picture.projected and "matplotlib" in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_catalog_map_is_the_first_two_principal_components(kw):
    from sklearn.decomposition import PCA

    env = gym.make("banditsim/Recommend-v0", render_mode="rgb_array", **kw)
    env.reset(seed=0)
    env.render()
    coords, _ = env.unwrapped._picture._projection()
    ref = PCA(n_components=2).fit_transform(env.unwrapped.item_vectors.astype(np.float64))
    for j in range(2):  # the same axes up to sign
        assert abs(abs(np.corrcoef(coords[:, j], ref[:, j])[0, 1]) - 1) < 1e-9


# ---------------------------------------------------------------- action masks
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_masks_in_every_convention_agree(env_id, kw):
    env, obs, info = _blocked_state(env_id, kw)
    k = env.unwrapped.slate_size
    m = obs["mask"].astype(bool)
    masks = env.unwrapped.action_masks()
    assert masks.dtype == bool
    if k is None:
        np.testing.assert_array_equal(masks, m)
        assert info["action_mask"].dtype == np.int8
        np.testing.assert_array_equal(info["action_mask"], m)
    else:
        np.testing.assert_array_equal(masks, np.tile(m, k))
        assert len(info["action_mask"]) == k and all(p.dtype == np.int8 for p in info["action_mask"])
    space = env.action_space
    space.seed(0)
    for _ in range(200):  # Gymnasium's own masked sampling never picks a blocked item
        a = np.atleast_1d(space.sample(mask=info["action_mask"]))
        assert m[a].all()


@pytest.mark.parametrize("slate", [None, 3])
def test_vector_env_masks_are_batched(kw, slate):
    venv = gym.make_vec("banditsim/Recommend-v0", num_envs=6, vectorization_mode="vector_entry_point",
                        slate_size=slate, **kw)
    obs, info = venv.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        m = obs["mask"].astype(bool)
        masks = venv.unwrapped.action_masks()
        assert masks.shape == ((6, 60) if slate is None else (6, 3 * 60))
        np.testing.assert_array_equal(masks[:, :60], m)
        assert info["action_mask"].shape == ((6, 60) if slate is None else (6, 3, 60))
        np.testing.assert_array_equal(info["action_mask"].reshape(6, -1, 60)[:, 0], m)
        a = np.array([rng.choice(np.flatnonzero(r), size=slate or None) for r in m])
        obs, _, _, _, info = venv.step(a)
        np.testing.assert_array_equal(info["regret"], info["best_expected_reward"] - info["expected_reward"])
    assert not obs["mask"].all()  # blocks happened, so the masks above were not all-True


# ---------------------------------------------------------------- the rule for a disallowed item
def _state(env):
    u = env.unwrapped
    o = u._last
    return (o.user_ids.copy(), o.session_step.copy(), o.patience.copy(), o.mask.copy(), u.world.theta().copy(),
            u.world.t, u.world._rng.bit_generator.state)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_disallowed_item_earns_block_penalty_and_changes_nothing(env_id, kw):
    cfg = WorldConfig(reward_map={"block": -2.5})
    env, obs, info = _blocked_state(env_id, {**kw, "config": cfg})
    twin = copy.deepcopy(env)
    blocked = int(np.flatnonzero(obs["mask"] == 0)[0])
    k = env.unwrapped.slate_size
    before = _state(env)
    allowed = np.flatnonzero(obs["mask"])
    bad = blocked if k is None else np.r_[allowed[:1], blocked, allowed[1:k - 1]]
    obs2, r, term, trunc, info2 = env.step(bad)
    assert r == -2.5 and info2["disallowed"] and info2["kind"] == "block" and not (term or trunc)
    assert info2["expected_reward"] == -2.5 and info2["regret"] == pytest.approx(info2["best_expected_reward"] + 2.5)
    assert info2["item"] == blocked and info2["position"] == (0 if k is None else 1)
    for a, b in zip(before, _state(env)):
        np.testing.assert_equal(a, b)
    for key in obs:
        np.testing.assert_array_equal(obs2[key], obs[key])
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    i1, i2 = info2, info
    for _ in range(15):  # what follows is exactly what would have followed without the refused step
        s1 = env.step(_masked_action(env, i1, rng1))
        s2 = twin.step(_masked_action(twin, i2, rng2))
        i1, i2 = s1[4], s2[4]
        assert s1[1:4] == s2[1:4] and i1["kind"] == i2["kind"] and i1["regret"] == i2["regret"]
        if s1[2] or s1[3]:
            env.reset()
            twin.reset()
            break


def test_refused_steps_do_not_count_so_time_limit_bounds_the_episode(kw):
    env, obs, _ = _blocked_state("banditsim/Recommend-v0", kw)
    blocked = int(np.flatnonzero(obs["mask"] == 0)[0])
    step0 = env.unwrapped._last.session_step[0]
    for _ in range(kw["max_steps"] + 5):
        _, _, term, trunc, _ = env.step(blocked)
        assert not (term or trunc)
    assert env.unwrapped._last.session_step[0] == step0
    # the documented remedy: TimeLimit counts every step, refused or not
    cfg = WorldConfig(patience=Patience(enabled=False))
    limited = TimeLimit(gym.make("banditsim/Recommend-v0", config=cfg, **{**kw, "max_steps": 1000}), 40)
    limited.reset(seed=0)
    flags, refused = [], 0
    for _ in range(40):  # the same item again and again: blocked at some point, then refused
        _, _, term, trunc, info = limited.step(0)
        flags.append(term or trunc)
        refused += info["disallowed"]
    assert flags == [False] * 39 + [True] and refused > 0


# the vector env's side of the rule (a refused slot next to slots that step): tests/envs/test_disallowed_rule.py


def test_masks_are_all_true_without_blocking(kw):
    env = gym.make("banditsim/Recommend-v0", config=WorldConfig(blocking=Blocking(enabled=False)), **kw)
    env.reset(seed=0)
    for _ in range(60):
        _, _, term, trunc, info = env.step(7)
        assert info["action_mask"].all() and not info["disallowed"]
        if term or trunc:
            env.reset()


# ---------------------------------------------------------------- spaces and wrappers
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_checkers_pass_without_space_warnings(env_id, kw):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, render_mode="rgb_array", **kw)
    box = env.observation_space["user"]
    feats = kw["population"].features
    np.testing.assert_array_equal(box.low, feats.min(0).astype(np.float32))
    np.testing.assert_array_equal(box.high, feats.max(0).astype(np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)  # renders every mode; "human" has no window here and says so once
        sb3_check_env(gym.make(env_id, **kw))  # steps unmasked random actions: must not raise
    assert [str(w.message) for w in caught if "no window to draw in" not in str(w.message)] == []


def test_user_box_contains_every_population_row(kw):
    env = gym.make("banditsim/Recommend-v0", **kw)
    box = env.observation_space["user"]
    assert all(box.contains(f) for f in kw["population"].features.astype(np.float32))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_wrappers_run(env_id, kw, tmp_path):
    env = gym.make(env_id, render_mode="rgb_array", **kw)
    env = RecordVideo(env, str(tmp_path / "video"), episode_trigger=lambda ep: ep == 0, disable_logger=True)
    env = TimeLimit(env, max_episode_steps=8)
    env = RecordEpisodeStatistics(env)
    env = FlattenObservation(env)
    env = NormalizeObservation(env)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    assert obs.shape == (kw["population"].features.shape[1] + 60,)
    episodes, total = 0, 0.0
    while episodes < 2:
        obs, r, term, trunc, info = env.step(_masked_action(env, info, rng))
        total += r
        assert np.isfinite(obs).all()
        if term or trunc:
            assert info["episode"]["r"] == pytest.approx(total) and info["episode"]["l"] <= 8
            episodes, total = episodes + 1, 0.0
            obs, info = env.reset()
    env.close()
    videos = list((tmp_path / "video").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000


def test_vector_episode_statistics_match_the_rewards(kw):
    from gymnasium.wrappers.vector import RecordEpisodeStatistics as VectorStats

    venv = VectorStats(gym.make_vec("banditsim/Recommend-v0", num_envs=4, vectorization_mode="vector_entry_point",
                                    **kw))
    _, info = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    totals, lengths, ended = np.zeros(4), np.zeros(4, dtype=int), 0
    for _ in range(60):
        a = np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
        _, r, term, trunc, info = venv.step(a)
        totals, lengths = totals + r, lengths + 1
        done = term | trunc
        if done.any():
            np.testing.assert_array_equal(info["_episode"], done)
            np.testing.assert_allclose(info["episode"]["r"][done], totals[done])
            np.testing.assert_array_equal(info["episode"]["l"][done], lengths[done])
            totals[done], lengths[done], ended = 0.0, 0, ended + done.sum()
    assert ended >= 4


# ---------------------------------------------------------------- Stable-Baselines3 / sb3-contrib
def test_make_vec_env_with_the_defaults():
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("banditsim/Recommend-v0", n_envs=4)
    obs = venv.reset()
    assert obs["user"].shape == (4, 24) and obs["mask"].shape == (4, 1682)
    masks = get_action_masks(venv)
    assert masks.shape == (4, 1682) and masks.all()
    venv.step(np.arange(4))
    assert venv.get_images()[0].shape == (320, 640, 3)
    venv.close()


def _mean_episode_reward(env, act, n):
    rewards = []
    for ep in range(n):
        obs, info = env.reset(seed=10_000 + ep)
        done, total = False, 0.0
        while not done:
            obs, r, term, trunc, info = env.step(act(obs, env))
            total, done = total + r, term or trunc
        rewards.append(total)
    return np.mean(rewards), np.std(rewards, ddof=1) / np.sqrt(n)


def test_maskable_ppo_beats_uniform_random(kw):
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("banditsim/Recommend-v0", n_envs=4, seed=0, env_kwargs=kw)
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=128, batch_size=128, learning_rate=1e-3, seed=0)
    model.learn(4096)
    env = gym.make("banditsim/Recommend-v0", **kw)
    rng = np.random.default_rng(0)
    n = 100
    learned, se_l = _mean_episode_reward(
        env, lambda o, e: int(model.predict(o, action_masks=e.unwrapped.action_masks())[0]), n)
    rand, se_r = _mean_episode_reward(env, lambda o, e: int(rng.choice(np.flatnonzero(o["mask"]))), n)
    assert learned - rand > 2 * np.hypot(se_l, se_r), (learned, rand)


def test_maskable_ppo_runs_on_slates(kw):
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("banditsim/Slate-v0", n_envs=2, seed=0, env_kwargs={**kw, "slate_size": 3})
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=64, batch_size=64, seed=0).learn(256)
    env, obs, _ = _blocked_state("banditsim/Slate-v0", {**kw, "slate_size": 3})
    for _ in range(30):  # masked predictions never show a blocked item, in any position
        a, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
        assert a.shape == (3,) and obs["mask"][a].all()
        obs, _, term, trunc, info = env.step(a)
        assert not info["disallowed"]
        if term or trunc:
            obs, _ = env.reset()
