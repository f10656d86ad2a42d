"""The rule for a disallowed item is the same in every env (envs.action_masks): the vector env
refuses a slot shown a blocked item while the other slots step, as the single envs refuse a step."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch

import banditsim.envs  # noqa: F401  (registers the ids)
from banditsim.envs.dynamics import Patience, Returns
from banditsim.envs.feedback_kinds import BLOCK
from banditsim.envs.vector_env import BanditVectorEnv
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError

torch.set_num_threads(1)

B = 8
CFG = WorldConfig(reward_map={"block": -2.5}, patience=Patience(initial=30), returns=Returns(p_return=1.0))


@pytest.fixture()
def kw(small_items, small_population):
    return {"item_vectors": small_items, "population": small_population, "max_steps": 25, "config": CFG}


def _allowed(mask, rng, k):
    return np.array([rng.choice(np.flatnonzero(m), size=k, replace=False) for m in mask])


def _venv_with_blocks(kw, k, min_slots=4, seed=0):
    venv = BanditVectorEnv(B, slate_size=k, **kw)
    obs, _ = venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(300):
        if (obs["mask"] == 0).any(1).sum() >= min_slots:
            return venv, obs
        obs, *_ = venv.step(_allowed(obs["mask"].astype(bool), rng, k))
    raise AssertionError("too few blocks")


def _slot_state(venv, slots):
    w = venv.world
    o = w._observation()
    return (o.user_ids[slots], o.mask[slots], o.session_step[slots], o.patience[slots], w.theta()[slots])


@pytest.mark.parametrize("k", [None, 3])
def test_mixed_batch_refuses_the_disallowed_slots_and_steps_the_others(kw, k):
    venv, obs = _venv_with_blocks(kw, k)
    rng = np.random.default_rng(1)
    for step in range(5):
        mask = obs["mask"].astype(bool)
        a = _allowed(mask, rng, k)
        refused = np.flatnonzero((~mask).any(1))
        where = step % 3  # the disallowed item first, in the middle, last in the slate
        bad_items = {}
        for r in refused:
            bad_items[r] = int(rng.choice(np.flatnonzero(~mask[r])))
            if k is None:
                a[r] = bad_items[r]
            else:
                a[r, where] = bad_items[r]
        acting = np.setdiff1d(np.arange(B), refused)
        twin = copy.deepcopy(venv)  # the same slots, where only the acting slots act
        before = _slot_state(venv, refused)
        obs, r, term, trunc, info = venv.step(a)
        ref = twin.world.step(a, active=np.isin(np.arange(B), acting))
        np.testing.assert_array_equal(info["disallowed"], np.isin(np.arange(B), refused))
        assert (r[refused] == -2.5).all() and (info["kind_code"][refused] == BLOCK).all()
        assert (info["expected_reward"][refused] == -2.5).all() and not (term | trunc)[refused].any()
        np.testing.assert_array_equal(info["regret"], info["best_expected_reward"] - info["expected_reward"])
        assert [info["item"][s] for s in refused] == [bad_items[s] for s in refused]
        assert (info["position"][refused] == (0 if k is None else where)).all()
        for x, y in zip(before, _slot_state(venv, refused)):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(obs["mask"][refused], mask[refused].astype(np.int8))
        np.testing.assert_array_equal(r[acting], ref.reward[acting])
        np.testing.assert_array_equal(info["kind_code"][acting], ref.kind[acting])
        np.testing.assert_array_equal(info["item"][acting], ref.item[acting])
        np.testing.assert_array_equal(info["regret"][acting], ref.regret[acting])


@pytest.mark.parametrize("k", [None, 3])
def test_a_disallowed_item_from_an_earlier_session_is_refused_too(kw, k):
    venv, obs = _venv_with_blocks(kw, k, min_slots=1)
    rng = np.random.default_rng(2)
    w = venv.world
    slot = int(np.flatnonzero((obs["mask"] == 0).any(1))[0])
    uid = w._observation().user_ids[slot]
    blocked = int(np.flatnonzero(obs["mask"][slot] == 0)[0])
    while w._observation().session_step[slot] != 0 or w._observation().user_ids[slot] != uid:
        obs, _, term, trunc, info = venv.step(_allowed(obs["mask"].astype(bool), rng, k))  # p_return 1
    assert w._observation().user_ids[slot] == uid and obs["mask"][slot, blocked] == 0  # blocks kept
    a = _allowed(obs["mask"].astype(bool), rng, k)
    a[slot] = blocked if k is None else np.r_[blocked, a[slot, 1:]]
    _, r, _, _, info = venv.step(a)
    assert info["disallowed"][slot] and r[slot] == -2.5 and w._observation().session_step[slot] == 0


def test_refused_slots_do_not_count_towards_max_steps(kw):
    venv, obs = _venv_with_blocks(kw, None, min_slots=1)
    slot = int(np.flatnonzero((obs["mask"] == 0).any(1))[0])
    blocked = int(np.flatnonzero(obs["mask"][slot] == 0)[0])
    step0 = venv.world._observation().session_step[slot]
    rng = np.random.default_rng(3)
    ended = np.zeros(B, dtype=bool)
    for _ in range(kw["max_steps"] + 5):
        a = _allowed(obs["mask"].astype(bool), rng, None)
        a[slot] = blocked
        obs, r, term, trunc, info = venv.step(a)
        assert not (term[slot] or trunc[slot]) and r[slot] == -2.5
        ended |= term | trunc
    assert venv.world._observation().session_step[slot] == step0
    assert ended.sum() == B - 1  # every other slot ended a session meanwhile


def test_a_step_refused_in_every_slot_draws_and_changes_nothing(kw):
    venv, obs = _venv_with_blocks(kw, None, min_slots=1)
    w = venv.world
    rng = np.random.default_rng(4)
    while not (obs["mask"] == 0).any(1).all():
        obs, *_ = venv.step(_allowed(obs["mask"].astype(bool), rng, None))
    state, t = w._rng.bit_generator.state, w.t
    before = _slot_state(venv, np.arange(B))
    a = np.array([np.flatnonzero(m == 0)[0] for m in obs["mask"]])
    _, r, term, trunc, info = venv.step(a)
    assert info["disallowed"].all() and (r == -2.5).all() and not (term | trunc).any()
    assert w._rng.bit_generator.state == state and w.t == t
    for x, y in zip(before, _slot_state(venv, np.arange(B))):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("env_id,k", [("banditsim/Recommend-v0", None), ("banditsim/Slate-v0", 3)])
def test_one_slot_vector_env_and_single_env_give_the_same_steps(kw, env_id, k):
    """The same rule in every env: with B = 1 the vector env and the single env (same seed, same
    actions, refused ones included) give the same rewards, answers and regrets."""
    single = gym.make(env_id, **kw, **({} if k is None else {"slate_size": k}))
    venv = BanditVectorEnv(1, slate_size=k, **kw)
    obs, info = single.reset(seed=7)
    vobs, _ = venv.reset(seed=7)
    rng = np.random.default_rng(7)
    refused = 0
    for t in range(150):
        mask = obs["mask"].astype(bool)
        a = _allowed(mask[None], rng, k)[0]
        if t % 3 == 0 and not mask.all():  # every third step a blocked item where there is one
            bad = rng.choice(np.flatnonzero(~mask))
            a = bad if k is None else np.r_[a[:-1], bad]
        obs, r, term, trunc, info = single.step(a)
        vobs, vr, vterm, vtrunc, vinfo = venv.step(np.asarray(a)[None])
        refused += info["disallowed"]
        assert (r, term, trunc, info["disallowed"]) == (vr[0], vterm[0], vtrunc[0], vinfo["disallowed"][0])
        for key in ("kind_code", "expected_reward", "best_expected_reward", "regret", "item", "position"):
            assert info[key] == vinfo[key][0], key
        np.testing.assert_array_equal(obs["mask"], vobs["mask"][0])
        if term or trunc:
            obs, info = single.reset()
    assert refused >= 5


def test_malformed_actions_are_errors_even_next_to_a_disallowed_item(kw):
    venv, obs = _venv_with_blocks(kw, None, min_slots=1)
    w = venv.world
    slot = int(np.flatnonzero((obs["mask"] == 0).any(1))[0])
    a = np.array([np.flatnonzero(m)[0] for m in obs["mask"]])
    a[slot] = np.flatnonzero(obs["mask"][slot] == 0)[0]
    state = w._rng.bit_generator.state
    for bad, msg in ((np.r_[a[:-1], 60], "out of range"), (np.r_[a[:-1], -1], "out of range"),
                     (a[:-1], "actions must have shape"), (a + 0.5, "integer item indices"),
                     (a.astype(bool), "integer item indices"), (np.stack([a, a], 1)[:, :, None], "shape")):
        with pytest.raises(ActionError, match=msg):
            venv.step(bad)
    assert w._rng.bit_generator.state == state
    # integral floats and torch tensors are well-formed: the disallowed slot is refused as usual
    for ok in (a.astype(np.float64), torch.as_tensor(a)):
        _, r, _, _, info = venv.step(ok)
        assert info["disallowed"][slot] and r[slot] == -2.5
