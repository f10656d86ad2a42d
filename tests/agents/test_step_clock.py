"""Forgetting agents age by elapsed decision steps, not by update calls (``agents._state.step_clock``).

Rows carry their decision steps (``Feedback.step``). Then the state is a function of the
rows learned and their steps only: one batch, the same rows in chunks, in another order, or
delivered late give the same state (bit for bit for the sliding window's integer counts and
dyadic sums, 1e-9 for weighted sums), and it matches Σ γ^(clock − step) per row, so the memory is
1/(1 − γ) decision steps whatever the retraining cadence.
"""

from __future__ import annotations

import numpy as np
import pytest
from agent_cases import N_ARMS, make_context

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents.types import checked_steps
from banditsim.sim.run.feedback_delay import FeedbackSchedule
from tests.agents.forgetting_state import assert_same_state

DYADIC = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
FORGETTING = [
    ("discounted_beta_ts", {"gamma": 0.8, "reward_range": (-1.0, 1.0)}),
    ("discounted_beta_ts", {"gamma": 0.8, "binarize": True}),
    ("discounted_gaussian_ts", {"gamma": 0.8}),
    ("discounted_linucb", {"gamma": 0.8}),
    ("discounted_linucb", {"gamma": 0.8, "mode": "shared"}),
    ("discounted_lin_ts", {"gamma": 0.8, "n_propensity_draws": 8}),
    ("discounted_lin_ts", {"gamma": 0.8, "mode": "shared", "n_propensity_draws": 8}),
    ("sliding_window_ucb", {"window": 4}),
]
IDS = [f"{n}-{'-'.join(map(str, p.values()))}" for n, p in FORGETTING]


def _agent(name, params, slate=1):
    return make_agent(name, N_ARMS, n_replicas=3, slate_size=slate, random_state=0, **params)


def _rows(n=60, slate=1, seed=0, max_step=12):
    """Answers of decisions made at steps 0..max_step (some late), three replicas, some unanswered."""
    rng = np.random.default_rng(seed)
    ctx = make_context(n, rng, replica=rng.integers(0, 3, n))
    if slate > 1:
        actions = np.stack([rng.permutation(N_ARMS)[:slate] for _ in range(n)])
        position = rng.integers(-1, slate, n)
    else:
        actions, position = rng.integers(0, N_ARMS, n), None
    return ctx, actions, rng.choice(DYADIC, n), rng.integers(0, max_step + 1, n), position


def _part(rows, idx):
    ctx, actions, reward, step, position = rows
    part = Context(features=ctx.features[idx], arm_features=ctx.arm_features, replica=ctx.replica[idx])
    fb = Feedback(reward=reward[idx], kind=np.where(reward[idx] > 0, 5, 2), step=step[idx],
                       position=None if position is None else position[idx])
    return part, actions[idx], fb


#: binarize draws one Bernoulli per row in row order: a shuffled order draws other bits (chunks in order: tested above)
ANY_ORDER = [(n, p) for n, p in FORGETTING if not p.get("binarize")]


@pytest.mark.parametrize("slate", [1, 2])
@pytest.mark.parametrize("name,params", ANY_ORDER, ids=[i for i, (_, p) in zip(IDS, FORGETTING) if not p.get("binarize")])
def test_one_batch_equals_chunks_in_any_order(name, params, slate):
    """(b) the same timed rows in one call, in chunks, and in chunks of a shuffled order."""
    rows = _rows(slate=slate)
    n = rows[0].n_rows
    whole, chunked, shuffled = (_agent(name, params, slate) for _ in range(3))
    whole.update(*_part(rows, np.arange(n)))
    for lo, hi in ((0, 1), (1, 9), (9, 30), (30, n)):
        chunked.update(*_part(rows, np.arange(lo, hi)))
    order = np.random.default_rng(1).permutation(n)
    for piece in np.array_split(order, 5):
        shuffled.update(*_part(rows, piece))
    assert_same_state(name, whole, chunked)
    assert_same_state(name, whole, shuffled)


@pytest.mark.parametrize("every", [3, 4, 12])  # divisors of 12: the last step is an update
@pytest.mark.parametrize("name,params", FORGETTING, ids=IDS)
def test_update_every_and_delays_equal_per_step_updates(name, params, every):
    """(a) through the simulator's schedule: 12 steps, answers late by 0-3 steps, retrained every
    ``every`` steps vs every step: the same state after the last update of both."""
    rng = np.random.default_rng(2)
    steps = []
    for _ in range(12):
        n = int(rng.integers(2, 8))
        ctx = make_context(n, rng, replica=rng.integers(0, 3, n))
        reward = rng.choice(DYADIC, n)
        steps.append((ctx, rng.integers(0, N_ARMS, n), Feedback(reward=reward, kind=np.where(reward > 0, 5, 2))))
    agents = []
    for cadence in (1, every):
        agent, delays = _agent(name, params), np.random.default_rng(3)
        schedule = FeedbackSchedule(12, cadence, lambda kind, d=delays: d.integers(0, 4, kind.shape[0]))
        for t, (ctx, actions, fb) in enumerate(steps):
            update = schedule.step(t, ctx, actions, fb)[1]
            if update is not None:
                agent.update(*update)
        agents.append(agent)
    if every == 12:  # one update call, at the last step
        assert agents[1].clock.max() >= 8
    assert_same_state(name, *agents)


def _weights_by_hand(steps, replica, arms, n_replicas=3):
    clock = np.full(n_replicas, -1)
    np.maximum.at(clock, replica, steps)
    return clock, clock[replica] - steps


@pytest.mark.parametrize("name", ["discounted_beta_ts", "discounted_gaussian_ts"])
def test_discounted_counts_are_gamma_to_the_decision_age(name):
    """(c) after timed rows in three calls (late rows included), each row weighs γ^(clock − its step)."""
    gamma = 0.7
    params = {"reward_range": (-1.0, 1.0)} if name == "discounted_beta_ts" else {"noise_std": 1.0}
    agent = _agent(name, {"gamma": gamma, **params})
    rows = _rows(n=45, max_step=30)
    for piece in np.array_split(np.arange(45), 3):
        agent.update(*_part(rows, piece))
    ctx, arms, reward, steps, _ = rows
    clock, age = _weights_by_hand(steps, ctx.replica, arms)
    np.testing.assert_array_equal(agent.clock, clock)
    w = gamma ** age
    value = (reward + 1.0) / 2.0 if name == "discounted_beta_ts" else reward
    counts, sums = np.zeros((3, N_ARMS)), np.zeros((3, N_ARMS))
    np.add.at(counts, (ctx.replica, arms), w)
    np.add.at(sums, (ctx.replica, arms), w * value)
    if name == "discounted_beta_ts":
        np.testing.assert_allclose(agent.alpha, 1.0 + sums, rtol=1e-12)
        np.testing.assert_allclose(agent.beta, 1.0 + counts - sums, rtol=1e-12)
    else:
        np.testing.assert_allclose(agent._stats.counts, counts, rtol=1e-12)
        np.testing.assert_allclose(agent._stats.sums, sums, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("every", [1, 4, 10])
def test_memory_is_counted_in_decision_steps_whatever_the_cadence(every):
    """(c) one success on arm 0 at step 0, then one answer on arm 1 per step for 39 steps, retrained
    every ``every`` steps: arm 0's success weighs γ^39 after the last update (per update call it
    would weigh γ^(number of calls): γ^4 with every = 10); a 10-step window holds the last 10 steps."""
    gamma, horizon = 0.9, 40
    disc = make_agent("discounted_beta_ts", 2, gamma=gamma, random_state=0)
    window = make_agent("sliding_window_ucb", 2, window=10, random_state=0)
    schedule = FeedbackSchedule(horizon, every)
    for t in range(horizon):
        update = schedule.step(t, Context(n_rows=1), np.array([0 if t == 0 else 1]), Feedback(reward=[1.0]))[1]
        if update is not None:
            disc.update(*update)
            window.update(*update)
    np.testing.assert_allclose(disc.alpha[0, 0] - 1.0, gamma ** (horizon - 1), rtol=1e-12)
    np.testing.assert_allclose(disc.alpha[0, 1] - 1.0, sum(gamma ** a for a in range(horizon - 1)), rtol=1e-12)
    assert window.counts.tolist() == [[0.0, 10.0]]


def test_late_answer_ages_on_arrival_and_one_older_than_the_window_is_dropped():
    disc = make_agent("discounted_gaussian_ts", 2, gamma=0.5, noise_std=1.0)
    window = make_agent("sliding_window_ucb", 2, window=3)
    for agent in (disc, window):
        agent.update(None, np.array([1]), Feedback(reward=[1.0], step=[10]))
        agent.update(None, np.array([0, 0]), Feedback(reward=[1.0, 1.0], step=[8, 7]))  # late
    assert disc._stats.counts[0].tolist() == [0.5**2 + 0.5**3, 1.0]
    assert disc.clock.tolist() == [10] and window.clock.tolist() == [10]
    assert window.counts[0].tolist() == [1.0, 1.0]  # step 7 is outside the window 8..10


def test_without_steps_each_call_is_one_step():
    """A plain Feedback: each call is the next step of the replicas in it (documented fallback)."""
    plain, timed = (make_agent("discounted_beta_ts", 3, n_replicas=2, gamma=0.5) for _ in range(2))
    for t, replica in enumerate(([0, 1], [0], [0, 1])):
        ctx, arms = Context(replica=np.array(replica)), np.arange(len(replica))
        plain.update(ctx, arms, Feedback(reward=np.ones(len(replica))))
        steps = np.array([[0, 0], [1], [2, 1]][t])  # replica 1 sat out call 1: its clock moved once
        timed.update(ctx, arms, Feedback(reward=np.ones(len(replica)), step=steps))
    np.testing.assert_array_equal(plain.alpha, timed.alpha)
    assert plain.clock.tolist() == [2, 1]


@pytest.mark.parametrize("step,message", [
    ([1.5, 2.0], "feedback.step must be an integer array, got dtype float64"),
    ([3], "feedback.step must have shape (2,), got (1,)"),
    ([0, -4], "feedback.step must be >= 0, got -4 in row 1"),
])
def test_bad_steps_are_one_clear_error_before_any_change(step, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Feedback(reward=[1.0, 0.0], step=step)
    agent = make_agent("sliding_window_ucb", 3, window=2)
    fb = Feedback(reward=[1.0, 0.0])
    fb.step = np.asarray(step)  # set after construction: the agent checks it too
    with pytest.raises(ValueError, match="feedback.step"):
        agent.update(None, np.array([0, 1]), fb)
    assert agent.clock.tolist() == [-1] and not agent.counts.any()
    assert checked_steps(np.array([2, 0], dtype=np.uint8), 2).dtype == np.int64


def test_step_is_a_feedback_field():
    """``Feedback.step`` (optional, validated once); a plain agent ignores it."""
    assert Feedback(reward=[1.0]).step is None
    assert Feedback(reward=[1.0, 0.0], step=np.array([3, 1], dtype=np.int32)).step.dtype == np.int64
    for bad, message in (([1.5], "integer array"), ([1, 2], "shape (1,)"), ([-2], ">= 0, got -2")):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            Feedback(reward=[1.0], step=bad)
    plain, timed = (make_agent("beta_ts", N_ARMS, random_state=0, n_propensity_draws=8) for _ in range(2))
    plain.update(None, np.array([1, 2]), Feedback(reward=[1.0, 0.0]))
    timed.update(None, np.array([1, 2]), Feedback(reward=[1.0, 0.0], step=[7, 9]))
    np.testing.assert_array_equal(plain.alpha, timed.alpha)
