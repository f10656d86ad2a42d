"""Discounted linear Thompson sampling (D-LinTS) for drifting tastes."""

from __future__ import annotations

from typing import Any, ClassVar

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._linear.thompson_draws import LinearTSDecideMixin
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent
from banditsim.agents._linear.discounted import DiscountedLinearMixin, init_discount


class DiscountedLinTSAgent(DiscountedLinearMixin, LinearTSDecideMixin, LinearModelMixin, SamplingAgent):
    """``lin_ts`` (posterior N(μ, noise_std²·Σ)) on statistics that fade by ``gamma`` per decision step.

    A = ridge·I + Σ γ^(T−s)·φφᵀ and b = Σ γ^(T−s)·y·φ over the rows learned, s each row's decision
    step and T the replica's clock, the newest such step (``banditsim.agents._linear.discounted``,
    ``banditsim.agents._state.step_clock``: rows carry ``feedback.step``; without it each ``update`` call is one
    step); Σ = A⁻¹, μ = Σb; batched, delayed or chunked updates give the same model; sampling and
    propensities as in ``lin_ts``.  ``mode`` 'disjoint' or 'shared'; numpy only.  ``gamma=1`` is
    ``lin_ts`` with the same fixed ``noise_std``: the noise scale stays a number here (default
    0.5), since lin_ts's ``'auto'`` estimate reads undiscounted residual sums, which fading statistics do not keep.

    Examples
    --------
    >>> import numpy as np
    >>> from banditsim.agents import Context, Feedback
    >>> agent = DiscountedLinTSAgent(n_arms=3, gamma=0.95, random_state=0, n_propensity_draws=64)
    >>> agent.update(Context(features=np.eye(3)), np.array([0, 1, 2]), Feedback(reward=[1.0, 0.0, -1.0]))
    >>> d = agent.act(Context(features=np.array([[1.0, 0.0, 0.0]])))
    >>> d.actions.shape, bool(0 < d.propensities[0] <= 1)
    ((1,), True)
    """

    name = "discounted_lin_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32, "gamma": 0.9}

    def __init__(self, n_arms, *, gamma: float = 0.99, noise_std: float = 0.5, mode: str = "disjoint",
                 ridge: float = 1.0, fit_intercept: bool = True, arm_dim: int | None = 16,
                 n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        init_discount(self, gamma)
        self.noise_std = check_float("noise_std", noise_std, 0.0, low_open=True)
        self._init_linear(mode, ridge, fit_intercept, arm_dim)

    def _score_scale(self):
        return self.noise_std

    def _sampler(self, rows):
        return self._score_sampler(rows, self.noise_std)
