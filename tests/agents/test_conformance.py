"""One conformance suite run over every registered agent (like sklearn's check_estimator)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from agent_cases import CASE_IDS, CASES, N_ARMS, make_context, random_feedback
from scipy.stats import chi2_contingency

from banditsim.agents import AGENTS, Context, Decision, Feedback, make_agent

cases = pytest.mark.parametrize("name,params", CASES, ids=CASE_IDS)


def test_every_registered_agent_has_a_case():
    assert {name for name, _ in CASES} == set(AGENTS)


def _check_decision(d: Decision, n_rows: int, k: int, mask: np.ndarray | None) -> None:
    shape = (n_rows,) if k == 1 else (n_rows, k)
    assert d.actions.shape == shape and d.actions.dtype == np.int64
    assert d.propensities.shape == shape and d.propensities.dtype == np.float64
    assert np.all((d.actions >= 0) & (d.actions < N_ARMS))
    assert np.all((d.propensities > 0) & (d.propensities <= 1)), d.propensities
    slate = d.actions.reshape(n_rows, -1)
    if mask is not None:
        assert mask[np.arange(n_rows)[:, None], slate].all(), "an item blocked by the mask was shown"
    assert all(len(set(row)) == len(row) for row in slate.tolist()), "slate items must be distinct"
    if d.probabilities is not None:
        assert d.probabilities.shape == (n_rows, N_ARMS)
        np.testing.assert_allclose(d.probabilities.sum(axis=1), 1.0, atol=1e-9)
        np.testing.assert_allclose(d.probabilities[np.arange(n_rows), d.actions], d.propensities, atol=1e-12)
        if mask is not None:
            assert np.all(d.probabilities[~mask] == 0)


@cases
@pytest.mark.parametrize("slate_size", [1, 3])
def test_decisions_are_valid(name, params, slate_size):
    rng = np.random.default_rng(0)
    agent = make_agent(name, N_ARMS, slate_size=slate_size, n_replicas=2, random_state=1, **params)
    for step in range(4):
        mask = rng.random((16, N_ARMS)) < 0.7
        mask[:, :slate_size] = True
        ctx = make_context(16, rng, replica=rng.integers(0, 2, 16), mask=mask if step % 2 else None)
        d = agent.act(ctx)
        _check_decision(d, 16, slate_size, ctx.mask)
        agent.update(ctx, d, random_feedback(16, rng, slate_size))


@cases
def test_same_seed_same_actions(name, params):
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(5)
        agent = make_agent(name, N_ARMS, n_replicas=3, random_state=42, **params)
        actions = []
        for _ in range(5):
            ctx = make_context(9, rng, replica=np.arange(9) % 3)
            d = agent.act(ctx)
            actions.append(d.actions)
            agent.update(ctx, d, random_feedback(9, rng))
        runs.append(np.concatenate(actions))
    np.testing.assert_array_equal(runs[0], runs[1])


@cases
def test_batched_and_single_decisions_agree_in_distribution(name, params):
    rng = np.random.default_rng(7)
    agent = make_agent(name, N_ARMS, random_state=3, **params)
    warm = make_context(60, rng)
    arms = np.arange(60) % N_ARMS
    agent.update(warm, arms, Feedback(reward=np.where(arms < 3, 1.0, -0.5) + 0.1 * rng.normal(size=60)))
    x = make_context(1, rng)
    n_batch, n_single = 2000, 400
    batch = Context(features=np.repeat(x.features, n_batch, 0), arm_features=x.arm_features)
    batched = np.bincount(agent.act(batch).actions, minlength=N_ARMS)
    single = np.bincount([int(agent.act(x).actions[0]) for _ in range(n_single)], minlength=N_ARMS)
    used = (batched + single) > 0
    if used.sum() < 2:
        np.testing.assert_array_equal(batched > 0, single > 0)
        return
    _, p_value, _, _ = chi2_contingency(np.stack([batched[used], single[used]]))
    assert p_value > 1e-4, (batched, single)


def _all_state_is_finite(agent) -> bool:
    stack = [vars(agent)]
    while stack:
        for value in stack.pop().values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                if not np.all(np.isfinite(value)):
                    return False
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                if not torch.isfinite(value).all():
                    return False
            elif hasattr(value, "__dict__") and type(value).__module__.startswith("agents"):
                stack.append(vars(value))
    return True


@cases
def test_state_stays_finite_after_1e5_extreme_updates(name, params):
    rng = np.random.default_rng(11)
    agent = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    n_rows = 1000
    for step in range(100):
        ctx = make_context(n_rows, rng, replica=rng.integers(0, 2, n_rows))
        if step < 40:  # all-negative feedback
            fb = Feedback(reward=np.full(n_rows, -1.0), kind=np.zeros(n_rows, dtype=int))
        elif step < 60:  # extreme rewards
            fb = Feedback(reward=rng.choice([-1e6, 1e6, 0.0], n_rows), kind=rng.integers(0, 7, n_rows))
        else:
            fb = random_feedback(n_rows, rng)
        arms = rng.integers(0, 2, n_rows) if step % 3 else rng.integers(0, N_ARMS, n_rows)
        agent.update(ctx, arms, fb)
    assert _all_state_is_finite(agent)
    d = agent.act(make_context(50, rng, replica=np.arange(50) % 2))
    _check_decision(d, 50, 1, None)


@cases
def test_replicas_are_independent(name, params):
    rng = np.random.default_rng(13)
    touched = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    fresh = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    ctx = make_context(300, rng, replica=np.zeros(300, dtype=int))
    touched.update(ctx, rng.integers(0, N_ARMS, 300), random_feedback(300, rng))
    probe = make_context(40, rng, replica=np.ones(40, dtype=int))
    touched.reseed(99)
    fresh.reseed(99)
    a, b = touched.act(probe), fresh.act(probe)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_allclose(a.propensities, b.propensities)


@cases
def test_slate_rows_without_a_choice_teach_nothing(name, params):
    rng = np.random.default_rng(17)
    agent = make_agent(name, N_ARMS, slate_size=2, random_state=0, **params)
    ctx = make_context(20, rng)
    agent.update(ctx, agent.act(ctx), random_feedback(20, rng, 2))
    probe = make_context(10, rng)
    agent.reseed(1)
    before = agent.act(probe)
    agent.update(ctx, agent.act(ctx), Feedback(reward=np.ones(20), position=np.full(20, -1)))
    agent.reseed(1)
    after = agent.act(probe)
    np.testing.assert_array_equal(before.actions, after.actions)


@cases
def test_invalid_inputs_raise_clear_errors(name, params):
    with pytest.raises(ValueError, match="n_arms"):
        make_agent(name, 0, **params)
    with pytest.raises(ValueError, match="unknown parameter 'bogus'"):
        make_agent(name, N_ARMS, bogus=1, **params)
    with pytest.raises(ValueError, match="n_replicas"):
        make_agent(name, N_ARMS, n_replicas=0, **params)
    agent = make_agent(name, N_ARMS, n_replicas=2, **params)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="replica"):
        agent.act(make_context(2, rng, replica=np.array([0, 2])))
    with pytest.raises(ValueError, match="mask"):
        agent.act(make_context(1, rng, mask=np.zeros((1, N_ARMS), dtype=bool)))
    slates = make_agent(name, N_ARMS, slate_size=3, **params)
    three = np.zeros((2, N_ARMS), dtype=bool)
    three[:, :3] = True
    slates.act(make_context(2, rng, mask=three))  # exactly slate_size allowed: fine
    three[1, 2] = False
    with pytest.raises(ValueError, match="mask allows fewer than slate_size=3"):
        slates.act(make_context(2, rng, mask=three))
    with pytest.raises(ValueError, match="finite"):
        agent.update(make_context(1, rng), np.array([0]), Feedback(reward=[np.nan]))
    with pytest.raises(ValueError, match="actions"):
        agent.update(make_context(1, rng), np.array([N_ARMS]), Feedback(reward=[1.0]))
