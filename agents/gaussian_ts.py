"""Gaussian Thompson sampling (known noise variance, conjugate normal prior)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.arm_stats import ArmStats, per_row
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent


class GaussianTSAgent(SamplingAgent):
    """Thompson sampling with a Normal posterior on each arm's mean reward.

    Prior N(prior_mean, prior_std²), rewards N(μ_arm, noise_std²): after n pulls summing
    to s the posterior precision is 1/prior_std² + n/noise_std² and its mean is
    (prior_mean/prior_std² + s/noise_std²) / precision.  Any real reward is used as is,
    so negative rewards pull the mean down.

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = GaussianTSAgent(n_arms=2, noise_std=1.0, random_state=0)
    >>> agent.update(None, np.array([0, 0]), Feedback(reward=[1.0, -2.0]))
    >>> mean, std = agent.posterior(np.array([0]))
    >>> mean.round(3).tolist(), std.round(3).tolist()
    ([[-0.333, 0.0]], [[0.577, 1.0]])
    """

    name = "gaussian_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32}

    def __init__(self, n_arms, *, prior_mean: float = 0.0, prior_std: float = 1.0, noise_std: float = 0.5,
                 n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.prior_mean = check_float("prior_mean", prior_mean)
        self.prior_std = check_float("prior_std", prior_std, 0.0, low_open=True)
        self.noise_std = check_float("noise_std", noise_std, 0.0, low_open=True)
        self._stats = ArmStats(self.n_replicas, self.n_arms)

    def posterior(self, replica: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and standard deviations (B, n_arms) for the given replicas."""
        prior_precision = 1.0 / self.prior_std**2
        noise_precision = 1.0 / self.noise_std**2
        precision = prior_precision + per_row(self._stats.counts, replica) * noise_precision
        mean = (self.prior_mean * prior_precision + per_row(self._stats.sums, replica) * noise_precision) / precision
        return mean, 1.0 / np.sqrt(precision)

    def _posterior_at(self, replica, items):
        """Posterior mean and std of the chosen items' mean reward."""
        mean, std = self.posterior(replica)
        rows = np.arange(items.shape[0])[:, None]
        return mean[rows, items], std[rows, items]

    def _posterior_draws(self, replica, mask):
        mean, std = self.posterior(replica)  # new arrays: later updates do not reach them
        return lambda n, rng: mean + std * rng.standard_normal((n, *mean.shape))

    def _learn(self, rows, arms, reward, kind):
        self._stats.add(rows.replica, arms, reward)
