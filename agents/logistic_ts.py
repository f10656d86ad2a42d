"""Logistic Thompson sampling with an online Laplace approximation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._linear.thompson_draws import LinearTSDecideMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LogisticTSAgent(LinearTSDecideMixin, LinearModelMixin, SamplingAgent):
    """Thompson sampling for P(positive | x, item) = sigmoid(x·θ) with a Laplace posterior.

    Each response is a binary label: positive when its kind's value (``kind_values``)
    exceeds ``positive_threshold`` if ``feedback.kind`` is given, else when the reward does
    (so skips, dislikes and blocks are all negatives).  The Gaussian posterior N(μ, Σ) is
    updated online: Σ⁻¹ += p(1−p)·xxᵀ (Woodbury) and one Newton step μ += Σ x (y − p),
    with p the current prediction (Chapelle & Li 2011, full-covariance form).  Sampled
    logits are μ·x + exploration·sqrt(xᵀΣx)·ε.  ``mode``, ``backend`` and ``device`` work as
    in LinTS.

    Examples
    --------
    >>> from banditsim.agents import Context, Feedback
    >>> agent = LogisticTSAgent(n_arms=2, random_state=0, n_propensity_draws=32)
    >>> ctx = Context(features=np.ones((4, 1)))
    >>> agent.update(ctx, np.array([0, 0, 1, 1]), Feedback(reward=[1.0, 1.0, -0.1, -1.0], kind=[5, 4, 2, 0]))
    >>> m = agent.posterior.mean[0, :, 0]
    >>> bool(m[0] > 0 > m[1])
    True
    """

    name = "logistic_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32}

    def __init__(self, n_arms, *, exploration: float = 1.0, positive_threshold: float = 0.0,
                 mode: str = "disjoint", ridge: float = 1.0, fit_intercept: bool = True, arm_dim: int | None = 16,
                 backend: str = "numpy", device: str | None = None,
                 n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.exploration = check_float("exploration", exploration, 0.0)
        self.positive_threshold = check_float("positive_threshold", positive_threshold)
        self._init_linear(mode, ridge, fit_intercept, arm_dim, backend, device)

    def _score_scale(self):
        return self.exploration

    def _sampler(self, rows):
        return self._score_sampler(rows, self.exploration)

    def _learn(self, rows, arms, reward, kind):
        value = reward if kind is None else self._kind_values[kind]
        label = (value > self.positive_threshold).astype(np.float64)
        p = sigmoid(self._mean_for(rows, arms))
        weight = np.maximum(p * (1.0 - p), 1e-6)
        self._fit_rows(rows, arms, weight, label - p, newton=True)
