"""Issue #21: an exogenous, population-wide taste trend (``Drift(trend_rate, trend_period)``).

Off by default and then bit-identical to the world without it; its path is drawn from a stream of
its own (same seed, same path, whatever the agent does; the per-step answers' stream untouched);
one trend step is the drift's pull toward x_τ (envs.dynamics.Drift) for the active rows; the
exact-best oracle stays exact after every user's taste moved (brute-force argmax over
``expected_rewards``), on numpy and torch, single items and slates, full and tastes bases; config
errors are one line; and with a strong trend the forgetting agents beat their stationary versions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from banditsim.envs.clusters import cluster_population
from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.population import unit_rows
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import WorldConfigError

torch.set_num_threads(1)

N_ITEMS, DIM, B = 40, 8, 12
CALM = WorldConfig(fatigue=Fatigue(enabled=False), drift=Drift(rate=0.0, trend_rate=0.2, trend_period=1000),
                   patience=Patience(enabled=False), blocking=Blocking(enabled=False))
EVERYTHING_ON = WorldConfig(
    fatigue=Fatigue(strength=2.0, recovery=0.7, similarity=0.5, max_neighbors=4),
    drift=Drift(rate=0.3, trend_rate=0.3, trend_period=3), blocking=Blocking(enabled=True),
    patience=Patience(initial=2), returns=Returns(p_return=0.6, gap=1), cascade=CascadeChoice(decay=0.7),
    session_length=6, candidates=4)


def _items():
    return np.random.default_rng(0).normal(size=(N_ITEMS, DIM))


def _population(x, rank=None):
    pop = cluster_population(x, 30, n_clusters=4, seed=0)
    if rank is not None:  # tastes in a rank-``rank`` subspace: basis="tastes" is then another model
        q = np.linalg.qr(np.random.default_rng(1).normal(size=(DIM, rank)))[0]
        pop = dataclasses.replace(pop, theta=unit_rows(pop.theta @ q @ q.T).astype(np.float32))
    return pop


def _world(cfg, seed=5, rank=None, n_users=B):
    x = _items()
    return World(x, _population(x, rank), n_users=n_users, config=cfg, seed=seed)


def _play(w, steps, k=None, seed=0, active_every=None):
    """Step ``w`` with random actions (slates of ``k`` when given); returns the step results."""
    rng = np.random.default_rng(seed)
    w.reset()
    out = []
    for t in range(steps):
        a = rng.integers(w.n_items, size=(w.n_users,) if k is None else (w.n_users, k))
        active = None if active_every is None else (np.arange(w.n_users) + t) % active_every != 0
        out.append(w.step(a, active=active))
    return out


# ----------------------------------------------------------------------------- off by default
@pytest.mark.parametrize("cfg", [WorldConfig(drift=Drift(trend_rate=0.0, trend_period=3)),
                                 WorldConfig(drift=Drift(enabled=False, trend_rate=0.5))], ids=["rate0", "disabled"])
def test_a_trend_that_is_off_changes_nothing_bit_for_bit(cfg):
    base = WorldConfig(drift=Drift(enabled=cfg.drift.enabled))
    assert Drift().trend_rate == 0.0  # off by default
    for k in (None, 2):
        a, b = _world(base), _world(cfg)
        ra, rb = _play(a, 25, k), _play(b, 25, k)
        for x, y in zip(ra, rb):
            for f in ("kind", "reward", "item", "expected_reward_chosen", "best_expected_reward", "churned"):
                np.testing.assert_array_equal(getattr(x, f), getattr(y, f), err_msg=f)
        np.testing.assert_array_equal(a.theta(), b.theta())
        assert b._trend is None


def test_the_trend_draws_nothing_from_the_answers_stream():
    """The same seed and actions with the trend on and off: the world's per-step stream is at the
    same state after every step (the trend path has a stream of its own). Sessions end by length
    only, so the number of draws (churn included) does not depend on the answers."""
    cfg = dataclasses.replace(CALM, session_length=3, drift=Drift(rate=0.3, trend_rate=0.3, trend_period=2))
    on, off = _world(cfg), _world(dataclasses.replace(cfg, drift=Drift(rate=0.3)))
    rng = np.random.default_rng(1)
    on.reset(), off.reset()
    for _ in range(12):
        a = rng.integers(N_ITEMS, size=B)
        on.step(a), off.step(a)
        assert on._rng.bit_generator.state == off._rng.bit_generator.state
    assert not np.allclose(on.theta(), off.theta())  # and the trend did move the tastes


def _trend_path(w, steps, policy, seed=None):
    w.reset(seed=seed)
    path = []
    for t in range(steps):
        w.step(policy(t))
        path.append(w._trend.item)
    return path


def test_the_trend_path_is_common_to_every_agent_and_jumps_every_period():
    cfg = dataclasses.replace(EVERYTHING_ON, drift=Drift(rate=0.3, trend_rate=0.3, trend_period=4))
    rng = np.random.default_rng(2)
    random_policy = _trend_path(_world(cfg), 40, lambda t: rng.integers(N_ITEMS, size=B))
    greedy_policy = _trend_path(_world(cfg), 40, lambda t: np.zeros(B, dtype=np.int64))
    assert random_policy == greedy_policy
    periods = [random_policy[i:i + 4] for i in range(0, 40, 4)]
    assert all(len(set(p)) == 1 for p in periods)  # constant within a period
    assert all(p[0] != q[0] for p, q in zip(periods, periods[1:]))  # a new item at each jump
    w = _world(cfg)
    first = _trend_path(w, 40, lambda t: np.zeros(B, dtype=np.int64), seed=11)
    assert _trend_path(w, 40, lambda t: np.ones(B, dtype=np.int64), seed=11) == first  # reset(seed) replays it
    assert first != random_policy  # another seed, another path


# ----------------------------------------------------------------------------- the rule
@pytest.mark.parametrize("basis,rank", [("full", None), ("tastes", 3)])
def test_one_trend_step_is_the_normalised_pull_of_the_active_rows(basis, rank):
    cfg = dataclasses.replace(CALM, drift=Drift(rate=0.0, trend_rate=0.2, trend_period=1000, basis=basis))
    w = _world(cfg, rank=rank)
    w.reset()
    x = w._tables.positions_np.astype(np.float64)  # the world's item positions (unit)
    c = x.mean(0)  # the catalog's direction: each taste keeps its part along it (Drift)
    if basis == "tastes":  # the pull is toward the item's part in the tastes' span
        p = w._basis.astype(np.float64)
        x, c = x @ p @ p.T, c @ p @ p.T
    c /= np.linalg.norm(c)
    active = np.arange(B) % 3 != 0
    start = w.theta().astype(np.float64)
    for _ in range(4):
        before = w.theta().astype(np.float64)
        tau = x[w._trend.item]
        w.step(np.random.default_rng(3).integers(N_ITEMS, size=B), active=active)
        a = before @ c
        perp = before - a[:, None] * c + 0.2 * (tau - (tau @ c) * c)
        want = a[:, None] * c + np.sqrt(1 - a * a)[:, None] * perp / np.linalg.norm(perp, axis=1, keepdims=True)
        got = w.theta().astype(np.float64)
        np.testing.assert_allclose(got[active], want[active], atol=2e-6)
        np.testing.assert_array_equal(got[~active], before[~active])  # refused rows are not pulled
    assert (got[active] @ tau > start[active] @ tau + 1e-3).all()  # every active taste moved toward τ


# ----------------------------------------------------------------------------- exact oracle
def _brute_best(w):
    """Best allowed item's exact value by brute force over every item (``expected_rewards``)."""
    e = np.where(w.be.to_numpy(w._allowed), w.expected_rewards(), -np.inf)
    return e, e.max(1)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("k", [None, 3], ids=["single", "slate3"])
@pytest.mark.parametrize("basis,rank", [("full", None), ("tastes", 3)])
def test_exact_best_after_trend_steps(backend, k, basis, rank):
    """Every step the trend moves every user's taste; the cached candidates must follow: the best
    item (and greedy best slate) the world reports equals a brute-force argmax over all items."""
    cfg = dataclasses.replace(EVERYTHING_ON, backend=backend,
                              drift=dataclasses.replace(EVERYTHING_ON.drift, basis=basis))
    w = _world(cfg, rank=rank)
    rng = np.random.default_rng(4)
    w.reset()
    for t in range(30):
        e, brute = _brute_best(w)
        if k is None:
            items, value = w.best_items()
            np.testing.assert_allclose(value, brute, rtol=0, atol=1e-9)
            np.testing.assert_allclose(e[np.arange(B), items], brute, rtol=0, atol=1e-9)
            a = rng.integers(N_ITEMS, size=B)
        else:
            slates, value = w.best_slates(k)
            greedy = np.argsort(-e, axis=1, kind="stable")[:, :k]
            np.testing.assert_allclose(value, w.slate_expected_rewards(greedy), rtol=0, atol=1e-9)
            a = rng.integers(N_ITEMS, size=(B, k))
        res = w.step(a)
        assert (res.best_expected_reward >= res.expected_reward_chosen - 1e-12).all()
        if k is None:  # the chosen item's value is the brute-force table's, to 1e-12
            np.testing.assert_allclose(res.expected_reward_chosen, np.where(
                np.isfinite(e[np.arange(B), a]), e[np.arange(B), a], float(w.rewards[0])), rtol=0, atol=1e-12)
            np.testing.assert_allclose(res.best_expected_reward, np.maximum(brute, res.expected_reward_chosen),
                                       rtol=0, atol=1e-9)
    assert w._trend.item >= 0


def test_exact_best_with_a_trend_across_new_items():
    """Items added mid-run (cold start): the trend's cached Gram entries follow the new catalog."""
    w = _world(EVERYTHING_ON)
    rng = np.random.default_rng(6)
    w.reset()
    for t in range(20):
        if t == 7:
            w.add_items(np.random.default_rng(7).normal(size=(5, DIM)))
        _, brute = _brute_best(w)
        np.testing.assert_allclose(w.best_items()[1], brute, rtol=0, atol=1e-9)
        w.step(rng.integers(w.n_items, size=B))
    assert w.n_items == N_ITEMS + 5


def test_numpy_and_torch_follow_the_same_trend():
    a, b = _world(EVERYTHING_ON), _world(dataclasses.replace(EVERYTHING_ON, backend="torch"))
    ra, rb = _play(a, 20), _play(b, 20)
    np.testing.assert_array_equal(np.array([r.kind for r in ra]), np.array([r.kind for r in rb]))
    np.testing.assert_allclose(a.theta(), b.theta(), atol=1e-5)


# ----------------------------------------------------------------------------- bad values
@pytest.mark.parametrize("kwargs,message", [
    ({"trend_rate": -0.1}, "drift trend_rate must be finite and ≥ 0, got -0.1"),
    ({"trend_rate": float("inf")}, "drift trend_rate must be finite and ≥ 0, got inf"),
    ({"trend_rate": float("nan")}, "drift trend_rate must be finite and ≥ 0, got nan"),
    ({"rate": float("inf")}, "drift rate must be finite and ≥ 0, got inf"),
    ({"trend_period": 0}, "drift trend_period must be an integer ≥ 1, got 0"),
    ({"trend_period": 2.5}, "drift trend_period must be an integer ≥ 1, got 2.5"),
    ({"trend_period": True}, "drift trend_period must be an integer ≥ 1, got True"),
])
def test_bad_drift_values_are_one_clear_error(kwargs, message):
    with pytest.raises(WorldConfigError) as info:
        Drift(**kwargs)
    assert str(info.value) == message


def test_a_trend_needs_an_integer_seed():
    with pytest.raises(WorldConfigError, match="integer seed or None"):
        _world(EVERYTHING_ON, seed=np.random.default_rng(0))


@pytest.mark.parametrize("key,value,expect", [
    ("trend_rate", "-1", "world.drift.trend_rate"), ("trend_rate", ".inf", "world.drift.trend_rate"),
    ("trend_period", "0", "world.drift.trend_period"), ("trend_period", "1.5", "world.drift.trend_period"),
    ("rate", ".inf", "world.drift.rate")])
def test_bad_trend_keys_through_the_cli(tmp_path, capsys, key, value, expect):
    from tests.reliability.rel_helpers import check_cli_error, tiny_config_text, write_tiny_catalog

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(tiny_config_text(write_tiny_catalog(tmp_path), seeds=1, horizon=3))
    out = tmp_path / "results"
    check_cli_error(["run", str(cfg), "--out", str(out), "--quiet", "--set", f"world.drift.{key}={value}"],
                    capsys, "drift trend", f"{key}={value}", expect=expect, must_not_exist=[out])


def test_the_config_printer_documents_the_trend_keys():
    from banditsim.sim.config.printer import default_config_text

    text = default_config_text()
    for key in ("trend_rate: 0.0  # exogenous trend", "trend_period: 100  # steps between jumps"):
        assert key in text, key


# ----------------------------------------------------------------------------- the direction
def _regret(agent: dict, drift: dict, seeds=4) -> np.ndarray:
    from banditsim.sim.run.cells import Cell
    from banditsim.sim.run.play import play_cell
    from tests.sim.test_notebook_helpers import tiny_prep

    prep = tiny_prep({"agents": [agent], "world": {"n_users": 32, "drift": drift},
                      "run": {"horizon": 100, "seeds": seeds}, "log": {"enabled": False}})
    return np.array([play_cell(prep, Cell(agent_index=0, seed_index=s, agent_label="a"))["metrics"]
                     .column("cumulative_regret").to_numpy()[-1] for s in range(seeds)])


def test_forgetting_beats_stationary_under_a_strong_trend_and_loses_little_without():
    """beta_ts against discounted_beta_ts (γ 0.95), 32 users x 100 steps, 4 seeds; measured
    46.4 -> 35.2 with trend 0.1 every step, jumping every 25 steps (the discounted agent wins seed
    by seed); without the trend 56.9 -> 72.1. (Before drift kept each taste's part along the
    catalog's direction, 45.7 -> 31.0 with the trend, and it lost less than that without.)"""
    old = {"name": "beta_ts", "params": {"n_propensity_draws": 4}}
    new = {"name": "discounted_beta_ts", "params": {"n_propensity_draws": 4, "gamma": 0.95}}
    trend = {"trend_rate": 0.1, "trend_period": 25}
    t_old, t_new = _regret(old, trend), _regret(new, trend)
    assert (t_new < t_old).all() and t_new.mean() < 0.8 * t_old.mean(), (t_new, t_old)
    c_old, c_new = _regret(old, {}), _regret(new, {})
    # without the trend it pays extra, but less than a third of the stationary agent's regret
    assert 0 < c_new.mean() - c_old.mean() < c_old.mean() / 3, (c_new, c_old, t_new, t_old)
