"""Closed-form posteriors, exact/estimated propensities, and regret on known problems."""

from __future__ import annotations

import numpy as np
import pytest
from agent_cases import ARM_FEATURES, CASES, N_ARMS, make_context
from agent_references import LAI_ROBBINS_P, bernoulli_regret, check_lai_robbins_band
from scipy import integrate, optimize, stats

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents.kl_ucb import bernoulli_kl, kl_upper_bound


def test_beta_counts_equal_closed_form():
    rng = np.random.default_rng(0)
    agent = make_agent("beta_ts", 4, n_replicas=3, alpha_prior=2.0, beta_prior=0.5, n_propensity_draws=4)
    rep, arms, rew = rng.integers(0, 3, 500), rng.integers(0, 4, 500), rng.random(500)
    for chunk in np.array_split(np.arange(500), 7):
        agent.update(Context(replica=rep[chunk]), arms[chunk], Feedback(reward=rew[chunk]))
    for r in range(3):
        for a in range(4):
            sel = (rep == r) & (arms == a)
            assert agent.alpha[r, a] == pytest.approx(2.0 + rew[sel].sum())
            assert agent.beta[r, a] == pytest.approx(0.5 + (1 - rew[sel]).sum())


def test_beta_binarized_successes_are_whole_and_unbiased():
    agent = make_agent("beta_ts", 1, binarize=True, random_state=0, n_propensity_draws=1)
    agent.update(Context(n_rows=20000), np.zeros(20000, dtype=np.int64), Feedback(reward=np.full(20000, 0.3)))
    successes = agent.alpha[0, 0] - 1.0
    assert successes == int(successes)
    assert abs(successes / 20000 - 0.3) < 0.02


def test_beta_ts_monte_carlo_propensity_matches_exact_probability():
    agent = make_agent("beta_ts", 2, random_state=0, n_propensity_draws=20000)
    agent.update(None, np.array([0, 0, 1]), Feedback(reward=[1.0, 0.0, 0.0]))  # Beta(2,2) vs Beta(1,2)
    p_arm0 = integrate.quad(lambda x: stats.beta(2, 2).pdf(x) * stats.beta(1, 2).cdf(x), 0, 1)[0]
    d = agent.act()
    assert d.probabilities[0, 0] == pytest.approx(p_arm0, abs=0.02)


def test_gaussian_ts_posterior_is_conjugate_normal():
    agent = make_agent("gaussian_ts", 2, prior_mean=1.0, prior_std=2.0, noise_std=0.5)
    rewards = np.array([0.3, -1.2, 2.0])
    agent.update(None, np.zeros(3, dtype=np.int64), Feedback(reward=rewards))
    mean, std = agent.posterior(np.array([0]))
    precision = 1 / 4 + 3 / 0.25
    assert mean[0, 0] == pytest.approx((1.0 / 4 + rewards.sum() / 0.25) / precision)
    assert std[0, 0] == pytest.approx(precision**-0.5)
    assert mean[0, 1] == pytest.approx(1.0) and std[0, 1] == pytest.approx(2.0)


def test_kl_ucb_index_matches_root_finding():
    p = np.array([0.0, 0.2, 0.7, 0.95])
    level = np.array([0.5, 0.1, 0.02, 0.3])
    got = kl_upper_bound(p, level)
    for pi, li, gi in zip(p, level, got):
        want = optimize.brentq(lambda q, pi=pi, li=li: bernoulli_kl(np.array(pi), np.array(q)) - li, max(pi, 1e-9), 1 - 1e-12)
        assert gi == pytest.approx(want, abs=1e-6)


def test_ucb1_tie_groups_get_exact_propensities():
    agent = make_agent("ucb1", 5, slate_size=3, random_state=0)
    agent.update(None, np.array([0, 1]), Feedback(reward=[1.0, 0.0]))  # arms 2, 3, 4 untried: tie at +inf
    d = agent.act()
    np.testing.assert_allclose(d.propensities, [[1 / 3, 1 / 3, 1 / 3]])
    assert set(d.actions[0].tolist()) == {2, 3, 4}


def test_epsilon_greedy_propensities_match_frequencies():
    agent = make_agent("epsilon_greedy", 4, epsilon=0.4, slate_size=2, random_state=0)
    agent.update(None, np.array([0, 1, 2]), Feedback(reward=[1.0, 0.5, 0.2]))
    d = agent.act(Context(n_rows=20000))
    freq_pos0 = np.bincount(d.actions[:, 0], minlength=4) / 20000
    np.testing.assert_allclose(freq_pos0, [0.6 + 0.1, 0.1, 0.1, 0.1], atol=0.015)
    first = d.actions[:, 0] == 0
    np.testing.assert_allclose(d.propensities[first, 0], 0.7)


def test_dirichlet_ts_scores_expected_kind_value():
    agent = make_agent("dirichlet_ts", 2, alpha_prior=0.01, random_state=0, n_propensity_draws=8)
    kinds = np.r_[np.full(300, 0), np.full(300, 2)]  # arm 0 always blocked, arm 1 always skipped
    agent.update(None, np.r_[np.zeros(300), np.ones(300)].astype(np.int64),
                 Feedback(reward=np.zeros(600), kind=kinds))
    d = agent.act(Context(n_rows=200))
    assert (d.actions == 1).mean() > 0.99  # skip (-0.1) beats block (-1) although both rewards were 0


def _direct_regression(x, y, ridge):
    a = ridge * np.eye(x.shape[1]) + x.T @ x
    return np.linalg.solve(a, x.T @ y), np.linalg.inv(a)


@pytest.mark.parametrize("name", ["linucb", "lin_ts"])
def test_disjoint_linear_posterior_equals_direct_solve(name):
    rng = np.random.default_rng(1)
    agent = make_agent(name, N_ARMS, n_replicas=2, ridge=0.7, random_state=0)
    n = 240
    x = rng.normal(size=(n, 3))
    rep, arms, y = rng.integers(0, 2, n), rng.integers(0, N_ARMS, n), rng.normal(size=n)
    for chunk in np.array_split(np.arange(n), 5):  # batches with many rows per (replica, arm)
        agent.update(Context(features=x[chunk], replica=rep[chunk]), arms[chunk], Feedback(reward=y[chunk]))
    design = np.c_[x, np.ones(n)]
    for r in range(2):
        for a in range(N_ARMS):
            sel = (rep == r) & (arms == a)
            mean, cov = _direct_regression(design[sel], y[sel], 0.7)
            np.testing.assert_allclose(agent.posterior.mean[r, a], mean, atol=1e-9)
            np.testing.assert_allclose(agent.posterior.cov[r, a], cov, atol=1e-9)


@pytest.mark.parametrize("name", ["linucb", "lin_ts"])
def test_shared_linear_posterior_equals_direct_solve(name):
    rng = np.random.default_rng(2)
    agent = make_agent(name, N_ARMS, mode="shared", ridge=1.5, random_state=0)
    n = 120
    x = rng.normal(size=(n, 3))
    arms, y = rng.integers(0, N_ARMS, n), rng.normal(size=n)
    for chunk in np.array_split(np.arange(n), 4):
        agent.update(Context(features=x[chunk], arm_features=ARM_FEATURES), arms[chunk], Feedback(reward=y[chunk]))
    z = np.c_[ARM_FEATURES[arms], np.ones(n)]
    phi = np.stack([np.kron(xi, zi) for xi, zi in zip(np.c_[x, np.ones(n)], z)])
    mean, cov = _direct_regression(phi, y, 1.5)
    np.testing.assert_allclose(agent.posterior.mean[0], mean, atol=1e-9)
    np.testing.assert_allclose(agent.posterior.cov[0], cov, atol=1e-9)


def test_lin_ts_score_draws_have_posterior_moments():
    rng = np.random.default_rng(3)
    agent = make_agent("lin_ts", N_ARMS, noise_std=0.8, random_state=0)
    x = rng.normal(size=(200, 3))
    agent.update(Context(features=x), rng.integers(0, N_ARMS, 200), Feedback(reward=rng.normal(size=200)))
    probe = Context(features=rng.normal(size=(1, 3)))
    draws = agent._sampler(agent._resolve(probe))(20000)[:, 0, :]
    xd = np.r_[probe.features[0], 1.0]
    mean = agent.posterior.mean[0] @ xd
    var = 0.64 * np.einsum("d,kde,e->k", xd, agent.posterior.cov[0], xd)
    np.testing.assert_allclose(draws.mean(0), mean, atol=4 * np.sqrt(var / 20000).max())
    np.testing.assert_allclose(draws.var(0), var, rtol=0.05)


def test_shared_model_scores_items_never_shown():
    rng = np.random.default_rng(4)
    agent = make_agent("linucb", 4, mode="shared", alpha=0.0, random_state=0)
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    arms = rng.integers(0, 2, 200)  # only items 0 and 1 are ever shown
    agent.update(Context(arm_features=items, n_rows=200), arms, Feedback(reward=np.where(arms == 0, 1.0, -1.0)))
    d = agent.act(Context(arm_features=items, mask=np.array([[False, False, True, True]])))
    assert d.actions.tolist() == [2]  # the unseen item resembling the good one


def test_logistic_ts_learns_positive_vs_negative_kinds():
    rng = np.random.default_rng(5)
    agent = make_agent("logistic_ts", 2, random_state=0, n_propensity_draws=8)
    x = rng.normal(size=(600, 2))
    arms = rng.integers(0, 2, 600)
    kind = np.where(x[:, 0] * (2 * arms - 1) > 0, 5, 2)  # arm 1 liked when x0 > 0, arm 0 when x0 < 0
    agent.update(Context(features=x), arms, Feedback(reward=np.zeros(600), kind=kind))
    d = agent.act(Context(features=np.array([[2.0, 0.0], [-2.0, 0.0]])))
    assert d.actions.tolist() == [1, 0]


# private_beta_ts learns only the positive bit of an answer (randomised response): a block and a neutral
# are the same "not positive" to it by design
GRADED = [(n, p) for n, p in CASES
          if n not in ("random", "logistic_ts", "private_beta_ts") and p.get("mode") != "shared"]


@pytest.mark.parametrize("name,params", GRADED, ids=[n for n, _ in GRADED])
def test_negative_rewards_are_information(name, params):
    """A block (-1) is worse than a neutral (0): every learning agent must prefer the neutral arm."""
    params = dict(params)
    if name in ("beta_ts", "kl_ucb", "discounted_beta_ts"):
        params["reward_range"] = (-1.0, 1.0)
    agent = make_agent(name, N_ARMS, random_state=0, **params)
    rng = np.random.default_rng(6)
    ctx = make_context(400, rng)
    arms = np.arange(400) % 2
    agent.update(ctx, arms, Feedback(reward=np.where(arms == 0, -1.0, 0.0), kind=np.where(arms == 0, 0, 3)))
    mask = np.zeros((300, N_ARMS), dtype=bool)
    mask[:, :2] = True
    d = agent.act(make_context(300, rng, mask=mask))
    assert (d.actions == 1).mean() > 0.85


def test_beta_ts_regret_near_lai_robbins_and_below_ucb1():
    ts = check_lai_robbins_band()  # two-sided: 0.60 ± 5 standard errors of the Lai–Robbins term
    ucb = bernoulli_regret("ucb1", LAI_ROBBINS_P, 10_000, 200)
    assert ts.mean() < 0.5 * ucb.mean(), (ts.mean(), ucb.mean())


def _linear_regret(name, horizons, n_seeds=20, n_arms=8, dim=5, **params):
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(n_seeds, n_arms, dim)) / np.sqrt(dim)
    agent = make_agent(name, n_arms, n_replicas=n_seeds, random_state=0, **params)
    regret, out = np.zeros(n_seeds), []
    for t in range(max(horizons)):
        x = rng.normal(size=(n_seeds, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        expected = np.einsum("rkd,rd->rk", theta, x)
        ctx = Context(features=x, replica=np.arange(n_seeds))
        a = agent.act(ctx).actions
        regret += expected.max(1) - expected[np.arange(n_seeds), a]
        agent.update(ctx, a, Feedback(reward=expected[np.arange(n_seeds), a] + 0.3 * rng.normal(size=n_seeds)))
        if t + 1 in horizons:
            out.append(regret.mean())
    return out


@pytest.mark.parametrize("name,params", [("linucb", {"alpha": 0.5}), ("lin_ts", {"n_propensity_draws": 1, "noise_std": 0.3})])
def test_linear_regret_is_sublinear(name, params):
    at_t, at_4t = _linear_regret(name, (500, 2000), **params)
    assert at_4t < 1.7 * at_t, (at_t, at_4t)  # measured 1.36 (linucb), 1.39 (lin_ts); linear regret: 4
    random_t, _ = _linear_regret("random", (500, 2000))
    assert at_t < random_t / 4.5, (at_t, random_t)  # measured 46 and 69 against 322


def test_shared_scores_match_explicit_pair_features_after_pca():
    rng = np.random.default_rng(8)
    items = rng.normal(size=(7, 10))
    agent = make_agent("lin_ts", 7, mode="shared", arm_dim=3, noise_std=0.7, n_replicas=2, random_state=0)
    x = rng.normal(size=(50, 2))
    rep = rng.integers(0, 2, 50)
    agent.update(Context(features=x, arm_features=items, replica=rep), rng.integers(0, 7, 50),
                 Feedback(reward=rng.normal(size=50)))
    center, basis = agent._arm_projection
    assert basis.shape == (10, 3)
    z = np.c_[(items - center) @ basis, np.ones(7)]
    probe = Context(features=rng.normal(size=(3, 2)), arm_features=items, replica=np.array([1, 1, 0]))
    rows = agent._resolve(probe)
    mean, quad = agent._mean_and_quad(rows)
    for b in range(3):
        r = probe.replica[b]
        phi = np.stack([np.kron(np.r_[probe.features[b], 1.0], zk) for zk in z])
        np.testing.assert_allclose(mean[b], phi @ agent.posterior.mean[r], atol=1e-10)
        np.testing.assert_allclose(quad[b], np.einsum("kd,de,ke->k", phi, agent.posterior.cov[r], phi), atol=1e-10)
    draws = agent._sampler(rows)(20000)
    np.testing.assert_allclose(draws.var(axis=0), 0.49 * quad, rtol=0.06)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.05)
