"""``World.step(actions, active=...)``: refused rows are shown nothing and left as they were, the
other rows step exactly as they would have (envs.world.refused_rows, the rule of envs.action_masks)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from banditsim.envs.dynamics import Fatigue, Patience, Returns
from banditsim.envs.feedback_kinds import BLOCK
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError

torch.set_num_threads(1)

B = 12
# refused rows must not end their session in the twin that lets them act (see _twin_pair)
BASE = {"patience": Patience(initial=40), "returns": Returns(p_return=1.0), "session_length": 400}
CONFIGS = {
    "default": {},
    "no recovery": {"fatigue": Fatigue(recovery=0.0)},  # tick rewrites every row
    "fast recovery": {"fatigue": Fatigue(recovery=0.01)},  # the lazy scale is rewritten within steps
    "non-monotone rewards": {"reward_map": {"like": 3.0, "save": 2.0}},
    "torch": {"backend": "torch"},
}


def _allowed_actions(mask: np.ndarray, rng, k: int | None) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(m), size=k, replace=False) for m in mask])


def _blocked_world(items, pop, cfg: WorldConfig, k: int | None, min_rows: int = 5, seed: int = 0) -> World:
    """A world stepped with allowed actions until at least ``min_rows`` rows have blocked something."""
    w = World(items, pop, n_users=B, config=cfg, seed=seed)
    o = w.reset()
    rng = np.random.default_rng(seed)
    for _ in range(400):
        if (~o.mask).any(1).sum() >= min_rows:
            return w
        o = w.step(_allowed_actions(o.mask, rng, k)).observation
    raise AssertionError("too few blocks")


def _row_state(w: World, rows) -> tuple:
    o = w._observation()
    fat = w.be.to_numpy(w._fatigue.f)[rows] / w._fatigue.scale
    return (o.user_ids[rows], o.population_index[rows], o.features[rows], o.mask[rows], o.session_step[rows],
            o.patience[rows], w.theta()[rows], fat)


def _assert_rows_equal(a: tuple, b: tuple, fat_rtol: float = 0.0) -> None:
    for x, y in zip(a[:-1], b[:-1]):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a[-1], b[-1], rtol=fat_rtol, atol=0)


def _mixed_actions(w: World, rng, k: int | None, where: int = 0):
    """Allowed actions for every row, except one disallowed item (at slate position ``where``) in
    every row that has blocked something; returns (actions, refused rows)."""
    mask = w._observation().mask
    a = _allowed_actions(mask, rng, k)
    refused = np.flatnonzero((~mask).any(1))
    for r in refused:
        blocked = rng.choice(np.flatnonzero(~mask[r]))
        if k is None:
            a[r] = blocked
        else:
            a[r, where] = blocked
    return a, refused


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("k", [None, 3])
def test_refused_rows_change_nothing_and_the_others_step_as_if_every_row_acted(small_items, small_population,
                                                                                 name, k):
    cfg = WorldConfig(**{**BASE, **CONFIGS[name]})
    w = _blocked_world(small_items, small_population, cfg, k)
    rng = np.random.default_rng(1)
    checked = 0
    for step in range(6):
        a, refused = _mixed_actions(w, rng, k, where=step % 3)
        active = np.ones(B, dtype=bool)
        active[refused] = False
        acting = np.flatnonzero(active)
        # the twin: the same world where the refused rows show an allowed item instead
        twin = copy.deepcopy(w)
        alt = a.copy()
        alt[refused] = _allowed_actions(w._observation().mask[refused], rng, k)
        before = _row_state(w, refused)
        best_before = (w.best_items()[1] if k is None else w.best_slates(k)[1])[refused]
        t0 = w.t
        res = w.step(a, active=active)
        ref = twin.step(alt)
        # refused rows: the penalty, nothing else
        r_block = float(w.rewards[BLOCK])
        assert (res.kind[refused] == BLOCK).all() and (res.reward[refused] == r_block).all()
        assert (res.expected_reward_chosen[refused] == r_block).all()
        np.testing.assert_array_equal(res.best_expected_reward[refused], np.maximum(best_before, r_block))
        assert (res.position[refused] == -1).all() and (res.item[refused] == -1).all()
        for flag in (res.terminated, res.truncated, res.returned, res.churned):
            assert not flag[refused].any()
        _assert_rows_equal(before, _row_state(w, refused), fat_rtol=1e-6)
        assert w.t == t0 + 1
        # acting rows: exactly the twin's outcome, state and random stream
        if ref.terminated[refused].any() or ref.truncated[refused].any():
            continue  # the twin's refused rows spawned people: its stream moved on differently
        for field in ("user_ids", "kind", "reward", "position", "item", "expected_reward_chosen",
                      "best_expected_reward", "terminated", "truncated", "returned", "churned"):
            np.testing.assert_array_equal(getattr(res, field)[acting], getattr(ref, field)[acting], err_msg=field)
        _assert_rows_equal(_row_state(w, acting), _row_state(twin, acting))
        assert w._rng.bit_generator.state == twin._rng.bit_generator.state
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("k", [None, 3])
def test_a_step_with_every_row_refused_draws_and_changes_nothing(small_items, small_population, k):
    cfg = WorldConfig(**BASE)
    w = _blocked_world(small_items, small_population, cfg, k, min_rows=1)
    mask = w._observation().mask
    a = _allowed_actions(mask, np.random.default_rng(0), k)
    every = np.arange(B)
    before, state, t0 = _row_state(w, every), w._rng.bit_generator.state, w.t
    best = w.best_items()[1] if k is None else w.best_slates(k)[1]
    res = w.step(a, active=np.zeros(B, dtype=bool))  # allowed items, refused anyway: nothing is shown
    assert (res.kind == BLOCK).all() and (res.reward == float(w.rewards[BLOCK])).all()
    np.testing.assert_array_equal(res.best_expected_reward, np.maximum(best, float(w.rewards[BLOCK])))
    _assert_rows_equal(before, _row_state(w, every))  # exactly: not even fatigue recovers
    assert w._rng.bit_generator.state == state and w.t == t0


def test_refused_steps_do_not_count_towards_the_session_length(small_items, small_population):
    cfg = WorldConfig(patience=Patience(initial=1000), session_length=5)
    w = _blocked_world(small_items, small_population, cfg, None, min_rows=1)
    o = w._observation()
    r = int(np.flatnonzero((~o.mask).any(1))[0])
    step0, uid = o.session_step[r], o.user_ids[r]
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(20):  # the other rows run through several sessions of 5 steps
        a = _allowed_actions(o.mask, rng, None)
        a[r] = np.flatnonzero(~o.mask[r])[0]
        active = np.arange(B) != r
        res = w.step(a, active=active)
        o = res.observation
        ends += int(res.truncated[active].sum())
        assert not res.truncated[r] and o.session_step[r] == step0 and o.user_ids[r] == uid
    assert ends >= B - 1


def test_bad_active_and_malformed_actions_are_errors(small_items, small_population):
    w = World(small_items, small_population, n_users=3, seed=0)
    w.reset()
    state = w._rng.bit_generator.state
    for active in (np.array([1, 0, 1]), np.array([True, False]), [[True, True, True]]):
        with pytest.raises(ActionError, match=r"active must be a bool array of shape \(3,\)"):
            w.step(np.array([0, 1, 2]), active=active)
    for a, msg in ((np.array([0, 60, 1]), "out of range"), (np.array([0.5, 1, 2]), "integer item indices"),
                   (np.array([0, 1]), "actions must have shape")):
        with pytest.raises(ActionError, match=msg):  # refused or not, a malformed action is an error
            w.step(a, active=np.array([False, True, True]))
    assert w._rng.bit_generator.state == state and w.t == 0
    w.step(torch.tensor([0, 1, 2]), active=torch.tensor([True, False, True]))  # torch in, as actions are
    assert w._observation().session_step.tolist() == [1, 0, 1]
