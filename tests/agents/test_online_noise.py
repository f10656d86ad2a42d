"""lin_ts with noise_std='auto': the noise scale estimated online from the ridge residuals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents._linear.online_noise import PRIOR_N, PRIOR_STD


def _feed(agent, rng, n, noise, replica=0, dim=4):
    theta = np.linspace(-1.0, 1.0, dim * agent.n_arms).reshape(agent.n_arms, dim)
    x = rng.normal(size=(n, dim))
    arms = rng.integers(0, agent.n_arms, n)
    y = np.einsum("nd,nd->n", x, theta[arms]) + noise * rng.normal(size=n)
    agent.update(Context(features=x, replica=np.full(n, replica)), arms, Feedback(reward=y))
    return x, arms, y


@pytest.mark.parametrize("noise", [0.05, 0.3, 1.5])
def test_the_estimate_finds_the_true_noise(noise):
    agent = make_agent("lin_ts", 3, noise_std="auto", random_state=0)
    _feed(agent, np.random.default_rng(1), 3000, noise)
    assert abs(agent.noise_scale()[0] / noise - 1.0) < 0.1, agent.noise_scale()


def test_the_estimate_is_the_ridge_residual_with_the_prior():
    """σ̂² = (PRIOR_N·PRIOR_STD² + Σ_arms ‖y − Xθ̂‖²) / (PRIOR_N + n), θ̂ the ridge fit from
    numpy's least squares on the augmented system, per arm (intercept column included)."""
    rng = np.random.default_rng(2)
    agent = make_agent("lin_ts", 2, noise_std="auto", ridge=2.0, random_state=0)
    x, arms, y = _feed(agent, rng, 40, 0.4)
    rss = 0.0
    for a in range(2):
        xa = np.c_[x[arms == a], np.ones((arms == a).sum())]  # fit_intercept: [x, 1]
        aug = np.r_[xa, np.sqrt(2.0) * np.eye(xa.shape[1])]
        theta = np.linalg.lstsq(aug, np.r_[y[arms == a], np.zeros(xa.shape[1])], rcond=None)[0]
        rss += np.sum((y[arms == a] - xa @ theta) ** 2)
    want = np.sqrt((PRIOR_N * PRIOR_STD**2 + rss) / (PRIOR_N + 40))
    np.testing.assert_allclose(agent.noise_scale()[0], want, rtol=1e-9)


def test_replicas_keep_their_own_scale_and_the_draws_use_it():
    rng = np.random.default_rng(3)
    agent = make_agent("lin_ts", 3, n_replicas=2, noise_std="auto", random_state=0)
    _feed(agent, rng, 2000, 0.05, replica=0)
    scale = agent.noise_scale()
    assert scale[0] < 0.07 and scale[1] == PRIOR_STD  # replica 1 saw nothing: the prior
    probe = np.array([[0.3, -0.2, 0.5, 0.1]])
    for r in (0, 1):
        rows = agent._resolve(Context(features=probe, replica=np.array([r])))
        draws = agent._sampler(rows)(20_000)[:, 0, 1]
        mean, quad = agent._mean_and_quad(rows)
        ref = stats.norm(mean[0, 1], scale[r] * np.sqrt(quad[0, 1]))
        assert stats.kstest(draws, ref.cdf).pvalue > 1e-3


@pytest.mark.parametrize("mode", ["disjoint", "shared"])
def test_auto_acts_and_reads_propensities_in_both_modes(mode):
    rng = np.random.default_rng(4)
    items = rng.normal(size=(6, 3))
    agent = make_agent("lin_ts", 6, mode=mode, noise_std="auto", n_replicas=2, random_state=0,
                       n_propensity_draws=32)
    for _ in range(5):
        ctx = Context(features=rng.normal(size=(4, 2)), arm_features=items, replica=np.array([0, 1, 0, 1]))
        d = agent.act(ctx)
        agent.update(ctx, d, Feedback(reward=0.1 * rng.normal(size=4)))
        assert np.all((d.propensities > 0) & (d.propensities <= 1))
    assert np.all(agent.noise_scale() < PRIOR_STD)


def test_a_bad_noise_std_is_refused():
    with pytest.raises(ValueError, match="noise_std"):
        make_agent("lin_ts", 3, noise_std="automatic")
