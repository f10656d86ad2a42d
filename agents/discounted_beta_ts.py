"""Discounted Beta-Bernoulli Thompson sampling (Raj & Kalyani 2017) for drifting tastes."""

from __future__ import annotations

from typing import Any, ClassVar

from agents._step_clock import StepClock, check_gamma
from agents.beta_ts import BetaTSAgent


class DiscountedBetaTSAgent(StepClock, BetaTSAgent):
    """Beta Thompson sampling whose success/failure counts decay by ``gamma`` every step.

    With prior (α₀, β₀) and mapped rewards r ∈ [0, 1] (as ``beta_ts``), each ``update`` call is
    one step (``agents._step_clock``) of the replicas in it: first every count of those replicas
    decays, α ← α₀ + γ(α − α₀), β ← β₀ + γ(β − β₀), then the new rows add r and 1 − r.  After
    steps 1..t the posterior is Beta(α₀ + Σ_s γ^(t−s) S_s, β₀ + Σ_s γ^(t−s) F_s): old answers
    fade with weight γ^age, so the posterior follows arms whose rates change (effective memory
    ≈ 1/(1 − γ) steps).  ``gamma=1`` is ``beta_ts`` exactly (same draws, same state).  With
    γ < 1 every arm changes every step, so acts draw every arm (the lazy sampler of ``beta_ts``
    pays only for posteriors that change a few arms at a time).

    Examples
    --------
    >>> import numpy as np
    >>> from agents import Feedback
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

    def _exceedance(self, n_slots):
        return super()._exceedance(n_slots) if self.gamma == 1.0 else None

    def _advance(self, replicas):
        if self.gamma == 1.0:
            return
        for table, prior in ((self.alpha, self.alpha_prior), (self.beta, self.beta_prior)):
            table[replicas] = prior + self.gamma * (table[replicas] - prior)

    def _learn(self, rows, arms, reward, kind):
        self._start_step(rows.replica)
        super()._learn(rows, arms, reward, kind)
