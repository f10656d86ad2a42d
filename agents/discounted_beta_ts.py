"""Discounted Beta-Bernoulli Thompson sampling (Raj & Kalyani 2017) for drifting tastes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.arm_stats import unit_interval
from banditsim.agents._state.step_clock import StepClock, check_gamma
from banditsim.agents.beta_ts import BetaTSAgent


class DiscountedBetaTSAgent(StepClock, BetaTSAgent):
    """Beta Thompson sampling whose success/failure counts decay by ``gamma`` per decision step.

    With prior (α₀, β₀) and mapped rewards r ∈ [0, 1] (as ``beta_ts``), time is each replica's
    clock, the decision step of the newest answer learned (``banditsim.agents._state.step_clock``; rows carry
    their decision steps in ``feedback.step``, else each ``update`` call is one step).  When a
    replica's clock moves k steps its counts decay, α ← α₀ + γ^k(α − α₀), β ← β₀ + γ^k(β − β₀),
    and a row decided a steps before the clock adds γ^a·r and γ^a·(1 − r).  At clock T the
    posterior is Beta(α₀ + Σ γ^(T−s) r, β₀ + Σ γ^(T−s) (1 − r)) over the rows learned (s their
    decision steps), however they were batched or delayed: old answers fade with weight γ^age,
    so the posterior follows arms whose rates change (effective memory ≈ 1/(1 − γ) decision
    steps).  ``gamma=1`` is ``beta_ts`` exactly (same draws, same state).  With
    γ < 1 every arm changes every step, so acts draw every arm (the lazy sampler of ``beta_ts``
    pays only for posteriors that change a few arms at a time).

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Feedback
    >>> agent = DiscountedBetaTSAgent(n_arms=2, gamma=0.5, random_state=0)
    >>> agent.update(None, np.array([0]), Feedback(reward=[1.0]))
    >>> agent.update(None, np.array([1]), Feedback(reward=[1.0]))
    >>> agent.alpha.tolist()  # arm 0's success has aged one step
    [[1.5, 2.0]]
    """

    name = "discounted_beta_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "gamma": 0.9}

    def __init__(self, n_arms, *, gamma: float = 0.99, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.gamma = check_gamma(gamma)

    def _exceedance(self):
        return super()._exceedance() if self.gamma == 1.0 else None

    def _advance(self, replicas, elapsed):
        if self.gamma == 1.0:
            return
        factor = (self.gamma ** elapsed)[:, None]
        for table, prior in ((self.alpha, self.alpha_prior), (self.beta, self.beta_prior)):
            table[replicas] = prior + factor * (table[replicas] - prior)

    def _learn(self, rows, arms, reward, kind):
        age = self._start_step(rows.replica)
        if self.gamma == 1.0:
            super()._learn(rows, arms, reward, kind)
            return
        success = unit_interval(reward, self.reward_range)
        if self.binarize:  # the same draws as beta_ts's
            success = (self._rng.random(success.shape) < success).astype(np.float64)
        weight = self.gamma ** age
        np.add.at(self.alpha, (rows.replica, arms), weight * success)
        np.add.at(self.beta, (rows.replica, arms), weight * (1.0 - success))
