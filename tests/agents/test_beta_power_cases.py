"""Beta draws with a shape of exactly 1 by inversion (``beta_ts.beta_draws_power_cases``): the
draws follow scipy's Beta CDF, and the acts that use them (one decision per replica, few arms:
the dense quadrature path) follow the exact win probabilities of ``beta_win_probability``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from banditsim.agents import Context, make_agent
from banditsim.agents._propensity.beta_win import beta_win_probability
from banditsim.agents.beta_ts import beta_draws_power_cases

SHAPES = [(1.0, 1.0), (1.0, 7.0), (1.0, 2e6), (3.0, 1.0), (5e5, 1.0), (2.5, 4.0), (1.0, 0.3), (0.4, 1.0)]


@pytest.mark.parametrize("fast", [True, False])
def test_draws_follow_the_beta_cdf_in_every_case(fast):
    shapes = [s for s in SHAPES if not fast or min(s) >= 1.0]
    a = np.array([s[0] for s in shapes])[None, :]
    b = np.array([s[1] for s in shapes])[None, :]
    draws = beta_draws_power_cases(a, b, 5000, np.random.default_rng(3), fast)[:, 0, :]
    assert draws.shape == (5000, len(shapes))
    for k, (sa, sb) in enumerate(shapes):
        assert stats.kstest(draws[:, k], stats.beta(sa, sb).cdf).pvalue > 1e-3, (sa, sb)


def _exact(a, b, mask=None):
    k = a.size
    got = beta_win_probability(np.tile(a, (k, 1)), np.tile(b, (k, 1)), np.arange(k),
                               None if mask is None else np.tile(mask, (k, 1)))
    return got if mask is None else np.where(mask, got, 0.0)


def _posterior(kind, n_arms, rng):
    a, b = np.ones(n_arms), 1.0 + rng.integers(0, 40, n_arms).astype(float)
    if kind == "zero_counts":  # priors only and failures only
        b[: n_arms // 2] = 1.0
    elif kind == "huge_near_ties":  # the favourites differ by a few failures in two million
        b[:] = 2e6 + rng.integers(0, 4, n_arms)
        a[:3], b[:3] = 3.0, 6e6
    elif kind == "mixed":  # arms with successes and with a beta of exactly 1 too
        a[::3] = 1.0 + rng.integers(1, 9, a[::3].size)
        b[1::7] = 1.0
    return a, b


@pytest.mark.parametrize("kind", ["zero_counts", "huge_near_ties", "mixed"])
@pytest.mark.parametrize("n_replicas,masked", [(1, False), (3, True), (40, False)])
def test_dense_acts_follow_the_exact_win_probabilities(kind, n_replicas, masked):
    rng = np.random.default_rng(11)
    n_arms = 12
    agent = make_agent("beta_ts", n_arms, n_replicas=n_replicas, random_state=5)
    a, b = _posterior(kind, n_arms, rng)
    agent.alpha[:], agent.beta[:] = a, b
    mask = None
    if masked:
        mask = np.ones(n_arms, bool)
        mask[[0, 4]] = False
    # two rows per replica: more than one row, so the dense draw (not the one-row ladder)
    replica = np.repeat(np.arange(n_replicas), 2)
    ctx = Context(replica=replica, mask=None if mask is None else np.tile(mask, (replica.size, 1)))
    counts = np.zeros(n_arms, dtype=np.int64)
    for _ in range(max(1, 8000 // replica.size)):
        counts += np.bincount(agent.act(ctx).actions, minlength=n_arms)
    want = _exact(a, b, mask)
    allowed = want > 0
    if mask is not None:
        assert counts[~mask].sum() == 0
    assert _pooled_chi2(counts[allowed], want[allowed]) > 1e-3


def _pooled_chi2(counts, probs):
    """Chi-square p-value, arms expected fewer than 5 times pooled into one cell."""
    exp = probs / probs.sum() * counts.sum()
    big = exp >= 5
    obs, exp = np.append(counts[big], counts[~big].sum()), np.append(exp[big], exp[~big].sum())
    keep = exp > 0
    return stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue
