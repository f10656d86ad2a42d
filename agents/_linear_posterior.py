"""Gaussian posteriors over linear-model weights, batched over replicas (and arms).

Both keep Σ = (λI + Σ_i w_i φ_i φ_iᵀ)⁻¹ (the posterior covariance up to the noise
variance) and the mean μ.  Two mean updates are supported:

* ridge / Bayesian linear regression: b += w·t·φ and μ = Σ b (exact, no drift);
* one Newton step (online Laplace, for logistic models): μ += Σ_new Σ_i φ_i t_i,
  where t_i is the residual y − p.

``DisjointLinearPosterior`` (one model per arm) lives in ``agents._disjoint_posterior``,
``SharedLinearPosterior`` (one model on user ⊗ item features) in ``agents._shared_posterior``.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._disjoint_posterior import DisjointLinearPosterior
from banditsim.agents._shared_posterior import SharedLinearPosterior
from banditsim.agents.types import Context

__all__ = ["DisjointLinearPosterior", "SharedLinearPosterior", "item_design", "user_design"]


def user_design(rows: Context, fit_intercept: bool) -> np.ndarray:
    """Per-row feature vectors for disjoint models: user features (+1), or just [1]."""
    if rows.features is None:
        return np.ones((rows.n_rows, 1))
    if not fit_intercept:
        return rows.features
    return np.concatenate([rows.features, np.ones((rows.n_rows, 1))], axis=1)


def item_design(arm_features: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Item vectors z̃ = [z, 1] (or z) used by the shared model."""
    if not fit_intercept:
        return arm_features
    return np.concatenate([arm_features, np.ones((arm_features.shape[0], 1))], axis=1)
