"""The lazy exact Thompson sampler (agents._thompson.beta_exceedance) draws exactly what full sampling draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from banditsim.agents import KIND_VALUES, Context, Feedback, make_agent
from banditsim.agents._selection.ranking import argmax_random_ties, pick_among_ties
from banditsim.agents._thompson.beta_tail import beta_above, beta_below, tail_after_step, upper_tail


def _win_probabilities(alpha, beta, allowed=None):
    """Exact P(arm k has the largest Beta draw among the allowed arms): the integral of
    f_k(x) Π_{j≠k} F_j(x) on a fine grid (trapezoid, in log space)."""
    allowed = np.ones(alpha.size, bool) if allowed is None else allowed
    a, b = alpha[allowed][:, None], beta[allowed][:, None]
    x = np.linspace(0.0, 1.0, 200_001)[1:-1][None, :]
    log_cdf = np.log(np.maximum(special.betainc(a, b, x), 1e-300))
    integrand = np.exp(stats.beta.logpdf(x, a, b) + log_cdf.sum(axis=0) - log_cdf)
    out = np.zeros(alpha.size)
    out[allowed] = integrate.trapezoid(integrand, x[0], axis=1)
    return out / out.sum()


def _chi2_pvalue(counts, probs):
    """Goodness of fit of counts to probs, pooling the arms expected < 5 times into one bin."""
    expected = probs * counts.sum()
    big = expected >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    return stats.chisquare(obs[keep], exp[keep]).pvalue


def _posterior(n_arms, rng):
    """Mixed posteriors: well-explored arms, fractional counts, prior-only arms, shapes < 1."""
    alpha = 1.0 + rng.integers(0, 40, n_arms) + rng.random(n_arms) * (rng.random(n_arms) < 0.3)
    beta = 1.0 + rng.integers(0, 300, n_arms) + 0.5 * (rng.random(n_arms) < 0.3)
    alpha[:3], beta[:3] = 1.0, 1.0  # prior only
    alpha[3], beta[3] = 0.6, 4.0  # a < 1: not log-concave (inverse-CDF tails)
    return alpha, beta


def _lazy_counts(agent, n_rows, n_acts, mask=None):
    counts = np.zeros(agent.n_arms, dtype=np.int64)
    for _ in range(n_acts):
        d = agent.act(Context(n_rows=n_rows, mask=mask))
        counts += np.bincount(d.actions, minlength=agent.n_arms)
    return counts


@pytest.mark.parametrize("target", [5.0, 0.3])  # 0.3: most slots have no exceedance -> completion path
def test_lazy_actions_follow_exact_thompson_probabilities(target):
    rng = np.random.default_rng(0)
    n_arms = 40
    agent = make_agent("beta_ts", n_arms, random_state=1, n_propensity_draws=1, alpha_prior=1.0)
    agent.lazy_min_work = 0
    agent.alpha[0], agent.beta[0] = _posterior(n_arms, rng)
    pool = agent._exceedance()
    pool.target, pool.low, pool.high = target, 0.0, 1e9
    counts = _lazy_counts(agent, 500, 60)
    assert _chi2_pvalue(counts, _win_probabilities(agent.alpha[0], agent.beta[0])) > 1e-3


def test_lazy_masked_actions_follow_exact_probabilities():
    rng = np.random.default_rng(1)
    n_arms = 30
    agent = make_agent("beta_ts", n_arms, random_state=2, n_propensity_draws=3)
    agent.lazy_min_work = 0
    agent.alpha[0], agent.beta[0] = _posterior(n_arms, rng)
    exact = _win_probabilities(agent.alpha[0], agent.beta[0])
    allowed = np.ones(n_arms, bool)
    allowed[np.argsort(-exact)[:4]] = False  # the likeliest winners are masked out
    counts = _lazy_counts(agent, 400, 50, mask=np.repeat(allowed[None], 400, axis=0))
    assert counts[~allowed].sum() == 0
    assert _chi2_pvalue(counts[allowed], _win_probabilities(agent.alpha[0, allowed], agent.beta[0, allowed])) > 1e-3


def test_tails_stay_exact_through_updates_and_direct_edits():
    """After whole, fractional and repeated updates (recurrences / recomputation) and a direct
    edit of alpha, the lazy draws still follow the current posterior."""
    rng = np.random.default_rng(2)
    n_arms = 25
    agent = make_agent("beta_ts", n_arms, n_replicas=2, random_state=3, n_propensity_draws=1)
    agent.lazy_min_work = 0
    for step in range(60):
        ctx = Context(replica=np.repeat([0, 1], 20))
        d = agent.act(ctx)
        reward = (rng.random(40) < 0.2 + 0.02 * d.actions).astype(float)
        if step % 5 == 0:
            reward = rng.random(40)  # fractional rewards
        agent.update(ctx, d, Feedback(reward=reward))
    pool = agent._pool
    for r in range(2):
        x = pool.threshold[r]
        np.testing.assert_allclose(pool.tail[r], upper_tail(agent.alpha[r], agent.beta[r], x), rtol=1e-9, atol=1e-12)
    agent.alpha[1, 7] += 40.0  # behind the agent's back: rebuilt on the next draw
    counts = np.zeros(n_arms, dtype=np.int64)
    for _ in range(40):
        d = agent.act(Context(replica=np.ones(500, dtype=np.int64)))
        counts += np.bincount(d.actions, minlength=n_arms)
    assert _chi2_pvalue(counts, _win_probabilities(agent.alpha[1], agent.beta[1])) > 1e-3


def test_lazy_and_dense_paths_agree_and_propensities_are_valid():
    rng = np.random.default_rng(4)
    n_arms = 50
    alpha, beta = _posterior(n_arms, rng)
    exact = _win_probabilities(alpha, beta)
    for lazy in (True, False):
        agent = make_agent("beta_ts", n_arms, random_state=5, n_propensity_draws=50)
        agent.lazy_min_work = 0 if lazy else 10**18
        agent.alpha[0], agent.beta[0] = alpha, beta
        d = agent.act(Context(n_rows=300))
        assert np.all((d.propensities > 0) & (d.propensities <= 1))
        np.testing.assert_allclose(d.probabilities.sum(axis=1), 1.0)
        np.testing.assert_allclose(d.probabilities[np.arange(300), d.actions], d.propensities)
        # each row estimates P(its action) from 51 pooled draws: unbiased on average
        err = d.propensities - exact[d.actions]
        assert abs(err.mean()) < 0.02 and abs(err).mean() < 0.1


def test_lazy_same_seed_same_actions_and_reseed_forgets_pending_slots():
    def run(seed_after=None):
        agent = make_agent("beta_ts", 64, n_replicas=3, random_state=7, n_propensity_draws=2)
        agent.lazy_min_work = 0
        rng = np.random.default_rng(8)
        out = []
        for step in range(6):
            ctx = Context(replica=np.arange(12) % 3)
            if step == 3 and seed_after is not None:
                agent.reseed(seed_after)
            d = agent.act(ctx)
            out.append(d.actions)
            agent.update(ctx, d, Feedback(reward=(rng.random(12) < 0.3).astype(float)))
        return np.concatenate(out), agent

    a, _ = run()
    b, _ = run()
    np.testing.assert_array_equal(a, b)
    # two agents with the same posterior but different histories act alike after the same reseed
    fresh = make_agent("beta_ts", 64, n_replicas=3, random_state=0, n_propensity_draws=2)
    fresh.lazy_min_work = 0
    _, used = run()
    fresh.alpha[...], fresh.beta[...] = used.alpha, used.beta
    fresh.act(Context(replica=np.arange(3)))  # builds its own pending slots
    used.reseed(11), fresh.reseed(11)
    probe = Context(replica=np.array([0, 1, 2, 2]))
    np.testing.assert_array_equal(used.act(probe).actions, fresh.act(probe).actions)


@pytest.mark.parametrize("a,b,x", [(1, 1, 0.3), (2, 50, 0.2), (2, 50, 0.01), (300, 3000, 0.093), (300, 3000, 0.12),
                                   (0.5, 0.5, 0.9), (0.5, 3, 0.6), (30, 1, 0.99), (2000, 2, 0.9995), (1.5, 1.0, 0.8)])
def test_truncated_beta_samplers_are_exact(a, b, x):
    rng = np.random.default_rng(9)
    n = 20000
    shape = (np.full(n, a, float), np.full(n, b, float), np.full(n, x))
    tail = upper_tail(*shape)
    dist = stats.beta(a, b)
    above = beta_above(*shape, tail, rng)
    assert above.min() > x
    assert stats.kstest(above, lambda y: (dist.cdf(y) - dist.cdf(x)) / dist.sf(x)).pvalue > 1e-3
    below = beta_below(*shape, tail, rng)
    assert below.max() <= x
    assert stats.kstest(below, lambda y: dist.cdf(y) / dist.cdf(x)).pvalue > 1e-3


def test_tail_recurrence_matches_direct_evaluation():
    rng = np.random.default_rng(10)
    a, b, x = rng.uniform(0.5, 500, 200), rng.uniform(0.5, 5000, 200), rng.uniform(0.001, 0.999, 200)
    success = rng.random(200) < 0.5
    got = tail_after_step(upper_tail(a, b, x), a, b, np.log(x), np.log1p(-x), success)
    want = upper_tail(a + success, b + ~success, x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)


def test_random_tie_breaking_is_uniform():
    rng = np.random.default_rng(12)
    scores = np.tile(np.array([0.2, 0.9, 0.9, 0.1, 0.9]), (30000, 1))
    counts = np.bincount(argmax_random_ties(scores, rng), minlength=5)
    assert counts[[0, 3]].sum() == 0
    assert stats.chisquare(counts[[1, 2, 4]]).pvalue > 1e-3
    items, n = pick_among_ties(np.array([[False, True, True]]), np.zeros(2, dtype=np.int64), np.array([0.0, 0.99]))
    assert items.tolist() == [1, 2] and n.tolist() == [2]


def _dirichlet_agent(n_arms, seed, **params):
    """A dirichlet_ts agent with random kind counts; also returns the test's own tally of its
    Dirichlet parameters (prior 1 + counts), kept apart from the agent's state."""
    rng = np.random.default_rng(seed)
    agent = make_agent("dirichlet_ts", n_arms, random_state=seed, **params)
    agent.lazy_min_work = 0
    n_kinds = len(KIND_VALUES)  # block … share
    kinds = rng.choice(n_kinds, size=(n_arms, 60), p=[0.03, 0.07, 0.4, 0.25, 0.13, 0.08, 0.02, 0.02])
    tally = np.ones((n_arms, n_kinds))
    for k in range(n_arms):
        seen = np.bincount(kinds[k, : rng.integers(0, 60)], minlength=n_kinds)
        agent.counts[0, k] += seen
        tally[k] += seen
    return agent, tally


def _dense_dirichlet_counts(tally, n, allowed=None, seed=0):
    """How often each arm has the best Σ_k v_k·p_k over ``n`` draws p ~ Dirichlet(tally[arm])
    from scipy.stats (not the agent's sampler)."""
    rng = np.random.default_rng(seed)
    values = np.array(KIND_VALUES)
    draws = np.stack([stats.dirichlet(t).rvs(n, random_state=rng) @ values for t in tally], axis=1)
    if allowed is not None:
        draws = np.where(allowed, draws, -np.inf)
    return np.bincount(draws.argmax(axis=1), minlength=len(tally))


@pytest.mark.parametrize("target", [6.0, 0.2])  # 0.2: most slots have no score above L -> completion
def test_lazy_dirichlet_scores_follow_full_sampling(target):
    agent, tally = _dirichlet_agent(40, 20, n_propensity_draws=1)
    lazy = agent._exceedance()
    lazy.target, lazy.adapt = target, False
    counts = _lazy_counts(agent, 500, 40)
    dense = _dense_dirichlet_counts(tally, 40_000)
    used = (counts + dense) > 0
    assert stats.chi2_contingency(np.stack([counts[used], dense[used]]))[1] > 1e-3


def test_lazy_dirichlet_masked_and_after_updates():
    rng = np.random.default_rng(21)
    agent, tally = _dirichlet_agent(30, 22, n_propensity_draws=2)
    for _ in range(10):  # updates through observe, then an edit behind the agent's back
        d = agent.act(Context(n_rows=50))
        kinds = rng.integers(0, 7, 50)
        agent.update(Context(n_rows=50), d, Feedback(reward=np.zeros(50), kind=kinds))
        np.add.at(tally, (d.actions, kinds), 1.0)
    agent.counts[0, 3, 5] += 30.0
    tally[3, 5] += 30.0
    dense_all = _dense_dirichlet_counts(tally, 40_000)
    allowed = np.ones(30, bool)
    allowed[np.argsort(-dense_all)[:3]] = False
    counts = _lazy_counts(agent, 500, 40, mask=np.repeat(allowed[None], 500, axis=0))
    dense = _dense_dirichlet_counts(tally, 40_000, allowed, seed=1)
    assert counts[~allowed].sum() == 0
    used = (counts + dense) > 0
    assert stats.chi2_contingency(np.stack([counts[used], dense[used]]))[1] > 1e-3


@pytest.mark.parametrize("name", ["beta_ts", "dirichlet_ts"])
def test_lazy_state_survives_pickling_and_direct_edits(name):
    import pickle

    agent = make_agent(name, 40, n_replicas=2, random_state=3, n_propensity_draws=4)
    agent.lazy_min_work = 0
    ctx = Context(replica=np.repeat([0, 1], 8))
    rng = np.random.default_rng(4)
    for _ in range(5):
        d = agent.act(ctx)
        agent.update(ctx, d, Feedback(reward=rng.random(16), kind=rng.integers(0, 7, 16)))
    clone = pickle.loads(pickle.dumps(agent))
    np.testing.assert_array_equal(agent.act(ctx).actions, clone.act(ctx).actions)
    # a direct edit followed by an update of the same pair is noticed: the tails stay exact
    state = agent.alpha if name == "beta_ts" else agent.counts
    state[0, 5] += 25.0
    agent.update(Context(replica=np.array([0])), np.array([5]), Feedback(reward=[1.0], kind=[5]))
    agent.act(ctx)
    pool = agent._pool if name == "beta_ts" else agent._lazy.pool
    if name == "dirichlet_ts":
        lazy = agent._lazy
        high = lazy.values[lazy.kind_to_value] > lazy.values[lazy.cut][:, None]  # (R, n_kinds)
        np.testing.assert_allclose(pool.alpha, (agent.counts * high[:, None, :]).sum(axis=2))
        np.testing.assert_allclose(pool.beta, (agent.counts * ~high[:, None, :]).sum(axis=2))
    want = upper_tail(pool.alpha, pool.beta, pool.threshold[:, None])
    np.testing.assert_allclose(pool.tail, want, rtol=1e-9, atol=1e-12)
