"""Exact Beta Thompson propensities by quadrature (agents._propensity.beta_win) and the acts
that read them only on demand (agents._thompson.beta_exact, agents._thompson.beta_ladder).

References are computed here from scipy (a closed form, a fine trapezoid grid, scipy.stats
draws), never from the agent's helpers.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents._propensity.beta_win import beta_win_probability


def grid_probabilities(a, b, allowed=None, lo=-60.0, hi=30.0, n=60_001):
    """P(arm k has the largest draw among the allowed), all k, by the trapezoid rule on a fine
    logit grid: f_k(t) Π_{j≠k} F_j(t) with scipy's betainc and log-density."""
    allowed = np.ones(a.size, bool) if allowed is None else allowed
    t = np.linspace(lo, hi, n)[None, :]
    x = special.expit(t)
    A, B = a[allowed][:, None], b[allowed][:, None]
    log_f = A * np.log(x) + B * np.log1p(-x) - special.betaln(A, B)  # density of the logit
    log_cdf = np.log(np.maximum(special.betainc(A, B, x), 1e-320))
    out = np.zeros(a.size)
    out[allowed] = np.trapezoid(np.exp(log_f + log_cdf.sum(axis=0) - log_cdf), t[0], axis=1)
    return out


def miller_two_arms(a0, b0, a1, b1):
    """P(Beta(a1, b1) > Beta(a0, b0)) for integer a1 (Evan Miller's closed form)."""
    i = np.arange(int(a1))
    return float(np.exp(special.betaln(a0 + i, b0 + b1) - np.log(b1 + i) - special.betaln(1 + i, b1)
                        - special.betaln(a0, b0)).sum())


def _all_arms(a, b, mask=None):
    k = a.size
    m = None if mask is None else np.tile(mask, (k, 1))
    chosen = np.arange(k)
    got = beta_win_probability(np.tile(a, (k, 1)), np.tile(b, (k, 1)), chosen, m)
    return got if mask is None else np.where(mask, got, 0.0)


def _posteriors(kind, rng):
    if kind == "explored":
        return 1.0 + rng.integers(0, 40, 60), 1.0 + rng.integers(0, 300, 60)
    if kind == "priors":  # prior-only arms, a shape below 1, fractional counts
        a, b = 1.0 + rng.integers(0, 40, 60) + rng.random(60), 1.0 + rng.integers(0, 300, 60) + 0.5
        a[:3], b[:3] = 1.0, 1.0
        a[3], b[3] = 0.6, 4.0
        return a, b
    if kind == "peaked_and_prior":  # sharp arms near 0.05 beside a flat and a loose one
        return np.array([5000.0, 5100.0, 4900.0, 1.0, 50.0]), np.array([95000.0, 95000.0, 95000.0, 1.0, 950.0])
    if kind == "equal":  # identical posteriors: each wins 1/K
        return np.full(7, 12.0), np.full(7, 30.0)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["explored", "priors", "peaked_and_prior", "equal"])
def test_quadrature_matches_a_fine_grid(kind):
    a, b = _posteriors(kind, np.random.default_rng(3))
    want = grid_probabilities(a, b)
    got = _all_arms(a, b)
    assert abs(want.sum() - 1.0) < 1e-6  # the reference itself is sound
    big = want > 1e-9
    rel = np.abs(got[big] - want[big]) / want[big]
    tol = 5e-3 if kind == "peaked_and_prior" else 1e-4  # a flat arm against sharp ones: a cliff
    assert rel.max() < tol, (kind, rel.max(), got[big][rel.argmax()], want[big][rel.argmax()])
    assert np.all(np.abs(got - want) < 1e-9 + tol * want)
    if kind == "equal":
        np.testing.assert_allclose(got, 1.0 / 7, rtol=1e-4)


@pytest.mark.parametrize("a0,b0,a1,b1", [(3, 2, 2, 3), (1, 1, 1, 1), (1, 1, 30, 70), (40, 400, 45, 400),
                                         (2, 900, 1, 1), (300, 3000, 310, 3000)])
def test_two_arms_match_the_closed_form(a0, b0, a1, b1):
    want = miller_two_arms(a0, b0, a1, b1)
    a, b = np.array([[a0, a1]], float), np.array([[b0, b1]], float)
    p1 = beta_win_probability(a, b, np.array([1]), None)[0]
    p0 = beta_win_probability(a, b, np.array([0]), None)[0]
    assert abs(p1 - want) <= 1e-4 * want, (p1, want)
    assert abs(p0 - (1.0 - want)) <= 1e-4 * (1.0 - want), (p0, 1.0 - want)


def test_one_arm_or_one_allowed_arm_wins_surely():
    a, b = np.array([[3.0, 5.0, 2.0]]), np.array([[4.0, 1.0, 9.0]])
    assert beta_win_probability(a[:, :1], b[:, :1], np.array([0]), None)[0] == 1.0
    only = np.array([[False, True, False]])
    assert beta_win_probability(a, b, np.array([1]), only)[0] == 1.0


def test_masks_match_the_grid_over_the_allowed_arms():
    rng = np.random.default_rng(4)
    a, b = _posteriors("priors", rng)
    for _ in range(3):
        mask = rng.random(a.size) < 0.5
        mask[np.argsort(-a / (a + b))[:2]] = False  # the likeliest winners are masked out
        mask[10] = True
        want = grid_probabilities(a, b, mask)
        got = _all_arms(a, b, mask)
        big = want > 1e-9
        assert np.all(np.abs(got[big] - want[big]) <= 1e-4 * want[big]), np.abs(got - want).max()
        assert np.all(got[~mask] == 0)


def test_very_peaked_posteriors_match_monte_carlo():
    """Posteriors from 10⁶ pulls (sd ≈ 3e-4) where quadrature must find a narrow bump: the
    estimate agrees with 2·10⁶ scipy.stats draws within 4.5 sd."""
    a = np.array([100_000.0, 100_300.0, 99_700.0, 100_150.0])
    b = np.array([900_000.0, 900_000.0, 900_000.0, 900_000.0])
    rng = np.random.default_rng(5)
    n = 2_000_000
    draws = np.stack([stats.beta(ai, bi).rvs(n, random_state=rng) for ai, bi in zip(a, b)], axis=1)
    mc = np.bincount(draws.argmax(axis=1), minlength=4) / n
    got = _all_arms(a, b)
    assert np.all(np.abs(got - mc) < 4.5 * np.sqrt(mc * (1 - mc) / n) + 1e-5), (got, mc)
    np.testing.assert_allclose(got.sum(), 1.0, atol=2e-4)


# ------------------------------------------------------------------ the agent


def _chi2(counts, probs):
    exp = probs * counts.sum()
    big = exp >= 5
    obs, exp = np.append(counts[big], counts[~big].sum()), np.append(exp[big], exp[~big].sum())
    keep = exp > 0
    return stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue


@pytest.mark.parametrize("n_arms", [40, 300])  # the ladder sampler: 40 for one-row acts, 300 for all
def test_single_stream_actions_follow_the_exact_probabilities(n_arms):
    rng = np.random.default_rng(6)
    agent = make_agent("beta_ts", n_arms, n_replicas=2, random_state=7)
    a = 1.0 + rng.integers(0, 30, n_arms) + rng.random(n_arms)
    b = 1.0 + rng.integers(0, 200, n_arms)
    a[:2], b[:2] = 1.0, 1.0
    agent.alpha[1], agent.beta[1] = a, b  # set directly: the sampler must notice
    want = grid_probabilities(a, b, n=20_001)
    ctx = Context(replica=np.array([1, 0, 1]))  # at most 3 rows per replica: the quadrature path
    counts = np.zeros(n_arms, dtype=np.int64)
    for _ in range(4000):
        d = agent.act(ctx)
        counts += np.bincount(d.actions[[0, 2]], minlength=n_arms)
    assert _chi2(counts, want) > 1e-3
    # an edit of one arm behind the agent's back (arm 5 becomes a twin of the favourite), then
    # an update: both reach the draws
    best = int(np.argmax(want))
    agent.alpha[1, 5], agent.beta[1, 5] = agent.alpha[1, best], agent.beta[1, best]
    agent.update(Context(replica=np.array([1])), np.array([9]), Feedback(reward=[1.0]))
    a2, b2 = agent.alpha[1].copy(), agent.beta[1].copy()
    mask = np.ones((1, n_arms), bool)
    mask[0, 3] = False
    counts = np.zeros(n_arms, dtype=np.int64)
    one = Context(replica=np.array([1]), mask=mask)
    for _ in range(6000):
        counts[agent.act(one).actions[0]] += 1
    assert counts[3] == 0
    assert _chi2(counts[mask[0]], grid_probabilities(a2, b2, mask[0], n=20_001)[mask[0]]) > 1e-3


@pytest.mark.parametrize("n_arms", [30, 260])
def test_propensities_are_exact_read_late_and_never_change_the_actions(n_arms):
    def play(read):
        agent = make_agent("beta_ts", n_arms, n_replicas=3, random_state=11, n_propensity_draws=64)
        rng = np.random.default_rng(0)
        rates = np.linspace(0.05, 0.3, n_arms)
        out = []
        for _ in range(12):
            mask = (rng.random((3, n_arms)) < 0.8) | (np.arange(n_arms) == 0)
            ctx = Context(replica=np.arange(3), mask=mask)
            a, b = agent.alpha.copy(), agent.beta.copy()
            d = agent.act(ctx)
            win = rng.random(3) < rates[d.actions]
            agent.update(ctx, d, Feedback(reward=win.astype(float)))
            out.append((d, a, b, mask))
            if read:
                d.propensities
        return agent, out

    _, read = play(True)
    agent, late = play(False)  # read only now, after every later update
    for (d_read, _, _, _), (d_late, a, b, mask) in zip(read, late):
        np.testing.assert_array_equal(d_read.actions, d_late.actions)
        want = beta_win_probability(a, b, d_late.actions, mask)  # the posterior at act time
        np.testing.assert_allclose(d_late.propensities, want, rtol=1e-12)
        np.testing.assert_allclose(d_read.propensities, want, rtol=1e-12)
    d, a, b, mask = late[-1]
    probs = d.probabilities
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(probs[np.arange(3), d.actions], d.propensities)
    assert np.all(probs[~mask] == 0) and np.all(probs >= 0)


def test_probabilities_estimate_the_exact_distribution():
    rng = np.random.default_rng(8)
    a, b = _posteriors("explored", rng)
    a, b = a[:12], b[:12]
    agent = make_agent("beta_ts", 12, random_state=3, n_propensity_draws=20_000)
    agent.alpha[0], agent.beta[0] = a, b
    mask = np.ones((1, 12), bool)
    mask[0, 4] = False
    d = agent.act(Context(mask=mask))
    want = grid_probabilities(a, b, mask[0])
    tol = 4.5 * np.sqrt(want * (1 - want) / 20_000) + 1e-3
    assert np.all(np.abs(d.probabilities[0] - want) < tol), (d.probabilities[0], want)
    assert abs(d.propensities[0] - want[d.actions[0]]) < 3e-3 * want[d.actions[0]]


def test_a_posterior_changed_in_every_arm_is_drawn_in_full_and_stays_exact():
    """Many arms changed between two acts (a discounted posterior does this every step): the
    ladder sampler steps aside and the full draws follow the new posterior."""
    rng = np.random.default_rng(9)
    agent = make_agent("beta_ts", 300, random_state=4)
    agent.act(Context(n_rows=1))
    agent.alpha[0] = 1.0 + rng.integers(0, 20, 300)
    agent.beta[0] = 1.0 + rng.integers(0, 100, 300)
    counts = np.bincount([agent.act(Context(n_rows=1)).actions[0] for _ in range(3000)], minlength=300)
    assert agent._threshold.bulk[0]
    assert _chi2(counts, grid_probabilities(agent.alpha[0], agent.beta[0], n=20_001)) > 1e-3


# ------------------------------------------------------------------ the ladder sampler's branches


@pytest.mark.parametrize("rungs", ["fitted", "above every draw", "below most arms"])
@pytest.mark.parametrize("masked", [False, True])
def test_ladder_winners_follow_the_exact_probabilities_in_every_branch(rungs, masked, monkeypatch):
    """banditsim.agents._thompson.beta_ladder: winners against the grid, for the general path (many rows at once)
    and the one-row path, with the fitted rungs, with rungs so high that rows fall through all of
    them (every allowed arm's quantile), and so low that many arms tie above the first."""
    from banditsim.agents._state import one_row
    from banditsim.agents._thompson.beta_ladder import LadderSampler, _tails

    rng = np.random.default_rng(12)
    n_arms = 50
    a = 1.0 + rng.integers(0, 30, n_arms) + rng.random(n_arms)
    b = 1.0 + rng.integers(0, 200, n_arms)
    a[:2], b[:2] = 1.0, 1.0
    allowed = np.ones(n_arms, bool)
    if masked:
        allowed[rng.choice(n_arms, 20, replace=False)] = False
    want = grid_probabilities(a, b, allowed, n=20_001)
    sampler = LadderSampler(1, n_arms)
    assert sampler.sync(a[None], b[None], np.array([0]), 16)
    if rungs != "fitted":
        x = np.full((1, sampler.x.shape[1]), 0.999999 if rungs == "above every draw" else 0.01)
        sampler.x, sampler.x_below, sampler.tail = x, 1.0 - x, _tails(a[None], b[None], x)
    n = 6000
    mask = None if not masked else np.tile(allowed, (n, 1))
    draw_rng = np.random.default_rng(3)
    batch = sampler.winners(np.tile(a, (n, 1)), np.tile(b, (n, 1)), np.zeros(n, np.int64), mask, draw_rng)
    monkeypatch.setattr(one_row, "ENABLED", True)
    one = [sampler.winners(a[None], b[None], np.zeros(1, np.int64), None if mask is None else mask[:1], draw_rng)[0]
           for _ in range(3000)]
    for got in (batch, np.array(one)):
        counts = np.bincount(got, minlength=n_arms)
        assert counts[~allowed].sum() == 0
        assert _chi2(counts[allowed], want[allowed]) > 1e-3
