"""Pooled Monte-Carlo and quadrature propensities agree with brute force and exact integrals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from agent_references import gaussian_win_reference, reference_scores

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents._propensity.gaussian_win import GaussianWinProbability
from banditsim.agents._propensity.monte_carlo import pooled_propensities


def _brute_force(pool, group, mask, k, n_rows):
    """Exact (over the pool) distribution of the masked top-k item at each position, per row."""
    n, _, n_arms = pool.shape
    out = np.zeros((n_rows, k, n_arms))
    for b in range(n_rows):
        s = np.where(mask[b], pool[:, group[b]], -np.inf)
        order = np.argsort(-s, axis=1)[:, :k]
        for j in range(k):
            out[b, j] += np.bincount(order[:, j], minlength=n_arms) / n
    return out


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("top_m", [2, 16])
def test_pooled_propensities_match_full_ranking(k, top_m):
    rng = np.random.default_rng(0)
    n_rows, n_arms, n_draws = 40, 12, 299
    pool = rng.normal(size=(n_draws + 1, 2, n_arms)) + np.linspace(0, 1.5, n_arms)
    group = rng.integers(0, 2, n_rows)
    slot = rng.integers(0, n_draws + 1, n_rows)
    mask = rng.random((n_rows, n_arms)) < 0.5
    mask[:, -k - 2:] = False  # the best items are often masked: exercises the fallback
    mask[:, :k] = True
    scores = np.where(mask, pool[slot, group], -np.inf)
    items = np.argsort(-scores, axis=1)[:, :k]
    prop, prob = pooled_propensities(pool, group, slot, items, mask, n_draws, top_m=top_m)
    exact = _brute_force(pool, group, mask, k, n_rows)  # window = whole pool here
    want = exact[np.arange(n_rows)[:, None], np.arange(k), items]
    np.testing.assert_allclose(prop, want, atol=1e-12)
    assert np.all((prop > 0) & (prop <= 1))
    if k == 1:
        np.testing.assert_allclose(prob, exact[:, 0], atol=1e-12)


@pytest.mark.parametrize("name", ["beta_ts", "gaussian_ts", "dirichlet_ts"])
@pytest.mark.parametrize("slate_size", [1, 2])
def test_context_free_propensities_match_brute_force_monte_carlo(name, slate_size):
    rng = np.random.default_rng(1)
    agent = make_agent(name, 5, slate_size=slate_size, random_state=0, n_propensity_draws=4000)
    arms = rng.integers(0, 5, 60)
    rewards, kinds = np.where(arms < 2, 1.0, 0.0), np.where(arms < 2, 5, 2)
    agent.update(None, arms, Feedback(reward=rewards, kind=kinds))
    mask = np.array([[True, True, True, True, True], [False, True, True, False, True]])
    ctx = Context(mask=np.repeat(mask, 3, axis=0))
    d = agent.act(ctx)
    # brute force: 200k draws from scipy.stats posteriors tallied by the test (not the agent's sampler)
    big = reference_scores(name, arms, rewards, kinds, 200_000, rng)
    for b in range(6):
        s = np.where(ctx.mask[b], big, -np.inf)
        ranked = np.argsort(-s, axis=1)[:, :slate_size]
        actions = np.atleast_1d(d.actions[b])
        for j in range(slate_size):
            p = np.mean(ranked[:, j] == actions[j])
            got = np.atleast_1d(d.propensities[b])[j]
            assert abs(got - p) < 4 * np.sqrt(p * (1 - p) / 4000) + 2e-3, (name, b, j, got, p)


def _exact_win(mean, std, a):
    comp = np.ones(mean.size, bool)
    comp[a] = False
    f = lambda t: stats.norm.pdf(t, mean[a], std[a]) * np.exp(special.log_ndtr((t - mean[comp]) / std[comp]).sum())
    pts = np.linspace(mean[a] - 12 * std[a], mean[a] + 12 * std[a], 120)
    return sum(integrate.quad(f, pts[i], pts[i + 1], epsabs=1e-15, epsrel=1e-10)[0] for i in range(119))


@pytest.mark.parametrize("n_arms,spread,ratio", [(2, 0.3, 1.0), (10, 0.5, 1.0), (300, 0.0, 1.0),
                                                 (300, 0.3, 5.0), (200, 0.5, 30.0), (50, 0.5, 0.2)])
def test_quadrature_matches_adaptive_integration(n_arms, spread, ratio):
    rng = np.random.default_rng(n_arms)
    mean, std = rng.normal(size=n_arms) * spread, rng.uniform(0.5, 1.5, n_arms)
    for a in range(min(3, n_arms)):
        s = std.copy()
        s[a] *= ratio
        got = GaussianWinProbability()(mean[None], s[None], np.array([a]), None)[0]
        want = _exact_win(mean, s, a)
        if want > 1e-30:
            assert abs(got - want) <= 2e-3 * want, (got, want)
        assert 0 < got <= 1


def test_quadrature_matches_monte_carlo_with_masks():
    rng = np.random.default_rng(2)
    n_rows, n_arms = 4, 7
    mean, std = rng.normal(size=(n_rows, n_arms)), rng.uniform(0.3, 1.2, (n_rows, n_arms))
    mask = rng.random((n_rows, n_arms)) < 0.6
    mask[:, 0] = True
    chosen = np.zeros(n_rows, dtype=np.int64)
    got = GaussianWinProbability()(mean, std, chosen, mask)
    z = mean + std * rng.standard_normal((400_000, n_rows, n_arms))
    mc = (np.where(mask, z, -np.inf).argmax(axis=2) == 0).mean(axis=0)
    assert np.all(np.abs(got - mc) <= 4 * np.sqrt(mc * (1 - mc) / 400_000) + 1e-4), (got, mc)


def test_quadrature_matches_the_exact_integral_in_row_blocks_and_with_masks():
    rng = np.random.default_rng(4)
    win = GaussianWinProbability(block=1 << 12)  # several row blocks
    for n_arms, spread in ((2, 0.3), (50, 0.1), (50, 1.0), (400, 0.5)):
        mean = rng.normal(size=(40, n_arms)) * spread
        std = rng.uniform(0.2, 1.5, (40, n_arms))
        mask = rng.random((40, n_arms)) < 0.8
        chosen = np.argmax(np.where(mask, mean + std * rng.standard_normal(mean.shape), -np.inf), axis=1)
        mask[np.arange(40), chosen] = True
        for m in (None, mask):
            want = gaussian_win_reference(mean, std, chosen, m, n_grid=1001)
            np.testing.assert_allclose(win(mean, std, chosen, m), want, rtol=4e-3)


@pytest.mark.parametrize("name", ["lin_ts", "logistic_ts"])
def test_disjoint_linear_agents_use_quadrature(name):
    rng = np.random.default_rng(3)
    agent = make_agent(name, 6, random_state=0)
    x = rng.normal(size=(200, 3))
    agent.update(Context(features=x), rng.integers(0, 6, 200), Feedback(reward=rng.normal(size=200)))
    probe = Context(features=rng.normal(size=(3, 3)), mask=rng.random((3, 6)) < 0.7 + np.eye(3, 6, dtype=bool))
    d = agent.act(probe)
    rows = agent._resolve(probe)
    draws = agent._sampler(rows)(200_000)
    mc = (np.where(rows.mask, draws, -np.inf).argmax(axis=2) == d.actions).mean(axis=0)
    assert np.all(np.abs(d.propensities - mc) <= 4 * np.sqrt(mc * (1 - mc) / 200_000) + 1e-4), (d.propensities, mc)
    assert np.all((d.propensities > 0) & (d.propensities <= 1))
