"""Exponentially weighted ridge statistics for the discounted linear agents (D-LinUCB, D-LinTS).

Time is each replica's clock, the decision step of the newest answer it learned
(``banditsim.agents._state.step_clock``: rows carry their decision steps in ``feedback.step``, else each
``update`` call is one step).  When an update moves a replica's clock by k steps and brings rows
decided a_i steps before the new clock::

    A ← γ^k·A + (1 − γ^k)·λI + Σ_i γ^(a_i)·φ_iφ_iᵀ        b ← γ^k·b + Σ_i γ^(a_i)·y_i·φ_i

so at clock T, A = λI + Σ γ^(T−s) φφᵀ and b = Σ γ^(T−s) y·φ over the rows learned (s their
decision steps), however they were batched, delayed or chunked: data of age a decision steps
weighs γ^a, the ridge λI never fades (A stays ≥ λI, well conditioned), and the posterior is
Σ = A⁻¹, μ = Σb as in ``linucb``/``lin_ts``.  Russac, Vernade & Cappé (2019, D-LinUCB) weight
the data the same way; their width also uses a second matrix, Σ γ^(2(t−s)) φφᵀ + λI, which is not
used here: the width is LinUCB's sqrt(φᵀA⁻¹φ) (and LinTS samples N(μ, noise_std²·A⁻¹)).
γ = 1 leaves A and b as the stationary agents build them (same code path, same numbers).

Disjoint mode keeps A next to the stationary posterior's Σ: an update ages A and b of every arm
of the replicas in it, adds the rows, then inverts them all (all of them changed).  Shared mode
ages the precision, refactors its Cholesky factor (``SharedLinearPosterior.decay``), then adds the
rows as ``SharedLinearPosterior`` does.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior
from banditsim.agents._state.step_clock import StepClock, check_gamma


class DiscountedDisjointPosterior(DisjointLinearPosterior):
    """``DisjointLinearPosterior`` that keeps the precisions A to age them (``age``).

    With γ < 1, ``age`` forms A ← fA + (1 − f)λI and b ← fb for some replicas (f = γ^k), and the
    ``update`` that must follow for the same replicas adds Σ w·xxᵀ and Σ w·y·x (w = γ^age of each
    row), then sets Σ = A⁻¹ and μ = Σb for every arm of them (all aged); γ = 1 is the stationary
    update itself (Sherman–Morrison/Woodbury).
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, gamma: float) -> None:
        super().__init__(n_replicas, n_arms, dim, ridge)
        self.gamma = gamma
        self.precision = np.zeros((n_replicas, n_arms, dim, dim))
        self.precision[..., np.arange(dim), np.arange(dim)] = ridge

    def age(self, replicas: np.ndarray, factor: np.ndarray) -> None:
        """A ← fA + (1 − f)λI, b ← fb for ``replicas`` (distinct) with factors ``factor``; Σ and μ
        are refreshed by the ``update`` of the same replicas that follows."""
        d = self.dim
        precision = factor[:, None, None, None] * self.precision[replicas]
        precision[..., np.arange(d), np.arange(d)] += ((1.0 - factor) * self.ridge)[:, None, None]
        self.precision[replicas] = precision
        self.b[replicas] = factor[:, None, None] * self.b[replicas]

    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """Add the rows (ridge targets only) to the (aged) replicas in ``replica``; refresh Σ, μ."""
        if self.gamma == 1.0:
            super().update(replica, arms, x, weights, target, newton)
            return
        if newton:
            raise ValueError("discounted posteriors take ridge targets only")
        d = self.dim
        replicas, group = np.unique(replica, return_inverse=True)
        group = group.reshape(-1)
        precision = self.precision[replicas]
        b = self.b[replicas]
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


class DiscountedLinearMixin(StepClock):
    """Discounting for ``LinearModelMixin`` agents (numpy backend): see the module docstring."""

    gamma: float

    def _posterior_for(self, dim: int):
        if self.posterior is None and self.mode == "disjoint":
            self.posterior = DiscountedDisjointPosterior(self.n_replicas, self.n_arms, dim, self.ridge, self.gamma)
        return super()._posterior_for(dim)

    def _advance(self, replicas, elapsed):
        """Age ``replicas`` by γ^elapsed (disjoint: A and b, inverted by the update that follows)."""
        if self.gamma == 1.0:
            return
        factor = self.gamma ** elapsed
        if self.mode == "disjoint":
            self.posterior.age(replicas, factor)
        else:
            self.posterior.decay(replicas, factor)

    def _learn(self, rows, arms, reward, kind):
        post = self._posterior_for(self._chosen_design(rows, arms).shape[-1])  # refuses a new dimension first
        if self.mode == "disjoint":
            self._fit_rows(rows, arms, self.gamma ** self._start_step(rows.replica), reward)
            return
        keys = ("precision", "chol", "b", "mean")
        reps = np.unique(rows.replica)
        saved = [getattr(post, k)[reps].copy() for k in keys]
        clock = self.clock[reps].copy()
        try:
            self._fit_rows(rows, arms, self.gamma ** self._start_step(rows.replica), reward)
        except ValueError:  # refused (not positive definite): the agent stays as it was, ageing included
            for key, value in zip(keys, saved):
                getattr(post, key)[reps] = value
            self.clock[reps] = clock
            raise


def init_discount(agent, gamma) -> None:
    """Validate and set ``agent.gamma``."""
    agent.gamma = check_gamma(gamma)
