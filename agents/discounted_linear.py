"""Exponentially weighted ridge statistics for the discounted linear agents (D-LinUCB, D-LinTS).

The rule, per replica and per step (one ``update`` call, ``agents._step_clock``)::

    A ← γ·A + (1 − γ)·λI + Σ_rows w·φφᵀ        b ← γ·b + Σ_rows w·y·φ

so after steps 1..t, A = λI + Σ_s γ^(t−s) Σ_{rows of s} φφᵀ and b = Σ_s γ^(t−s) Σ y·φ: data of age
a steps weighs γ^a, the ridge λI never fades (A stays ≥ λI, well conditioned), and the posterior
is Σ = A⁻¹, μ = Σb as in ``linucb``/``lin_ts``.  Russac, Vernade & Cappé (2019, D-LinUCB) weight
the data the same way; their width also uses a second matrix, Σ γ^(2(t−s)) φφᵀ + λI, which is not
used here: the width is LinUCB's sqrt(φᵀA⁻¹φ) (and LinTS samples N(μ, noise_std²·A⁻¹)).
γ = 1 leaves A and b as the stationary agents build them (same code path, same numbers).

Disjoint mode keeps A next to the stationary posterior's Σ: a step ages and updates A and b of
every arm of the replicas in it, then inverts them (all of them changed).  Shared mode ages the
precision, refactors its Cholesky factor, then adds the rows as ``SharedLinearPosterior`` does.
"""

from __future__ import annotations

import numpy as np

from agents._disjoint_posterior import DisjointLinearPosterior
from agents._shared_posterior import SharedLinearPosterior
from agents._step_clock import StepClock, check_gamma


class DiscountedDisjointPosterior(DisjointLinearPosterior):
    """``DisjointLinearPosterior`` whose update first ages every arm of the replicas it touches.

    With γ < 1 it keeps the precisions A and, per update call, forms for those replicas
    A ← γA + (1 − γ)λI + Σ w·xxᵀ and b ← γb + Σ w·y·x, then Σ = A⁻¹ and μ = Σb for every arm
    (all of them aged); γ = 1 is the stationary update itself (Sherman–Morrison/Woodbury).
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, gamma: float) -> None:
        super().__init__(n_replicas, n_arms, dim, ridge)
        self.gamma = gamma
        self.precision = np.zeros((n_replicas, n_arms, dim, dim))
        self.precision[..., np.arange(dim), np.arange(dim)] = ridge

    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """One step of the replicas in ``replica``: age them, add the rows (ridge targets only)."""
        if self.gamma == 1.0:
            super().update(replica, arms, x, weights, target, newton)
            return
        if newton:
            raise ValueError("discounted posteriors take ridge targets only")
        d, gamma = self.dim, self.gamma
        replicas, group = np.unique(replica, return_inverse=True)
        group = group.reshape(-1)
        precision = gamma * self.precision[replicas]
        precision[..., np.arange(d), np.arange(d)] += (1.0 - gamma) * self.ridge
        b = gamma * self.b[replicas]
        root = x * np.sqrt(weights)[:, None]
        np.add.at(precision, (group, arms), root[:, :, None] * root[:, None, :])
        np.add.at(b, (group, arms), x * (weights * target)[:, None])
        cov = np.linalg.inv(precision)
        cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        self.precision[replicas] = precision
        self.b[replicas] = b
        self.cov[replicas] = cov
        self.mean[replicas] = np.matmul(cov, b[..., None])[..., 0]
        pidx = (replicas[:, None] * self.n_arms + np.arange(self.n_arms)).reshape(-1)
        self._refresh_copies(pidx, cov.reshape(-1, d, d))


def decay_shared(post: SharedLinearPosterior, replicas: np.ndarray, gamma: float) -> None:
    """Age ``replicas`` of a shared posterior one step: A ← γA + (1 − γ)λI, b ← γb, refactor."""
    d = post.dim
    precision = gamma * post.precision[replicas]
    precision[..., np.arange(d), np.arange(d)] += (1.0 - gamma) * post.ridge
    chol = np.linalg.cholesky(precision)  # γA + (1 − γ)λI ≥ λI: always positive definite
    post.precision[replicas] = precision
    post.chol[replicas] = chol
    post.b[replicas] *= gamma
    post.mean[replicas] = post._solve(replicas, post.b[replicas])
    post._cov_fresh[replicas] = False
    post._proj_fresh[replicas] = False


class DiscountedLinearMixin(StepClock):
    """Discounting for ``LinearModelMixin`` agents (numpy backend): see the module docstring."""

    gamma: float

    def _posterior_for(self, dim: int):
        if self.posterior is None and self.mode == "disjoint":
            self.posterior = DiscountedDisjointPosterior(self.n_replicas, self.n_arms, dim, self.ridge, self.gamma)
        return super()._posterior_for(dim)

    def _advance(self, replicas):
        """Shared mode: age ``replicas`` (disjoint mode ages inside its posterior's update)."""
        if self.gamma != 1.0:
            decay_shared(self.posterior, replicas, self.gamma)

    def _learn(self, rows, arms, reward, kind):
        post = self._posterior_for(self._chosen_design(rows, arms).shape[-1])  # refuses a new dimension first
        if self.mode == "disjoint":
            self._fit_rows(rows, arms, np.ones_like(reward), reward)
            return
        keys = ("precision", "chol", "b", "mean")
        reps = np.unique(rows.replica)
        saved = [getattr(post, k)[reps].copy() for k in keys]
        self._start_step(rows.replica)
        try:
            self._fit_rows(rows, arms, np.ones_like(reward), reward)
        except ValueError:  # refused (not positive definite): the agent stays as it was, ageing included
            for key, value in zip(keys, saved):
                getattr(post, key)[reps] = value
            raise


def init_discount(agent, gamma) -> None:
    """Validate and set ``agent.gamma``."""
    agent.gamma = check_gamma(gamma)
