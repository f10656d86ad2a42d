"""Linear Thompson sampling (Bayesian linear regression, Agrawal & Goyal 2013)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._linear.model import LinearModelMixin
from banditsim.agents._linear.thompson_draws import LinearTSDecideMixin
from banditsim.agents._linear.online_noise import OnlineNoise
from banditsim.agents._validation import check_float
from banditsim.agents.base import SamplingAgent


class LinTSAgent(LinearTSDecideMixin, LinearModelMixin, SamplingAgent):
    """Thompson sampling with the posterior N(μ, σ²·Σ), Σ = (ridge·I + XᵀX)⁻¹.

    σ is ``noise_std``: by default ``'auto'``, estimated online per replica from the ridge fit's
    residuals (``banditsim.agents._linear.online_noise``: 5 pseudo-observations at 0.5, then the data), so a problem
    with little noise is not explored as if it had σ = 0.5; a number fixes it.

    ``mode='disjoint'`` (default): independent per-arm models on the user features [x, 1].
    The arms' posteriors are independent, so the sampled score x·θ_a is drawn exactly as
    x·μ_a + noise_std·sqrt(xᵀΣ_a x)·ε_a — the same distribution as sampling θ_a, at the
    cost of one quadratic form per arm (Σ_a kept by Sherman–Morrison/Woodbury updates).
    Its propensity is the quadrature of ``banditsim.agents._propensity.gaussian_win`` (no random numbers).
    ``mode='shared'``: one model on [x, 1] ⊗ [z_item, 1] (needs arm features, reduced to their
    top ``arm_dim`` principal components; scores items never shown).  The precision is
    refactored exactly (one Cholesky per update call, never per row); a row's item scores
    are z̃·u with u = Wᵀx̃ drawn exactly through the Cholesky factor of its small (dz × dz)
    covariance, and propensities are Monte-Carlo estimates from ``n_propensity_draws``
    more draws (``banditsim.agents._linear.thompson_draws``).  Sampling goes through Cholesky factors, which
    are unique (unlike eigen/SVD square roots), so a seed gives the same draws on any BLAS
    up to rounding.  ``backend='torch'`` with ``device`` ('cpu', 'cuda', ...) keeps the
    posterior math in torch (``banditsim.agents._backend``): same random stream, same decisions.

    Examples
    --------
    >>> from banditsim.agents import Context, Feedback
    >>> agent = LinTSAgent(n_arms=3, random_state=0, n_propensity_draws=64)
    >>> ctx = Context(features=np.eye(3))
    >>> agent.update(ctx, np.array([0, 1, 2]), Feedback(reward=[1.0, 0.0, -1.0]))
    >>> d = agent.act(Context(features=np.array([[1.0, 0.0, 0.0]])))
    >>> d.actions.shape, bool(0 < d.propensities[0] <= 1)
    ((1,), True)
    """

    name = "lin_ts"
    test_params: ClassVar[dict[str, Any]] = {"n_propensity_draws": 32}

    def __init__(self, n_arms, *, noise_std: float | str = "auto", mode: str = "disjoint", ridge: float = 1.0,
                 fit_intercept: bool = True, arm_dim: int | None = 16,
                 backend: str = "numpy", device: str | None = None, n_propensity_draws: int = 256, **kwargs):
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.noise_std = "auto" if noise_std == "auto" else check_float("noise_std", noise_std, 0.0, low_open=True)
        self._init_linear(mode, ridge, fit_intercept, arm_dim, backend, device)
        self._noise = OnlineNoise(self.n_replicas)

    def noise_scale(self) -> np.ndarray:
        """The noise standard deviation each replica samples with, (n_replicas,): ``noise_std``, or
        with ``noise_std='auto'`` its online estimate (``banditsim.agents._linear.online_noise``)."""
        if self.noise_std != "auto":
            return np.full(self.n_replicas, self.noise_std)
        return self._noise.scale(self.posterior, self.ridge)

    def _score_scale(self):
        if self.noise_std == "auto":
            raise TypeError("lin_ts with noise_std='auto' has one scale per replica: use _score_scale_rows")
        return self.noise_std

    def _score_scale_rows(self, replica: np.ndarray) -> np.ndarray:
        """(B, 1) noise scale of each row's replica."""
        return self.noise_scale()[replica][:, None]

    def _sampler(self, rows):
        return self._score_sampler(rows, self._score_scale_rows(rows.replica))

    def _learn(self, rows, arms, reward, kind):
        self._fit_rows(rows, arms, np.ones_like(reward), reward)
        self._noise.observe(rows.replica, reward)
