"""Each planted bug of issue #22 makes the check aimed at it fail (monkeypatched, undone after each test).

The checks are the same functions the normal tests call (``agent_references``), so a check that
passed on a wrong formula would show up here as a mutant that is not caught.
"""

from __future__ import annotations

import numpy as np
import pytest
from agent_references import (
    check_epsilon_greedy_masked,
    check_kl_ucb,
    check_lai_robbins_band,
    check_lin_ts,
    check_linucb,
    check_thompson_propensities,
    check_ucb1,
)

import banditsim.agents.beta_ts as beta_ts
import banditsim.agents.kl_ucb as kl_ucb
from banditsim.agents.dirichlet_ts import DirichletTSAgent
from banditsim.agents.epsilon_greedy import EpsilonGreedyAgent
from banditsim.agents.linucb import LinUCBAgent
from banditsim.agents.ucb1 import UCB1Agent


def _beta_draws_with(transform):
    original = beta_ts.beta_draws
    return lambda a, b, n, rng, fast: original(*transform(a, b), n, rng, fast)


BETA_A_PLUS_B = _beta_draws_with(lambda a, b: (a, a + b))
BETA_OVERCONFIDENT = _beta_draws_with(lambda a, b: (4 * a, 4 * b))


def test_linucb_without_square_root_is_caught(monkeypatch):
    def index(self, rows):
        mean, quad = self._mean_and_quad(rows)
        return mean + self.alpha * quad  # α·xᵀΣx instead of α·sqrt(xᵀΣx)

    monkeypatch.setattr(LinUCBAgent, "_index", index)
    with pytest.raises(AssertionError):
        check_linucb(1.5)


def test_ucb1_bonus_without_the_2_is_caught(monkeypatch):
    def index(self, rows):
        n, s = self._stats.counts[rows.replica], self._stats.sums[rows.replica]
        t = np.maximum(n.sum(axis=1, keepdims=True), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, s / n + self.c * np.sqrt(np.log(t) / n), np.inf)

    monkeypatch.setattr(UCB1Agent, "_index", index)
    with pytest.raises(AssertionError):
        check_ucb1(0.7)


def test_kl_ucb_with_a_wrong_divergence_is_caught(monkeypatch):
    def wrong_kl(p, q):
        p, q = np.clip(p, 1e-12, 1 - 1e-12), np.clip(q, 1e-12, 1 - 1e-12)
        return p * np.log(p / q) + (1 - p) * np.log((1 - q) / (1 - p))  # second term flipped

    monkeypatch.setattr(kl_ucb, "bernoulli_kl", wrong_kl)
    with pytest.raises(AssertionError):
        check_kl_ucb(0.0)


def test_lin_ts_draws_without_square_root_are_caught(monkeypatch):
    from banditsim.agents._linear.model import LinearModelMixin

    def sampler(self, rows, scale):
        mean, quad = self._mean_and_quad(rows)
        return lambda n: mean + scale * quad * self._rng.standard_normal((n, *mean.shape))

    monkeypatch.setattr(LinearModelMixin, "_score_sampler", sampler)
    with pytest.raises(AssertionError):
        check_lin_ts()


@pytest.mark.parametrize("wrong", [BETA_A_PLUS_B, BETA_OVERCONFIDENT], ids=["beta(a,a+b)", "beta(4a,4b)"])
@pytest.mark.parametrize("slate_size", [1, 2])
def test_wrong_beta_posterior_fails_the_propensity_reference(monkeypatch, wrong, slate_size):
    monkeypatch.setattr(beta_ts, "beta_draws", wrong)
    with pytest.raises(AssertionError):
        check_thompson_propensities("beta_ts", slate_size)


@pytest.mark.parametrize("slate_size", [1, 2])
def test_overconfident_dirichlet_fails_the_propensity_reference(monkeypatch, slate_size):
    def sharpened(method):
        def wrapper(self, *args):
            self.counts *= 4.0  # the draws copy the counts: Dirichlet(4·counts)
            try:
                return method(self, *args)
            finally:
                self.counts /= 4.0
        return wrapper

    monkeypatch.setattr(DirichletTSAgent, "_posterior_draws", sharpened(DirichletTSAgent._posterior_draws))
    monkeypatch.setattr(DirichletTSAgent, "_sampler", sharpened(DirichletTSAgent._sampler))
    with pytest.raises(AssertionError):
        check_thompson_propensities("dirichlet_ts", slate_size)


def test_overconfident_beta_fails_the_lai_robbins_band(monkeypatch):
    monkeypatch.setattr(beta_ts, "beta_draws", BETA_OVERCONFIDENT)
    with pytest.raises(AssertionError):
        check_lai_robbins_band()


def test_epsilon_greedy_ignoring_the_mask_in_its_propensities_is_caught(monkeypatch):
    original = EpsilonGreedyAgent._decide

    def decide(self, rows):
        items, prop, probabilities = original(self, rows)
        if rows.mask is None:
            return items, prop, probabilities
        n_allowed = rows.mask.sum(axis=1)[:, None]
        shift = self.epsilon / self.n_arms - self.epsilon / n_allowed  # ε/n_arms instead of ε/n_allowed
        return items, prop + shift, lambda: probabilities() + shift * rows.mask

    monkeypatch.setattr(EpsilonGreedyAgent, "_decide", decide)
    with pytest.raises(AssertionError):
        check_epsilon_greedy_masked(0.3)
