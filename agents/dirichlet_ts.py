"""Categorical Thompson sampling over feedback kinds (Dirichlet posterior per arm)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._thompson.dirichlet_exceedance import DirichletExceedance, dot_values, merge_kinds
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent


def score_draws(counts: np.ndarray, values: np.ndarray, fallback: float):
    """``(n, rng) -> (n, *counts.shape[:-1])`` draws of Σ_v v·p_v with p ~ Dirichlet(counts) (last axis).

    >>> draw = score_draws(np.array([[1.0, 1.0], [1.0, 1e6]]), np.array([0.0, 1.0]), 0.5)
    >>> draw(3, np.random.default_rng(0)).shape
    (3, 2)
    """

    def draw(n, rng):
        g = rng.standard_gamma(counts, size=(n, *counts.shape))
        total = g.sum(axis=-1)
        # all-zero gammas (only possible with tiny priors) fall back to a uniform distribution
        return np.where(total > 0, dot_values(g, values) / np.where(total > 0, total, 1.0), fallback)

    return draw


class DirichletTSAgent(SamplingAgent):
    """Thompson sampling on the distribution of feedback kinds each arm produces.

    Each arm has a Dirichlet(counts) posterior over the kinds (block … save).  A decision
    draws a kind distribution per arm and scores its expected value under ``kind_values``,
    so a block (−1) hurts more than a skip (−0.1).  Learns from ``feedback.kind``; when a
    row carries no kind, the kind whose value is nearest to its reward is counted.  Big
    single-item acts draw only the arms that can win (``banditsim.agents._thompson.dirichlet_exceedance``, exact).

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = DirichletTSAgent(n_arms=2, random_state=0)
    >>> agent.update(None, np.array([1, 1]), Feedback(reward=[-1.0, 1.0], kind=[0, 5]))
    >>> agent.counts[0, 1].tolist()
    [2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0]
    >>> agent.update(None, np.array([0]), Feedback(reward=[-0.5]))  # no kind: nearest is dislike
    >>> agent.counts[0, 0].tolist()
    [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """

    name = "dirichlet_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 16}

    def __init__(self, n_arms, *, alpha_prior: float = 1.0, n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.alpha_prior = check_float("alpha_prior", alpha_prior, 0.0, low_open=True)
        self.counts = np.full((self.n_replicas, self.n_arms, len(self._kind_values)), self.alpha_prior)
        self._lazy: DirichletExceedance | None = None

    def _exceedance(self):
        if self.alpha_prior < 0.5 or np.unique(self._kind_values).size < 2:  # tiny priors: gammas underflow
            return None
        if self._lazy is None:
            self._lazy = DirichletExceedance(self.counts, self._kind_values)
        self._lazy.counts = self.counts
        return self._lazy

    def reseed(self, random_state) -> None:
        super().reseed(random_state)
        if self._lazy is not None:
            self._lazy.reset()

    def _posterior_draws(self, replica, mask):
        # Kinds of equal value are merged first (aggregation property: summing Dirichlet
        # components gives the Dirichlet of the summed counts), so default values draw 6
        # gammas per arm, not 7.  The score is Σ_v v·p_v with p ~ Dirichlet(merged counts).
        values, group = np.unique(self._kind_values, return_inverse=True)
        counts = self.counts[replica]  # a copy: later updates do not reach it
        if values.size < counts.shape[-1]:
            counts = merge_kinds(counts, group.reshape(-1), values.size)
        return score_draws(counts, values, self._kind_values.mean())

    def _sampler(self, rows):
        # The one deviation from deriving ``_sampler`` from ``_posterior_draws``: per-row draws
        # (slates, big masked acts) draw every kind, unmerged.  Same distribution; merging here
        # would change the random stream, hence the actions, of seeded slate runs.
        draw = score_draws(self.counts[rows.replica], self._kind_values, self._kind_values.mean())
        return lambda n: draw(n, self._rng)

    def _learn(self, rows, arms, reward, kind):
        if kind is None:
            kind = np.abs(reward[:, None] - self._kind_values[None, :]).argmin(axis=1)
        np.add.at(self.counts, (rows.replica, arms, kind), 1.0)
        if self._lazy is not None:
            self._lazy.counts = self.counts
            self._lazy.observe(rows.replica, arms, kind, self._rng)
