"""Batched updates (issue #21 item 2): ``run.update_every: N`` = one update call over N steps' answers.

One call over the concatenated rows must equal the separate calls of each arrival step: bit for
bit for the counting agents, within 1e-9 for the linear ones (a rank-m update rounds differently
from m rank-1 updates). Not for ``logistic_ts`` (one Newton step per call: batching is part of its
definition) nor ``neural_linear_ts`` (retrains on a schedule of calls): see
``tests/reliability/test_determinism.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from banditsim.agents import AGENTS, Context, Feedback, make_agent
from banditsim.sim.run.cells import Cell
from banditsim.sim.run.feedback_delay import FeedbackSchedule
from banditsim.sim.run.play import build_agent, play_cell, start_world
from tests.reliability.test_determinism import _float_state
from tests.sim.test_notebook_helpers import tiny_prep

torch.set_num_threads(1)
#: batching changes what these learn, by definition: one Newton step per call (logistic_ts), retraining
#: on a schedule of calls (neural_linear_ts), one leaf of the tree mechanism per call (the private
#: linear ones). The forgetting agents age by decision steps (the rows' ``feedback.step``,
#: ``agents._state.step_clock``), so they are here: batched = separate, also when they forget.
BATCH_DEPENDENT = {"logistic_ts", "neural_linear_ts", "private_linucb", "private_lin_ts"}
#: ... and where they reduce to a stationary agent: nothing forgotten (γ = 1), a window longer than the run
NO_FORGETTING = [("discounted_beta_ts", {"gamma": 1.0}), ("discounted_gaussian_ts", {"gamma": 1.0}),
                 ("discounted_linucb", {"gamma": 1.0}), ("discounted_lin_ts", {"gamma": 1.0}),
                 ("sliding_window_ucb", {"window": 50}), ("discounted_linucb", {"gamma": 0.8, "mode": "shared"}),
                 ("sliding_window_ucb", {"window": 2}), ("discounted_beta_ts", {"gamma": 0.7, "binarize": True})]
LINEAR = {"linucb", "lin_ts", "discounted_linucb", "discounted_lin_ts"}
#: discounted counts Σ γ^age·r (γ < 1) are weighted sums too: they round differently in one call (1e-9)
DISCOUNTED_COUNTS = {"discounted_beta_ts", "discounted_gaussian_ts"}
CASES = [(n, dict(AGENTS[n].test_params)) for n in sorted(AGENTS) if n not in BATCH_DEPENDENT] + [
    ("linucb", {"mode": "shared"}), ("lin_ts", {"mode": "shared", "n_propensity_draws": 8}),
    ("beta_ts", {"binarize": True}), ("epsilon_greedy", {"slate_size": 3})] + [
    (n, {**AGENTS[n].test_params, **p}) for n, p in NO_FORGETTING if n in AGENTS]
N_ARMS, N_STEPS, D = 9, 6, 4


def _steps(slate: int, seed: int = 0):
    """N_STEPS decision steps of different sizes: contexts with masks and replicas, actions, answers."""
    rng = np.random.default_rng(seed)
    arm_features = rng.normal(size=(N_ARMS, 5))
    out = []
    for t in range(N_STEPS):
        n = int(rng.integers(3, 12))
        mask = rng.random((n, N_ARMS)) < 0.8
        mask[:, :slate] = True
        actions = np.stack([rng.permutation(N_ARMS)[:slate] for _ in range(n)]) if slate > 1 else rng.integers(0, N_ARMS, n)
        kind = rng.integers(0, 7, n)
        reward = np.array([-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0])[kind]
        position = rng.integers(-1, slate, n) if slate > 1 else None
        ctx = Context(features=rng.normal(size=(n, D)), arm_features=arm_features, mask=mask,
                      replica=rng.integers(0, 2, n))
        out.append((ctx, actions, Feedback(reward=reward, kind=kind, position=position)))
    return out


def _delays(seed):
    rng = np.random.default_rng(seed)
    return lambda kind: rng.integers(0, 4, kind.shape[0])


def _play(agent, schedule, steps):
    calls = 0
    for t, (ctx, actions, fb) in enumerate(steps):
        _, update = schedule.step(t, ctx, actions, fb)
        if update is not None:
            agent.update(*update)
            calls += 1
    return calls


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{'-'.join(map(str, p.values())) or 'default'}"
                                                    for n, p in CASES])
def test_one_batched_update_equals_the_separate_updates(name, params):
    """Row subsets of several earlier steps (delays 0-3), delivered step by step or in one call."""
    params = dict(params)
    slate = params.pop("slate_size", 1)
    steps = _steps(slate)
    kw = dict(n_replicas=2, random_state=0, slate_size=slate, **params)
    separate, batched = make_agent(name, N_ARMS, **kw), make_agent(name, N_ARMS, **kw)
    for agent in (separate, batched):  # act first, so samplers' caches exist and must follow the updates
        agent.act(steps[0][0])
    n_separate = _play(separate, FeedbackSchedule(N_STEPS + 3, 1, _delays(1)), steps)
    n_batched = _play(batched, FeedbackSchedule(N_STEPS + 3, N_STEPS, _delays(1)), steps)
    assert n_batched == 1 and n_separate >= 4
    a, b = _float_state(separate), _float_state(batched)
    assert a.keys() == b.keys() and a
    for key in a:
        if name in LINEAR or (name in DISCOUNTED_COUNTS and params["gamma"] < 1.0):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_batched_rows_are_the_arrived_rows_in_arrival_order():
    steps = _steps(1)
    per_step, batched = [], []
    s1, sn = FeedbackSchedule(N_STEPS, 1, _delays(4)), FeedbackSchedule(N_STEPS, 3, _delays(4))
    for t, (ctx, actions, fb) in enumerate(steps):
        _, u1 = s1.step(t, ctx, actions, fb)
        _, un = sn.step(t, ctx, actions, fb)
        per_step.append(u1)
        if un is not None:
            batched.append(un)
            parts = [u for u in per_step if u is not None]
            np.testing.assert_array_equal(un[1], np.concatenate([u[1] for u in parts]))
            np.testing.assert_array_equal(un[0].features, np.concatenate([u[0].features for u in parts]))
            np.testing.assert_array_equal(un[0].replica, np.concatenate([u[0].replica for u in parts]))
            np.testing.assert_array_equal(un[2].kind, np.concatenate([u[2].kind for u in parts]))
            per_step = []
        else:
            assert sn.counts()["feedback_buffered"] == sum(u[1].shape[0] for u in per_step if u is not None)
    assert len(batched) == 2  # after steps 2 and 5


# ----------------------------------------------------------------------------- the sim path
SPECS = [{"name": "ucb1"}, {"name": "kl_ucb"}, {"name": "epsilon_greedy", "params": {"epsilon": 0.2}},
         {"name": "dirichlet_ts", "params": {"n_propensity_draws": 8}},
         {"name": "beta_ts", "params": {"n_propensity_draws": 8}}, {"name": "linucb"}, {"name": "lin_ts"},
         # forgetting agents: by hand, each of the ``every`` calls is one step (plain Feedback); play_cell's
         # one call ages its rows by their decision steps: the same model
         {"name": "discounted_beta_ts", "params": {"n_propensity_draws": 8, "gamma": 0.8}},
         {"name": "discounted_linucb", "params": {"gamma": 0.8}}, {"name": "sliding_window_ucb", "params": {"window": 3}}]
HORIZON = 24


def _prep(update_every: int):
    return tiny_prep({"agents": SPECS, "world": {"n_users": 12},
                      "run": {"horizon": HORIZON, "seeds": 1, "update_every": update_every}, "log": {"enabled": False}})


def _by_hand(prep, agent_index: int, every: int) -> np.ndarray:
    """Today's loop written out: act, step, and every ``every`` steps one update call per buffered step."""
    world, obs = start_world(prep, 0)
    agent = build_agent(prep, agent_index, 0)
    arm = prep.item_vectors.astype(np.float64)
    arm.setflags(write=False)
    waiting, regret = [], []
    for t in range(HORIZON):
        ctx = Context(features=obs.features, arm_features=arm, mask=obs.mask)
        decision = agent.act(ctx)
        res = world.step(decision.actions)
        waiting.append((Context(features=ctx.features, arm_features=arm), decision.actions,
                        Feedback(reward=res.reward, kind=res.kind, position=res.position)))
        if (t + 1) % every == 0:
            for step in waiting:
                agent.update(*step)
            waiting = []
        regret.append(res.regret.mean())
        obs = res.observation
    return np.array(regret)


@pytest.mark.parametrize("every", [1, 5])
@pytest.mark.parametrize("agent_index", range(len(SPECS)), ids=[s["name"] for s in SPECS])
def test_play_cell_with_update_every_is_the_loop_by_hand(agent_index, every):
    """play_cell's one batched call vs ``every`` calls by hand: the same regret at every step (every=1:
    today's loop, bit for bit, for every agent here)."""
    got = play_cell(_prep(every), Cell(agent_index=agent_index, seed_index=0, agent_label="a"))
    regret = got["metrics"].column("regret").to_numpy()
    np.testing.assert_array_equal(regret, _by_hand(_prep(every), agent_index, every))
    buffered = got["metrics"].column("feedback_buffered").to_numpy()
    np.testing.assert_array_equal(buffered, ((np.arange(HORIZON) + 1) % every) * 12)


# ----------------------------------------------------------------------------- expected direction
def test_rarer_updates_cost_regret():
    """lin_ts on the small seeded world (60 steps, 3 seeds; measured 26 / 31 / 36 / 49 for update_every
    1 / 16 / 30 / never) and linucb (23 -> 46 at update_every 8)."""
    from tests.sim.test_feedback_delay import _regret

    ts = {n: _regret({"name": "lin_ts"}, {"run": {"horizon": 60, "seeds": 3, "update_every": n}}) for n in (1, 16, 30)}
    assert ts[1].mean() + 2 < ts[16].mean() < ts[30].mean()
    assert (ts[30] > ts[1]).all()
    ucb = {n: _regret({"name": "linucb"}, {"run": {"horizon": 60, "seeds": 3, "update_every": n}}) for n in (1, 8)}
    assert (ucb[8] > ucb[1] + 10).all()
