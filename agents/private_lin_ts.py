"""Jointly differentially private linear Thompson sampling (tree-based aggregation)."""

from __future__ import annotations

from typing import Any, ClassVar

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._linear.thompson_draws import LinearTSDecideMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent
from banditsim.agents._private.linear import PrivateLinearMixin


class PrivateLinTSAgent(PrivateLinearMixin, LinearTSDecideMixin, LinearModelMixin, SamplingAgent):
    """``lin_ts`` (disjoint) learning only from tree-mechanism releases: (ε, δ)-jointly DP.

    The guarantee, its neighbouring relation, the noise σ, the regulariser shift and the
    clipping (‖x‖ ≤ 1, |y| ≤ 1) are stated in ``banditsim.agents._private.linear``.  ``epsilon`` > 0 and
    ``delta`` in (0, 1) are the budget of the whole run, per replica; ``horizon`` sets the
    tree (1 + ⌈log₂ horizon⌉ levels; more steps start new trees, same guarantee).  Scores
    x·θ with θ ~ N(μ, noise_std²·Σ), Σ = (G̃ + (ridge + shift)·I)⁻¹, μ = Σũ.

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Context, Feedback
    >>> agent = PrivateLinTSAgent(n_arms=3, epsilon=5.0, random_state=0, n_propensity_draws=32)
    >>> agent.update(Context(features=np.eye(3)), np.array([0, 1, 2]), Feedback(reward=[1.0, 0.0, -1.0]))
    >>> d = agent.act(Context(features=np.array([[1.0, 0.0, 0.0]])))
    >>> d.actions.shape, bool(0 < d.propensities[0] <= 1)
    ((1,), True)
    """

    name = "private_lin_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "epsilon": 2.0}

    def __init__(self, n_arms, *, epsilon: float = 1.0, delta: float = 1e-5, horizon: int = 1024,
                 noise_std: float = 0.5, ridge: float = 1.0, fit_intercept: bool = True,
                 n_propensity_draws: int = 256, feature_bound: float = 1.0,
                 reward_bound: float = 1.0, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.noise_std = check_float("noise_std", noise_std, 0.0, low_open=True)
        self._init_private(epsilon, delta, horizon, ridge, fit_intercept, feature_bound, reward_bound)

    def _score_scale(self):
        return self.noise_std

    def _sampler(self, rows):
        return self._score_sampler(rows, self.noise_std)
