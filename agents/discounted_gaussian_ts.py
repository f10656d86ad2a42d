"""Discounted Gaussian Thompson sampling for drifting tastes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.step_clock import StepClock, check_gamma
from banditsim.agents.gaussian_ts import GaussianTSAgent


class DiscountedGaussianTSAgent(StepClock, GaussianTSAgent):
    """Gaussian Thompson sampling on exponentially weighted pull counts and reward sums.

    Time is each replica's clock, the decision step of the newest answer learned
    (``banditsim.agents._state.step_clock``; rows carry their decision steps in ``feedback.step``, else each
    ``update`` call is one step).  When the clock moves k steps the counts n and sums s decay,
    n ← γ^k·n, s ← γ^k·s, and a row decided a steps before the clock adds γ^a and γ^a·r: at
    clock T, n = Σ γ^(T−s) and s = Σ γ^(T−s)·r over the rows learned, however they were batched
    or delayed.  The posterior is that
    of ``gaussian_ts`` with these weighted statistics: precision 1/prior_std² + n/noise_std²,
    mean (prior_mean/prior_std² + s/noise_std²) / precision, so an arm not pulled for a while
    returns towards its prior and is explored again.  ``gamma=1`` is ``gaussian_ts`` exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Feedback
    >>> agent = DiscountedGaussianTSAgent(n_arms=2, gamma=0.5, noise_std=1.0, random_state=0)
    >>> agent.update(None, np.array([0, 0]), Feedback(reward=[1.0, 1.0]))
    >>> agent.update(None, np.array([1]), Feedback(reward=[2.0]))
    >>> mean, std = agent.posterior(np.array([0]))
    >>> mean.round(3).tolist()  # arm 0: n = 1, s = 1 after one step of ageing
    [[0.5, 1.0]]
    """

    name = "discounted_gaussian_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "gamma": 0.9}

    def __init__(self, n_arms, *, gamma: float = 0.99, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.gamma = check_gamma(gamma)

    def _advance(self, replicas, elapsed):
        if self.gamma == 1.0:
            return
        factor = (self.gamma ** elapsed)[:, None]
        self._stats.counts[replicas] *= factor
        self._stats.sums[replicas] *= factor

    def _learn(self, rows, arms, reward, kind):
        weight = self.gamma ** self._start_step(rows.replica)
        np.add.at(self._stats.counts, (rows.replica, arms), weight)
        np.add.at(self._stats.sums, (rows.replica, arms), weight * reward)
