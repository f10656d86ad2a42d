"""Issue #21: as ε grows, the private linear agents become their non-private versions.

The tree holds scaled rows φ = z/D (‖φ‖ ≤ 1) and the model is read back in the agents' design z
(post-processing), so with the noise gone the posterior is ``linucb``/``lin_ts``'s ridge regression
with the same ridge (before, the 1/√2 scaling silently doubled the ridge: regret 26.6 against 18.7 at
ε = 1e9).  Rows beyond ``feature_bound``/``reward_bound`` are clipped, which changes the model: counted.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_drift_agents import linear_regret

from banditsim.agents import Context, Feedback, make_agent


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _fed_pair(name, plain, eps, *, dim=3, x_norm=1.0, y_max=1.0, features=True, steps=40, **params):
    """``name`` at ``eps`` and ``plain`` after the same 40 steps of 6 rows on 4 arms (2 replicas)."""
    shared = {k: v for k, v in params.items() if k not in ("feature_bound", "reward_bound")}
    p = make_agent(name, 4, epsilon=eps, n_replicas=2, random_state=0, **params)
    q = make_agent(plain, 4, n_replicas=2, random_state=0, **shared)
    rng = np.random.default_rng(3)
    replica = np.repeat([0, 1], 3)
    for _ in range(steps):
        x = rng.normal(size=(6, dim))
        x *= x_norm * rng.uniform(0.2, 1.0, (6, 1)) / np.linalg.norm(x, axis=1, keepdims=True)
        ctx = Context(features=x if features else None, replica=replica)
        arms = rng.integers(0, 4, 6)
        reward = rng.uniform(-y_max, y_max, 6)
        p.update(ctx, arms, Feedback(reward=reward))
        q.update(ctx, arms, Feedback(reward=reward))
    return p, q


def _state_gap(p, q):
    return max(np.abs(p.posterior.cov - q.posterior.cov).max(), np.abs(p.posterior.mean - q.posterior.mean).max())


VARIANTS = [
    ("private_linucb", "linucb", {}),
    ("private_lin_ts", "lin_ts", {"noise_std": 0.5, "n_propensity_draws": 4}),
    ("private_linucb", "linucb", {"ridge": 0.3, "fit_intercept": False}),
    ("private_linucb", "linucb", {"feature_bound": 4.0, "reward_bound": 2.5, "x_norm": 4.0, "y_max": 2.5}),
    ("private_lin_ts", "lin_ts", {"noise_std": 0.5, "n_propensity_draws": 4, "features": False}),
]


@pytest.mark.parametrize("name,plain,params", VARIANTS, ids=[f"{v[0]}-{i}" for i, v in enumerate(VARIANTS)])
def test_private_state_converges_to_the_plain_agent_as_epsilon_grows(name, plain, params):
    """Σ and μ of every (replica, arm): the gap falls with ε, < 1e-4 at ε = 1e9 (σ ≈ 3e-7, 2Υ ≈ 1e-4)."""
    data = {k: params.pop(k) for k in ("x_norm", "y_max", "features") if k in params}
    gaps = [_state_gap(*_fed_pair(name, plain, eps, **data, **params)) for eps in (1e3, 1e6, 1e9)]
    assert gaps[0] > 10 * gaps[1] > 100 * gaps[2], gaps
    assert gaps[2] < 1e-4, gaps  # what is left is the shift D(2Υ)D ∝ 1/ε (≈ 3e-5 here)
    p, q = _fed_pair(name, plain, 1e9, **data, **params)
    assert p.clipped == 0
    ctx = Context(features=None if data.get("features") is False else np.eye(3)[:2] * 0.5, replica=np.array([0, 1]))
    for a, b in zip(p._mean_and_quad(ctx), q._mean_and_quad(ctx)):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_rows_beyond_the_bounds_are_clipped_and_counted():
    """‖x‖ up to 3 with the default bound 1: the model is fitted to shrunk rows, so it stays away from linucb's
    even with no noise; a bound that covers the rows closes the gap."""
    p, q = _fed_pair("private_linucb", "linucb", 1e9, x_norm=3.0)
    assert p.clipped > 0 and _state_gap(p, q) > 0.01
    p, q = _fed_pair("private_linucb", "linucb", 1e9, x_norm=3.0, feature_bound=3.0)
    assert p.clipped == 0 and _state_gap(p, q) < 1e-3


@pytest.mark.parametrize("name,plain,params", [
    ("private_linucb", "linucb", {"alpha": 0.5}),
    ("private_lin_ts", "lin_ts", {"n_propensity_draws": 4, "noise_std": 0.3}),
])
def test_private_regret_at_huge_epsilon_is_the_plain_agents(name, plain, params):
    """10 seeds × 300 steps, rewards x·θ + N(0, 0.3²) (|y| < 3): measured 18.1 vs 18.7 (linucb), 25.7 vs 25.7
    (lin_ts); before the fix 26.6 and 33.1 (the doubled ridge and rewards clipped to [−1, 1])."""
    private = linear_regret(name, False, epsilon=1e9, reward_bound=3.0, **params).mean()
    base = linear_regret(plain, False, **params).mean()
    assert abs(private - base) <= 0.1 * base, (private, base)


# ----------------------------------------------------------------------------- private_beta_ts
def test_private_beta_ts_at_huge_epsilon_has_beta_ts_state():
    """Rewards that map to exactly 0 or 1: the state equals beta_ts's bit for bit at ε = 1e9 (no flips, no
    Bernoulli coin to differ); fractional rewards: the same counts, the successes Binomial(n, mean s)."""
    rng = np.random.default_rng(5)
    arms = rng.integers(0, 3, 3000)
    replica = rng.integers(0, 2, 3000)
    crisp = rng.choice([-1.0, -0.1, 0.0, 1.0, 2.0], 3000)
    for reward_range in ((0.0, 1.0), (-1.0, 1.0)):
        reward = crisp if reward_range == (0.0, 1.0) else np.where(crisp > 0, 1.0, -1.0)
        p = make_agent("private_beta_ts", 3, epsilon=1e9, n_replicas=2, reward_range=reward_range, random_state=0)
        q = make_agent("beta_ts", 3, n_replicas=2, reward_range=reward_range, random_state=0)
        for chunk in np.array_split(np.arange(3000), 7):
            ctx = Context(replica=replica[chunk])
            p.update(ctx, arms[chunk], Feedback(reward=reward[chunk]))
            q.update(ctx, arms[chunk], Feedback(reward=reward[chunk]))
        np.testing.assert_array_equal(p.alpha, q.alpha)
        np.testing.assert_array_equal(p.beta, q.beta)
    frac = rng.choice([-0.5, 0.0, 0.5, 1.0], 3000, p=[0.1, 0.4, 0.3, 0.2])  # mean s = 0.35
    p = make_agent("private_beta_ts", 3, epsilon=1e9, n_replicas=2, random_state=0)
    p.update(Context(replica=replica), arms, Feedback(reward=frac))
    counts = np.zeros((2, 3))
    np.add.at(counts, (replica, arms), 1.0)
    np.testing.assert_array_equal(p.alpha + p.beta - 2.0, counts)
    s = np.clip(frac, 0.0, 1.0)
    for r in range(2):
        for k in range(3):
            sel = (replica == r) & (arms == k)
            assert stats.binomtest(int(p.alpha[r, k] - 1), int(sel.sum()), s[sel].mean()).pvalue > 1e-3
    np.testing.assert_allclose(p.debiased_rate(np.array([0, 1])), p.alpha / (p.alpha + p.beta))


def _kinds_regret(name, n_seeds=8, steps=250, users=4, **params):
    """Regret per seed on 3 arms whose click rate and expected reward rank them differently: arm 0 is clicked
    (0.5) 90% of the time (mean 0.45), arm 1 liked (1.0) 60% of the time (mean 0.6, the best), arm 2 neither."""
    rng = np.random.default_rng(2)
    values, rates = np.array([0.5, 1.0, 1.0]), np.array([0.9, 0.6, 0.2])
    means = values * rates
    agent = make_agent(name, 3, n_replicas=n_seeds, random_state=0, **params)
    replica = np.repeat(np.arange(n_seeds), users)
    regret = np.zeros(n_seeds)
    for _ in range(steps):
        ctx = Context(replica=replica)
        a = agent.act(ctx).actions
        reward = np.where(rng.random(a.size) < rates[a], values[a], 0.0)
        regret += np.bincount(replica, means.max() - means[a], minlength=n_seeds)
        agent.update(ctx, a, Feedback(reward=reward))
    return regret


def test_private_beta_ts_at_huge_epsilon_regret_is_beta_ts():
    """The old bit, 1[reward > 0], converged on the clicked arm 0 (regret ≈ 0.15 a decision); the Bernoulli bit
    of beta_ts's mapped reward finds arm 1 like beta_ts.  Measured 16.8 vs 17.2 (old code, 1[reward > 0]: 149)."""
    private = _kinds_regret("private_beta_ts", epsilon=1e9, n_propensity_draws=4).mean()
    base = _kinds_regret("beta_ts", n_propensity_draws=4).mean()
    assert abs(private - base) <= 0.2 * base + 2.0, (private, base)
    assert private < 0.04 * 250 * 4  # < 0.04 a decision: not stuck on arm 0
