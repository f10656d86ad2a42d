"""Shared plumbing of the linear contextual agents (LinUCB, LinTS, logistic TS)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents._linear_posterior import (
    DisjointLinearPosterior,
    SharedLinearPosterior,
    item_design,
    user_design,
)
from agents._validation import check_choice, check_float, check_int
from agents.types import Context

MODES = ("disjoint", "shared")


class LinearModelMixin:
    """Holds a disjoint (per-arm, on user features) or shared (on user ⊗ item features) posterior.

    The posterior is allocated on first use, when the feature dimension is known.  In shared
    mode the item embeddings are first reduced to their top ``arm_dim`` principal components
    (fitted once, on the first ``arm_features`` seen) so the model stays small.
    """

    n_arms: int
    n_replicas: int

    def _init_linear(self, mode: str, ridge: float, fit_intercept: bool, arm_dim: int | None) -> None:
        self.mode = check_choice("mode", mode, MODES)
        self.ridge = check_float("ridge", ridge, 0.0, low_open=True)
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be a bool, got {fit_intercept!r}")  # noqa: TRY004 (contract)
        self.fit_intercept = bool(fit_intercept)
        self.arm_dim = None if arm_dim is None else check_int("arm_dim", arm_dim, minimum=1)
        self.posterior: DisjointLinearPosterior | SharedLinearPosterior | None = None
        self._arm_projection: tuple[np.ndarray, np.ndarray] | None = None

    def _posterior_for(self, dim: int):
        if self.posterior is None:
            if self.mode == "disjoint":
                self.posterior = DisjointLinearPosterior(self.n_replicas, self.n_arms, dim, self.ridge)
            else:
                self.posterior = SharedLinearPosterior(self.n_replicas, dim, self.ridge)
        elif self.posterior.dim != dim:
            raise ValueError(f"feature dimension changed from {self.posterior.dim} to {dim}")
        return self.posterior

    # ------------------------------------------------------------------ shared-mode features
    def _items(self, rows: Context) -> np.ndarray:
        """Item vectors z̃ (n_arms, dz): PCA-reduced embeddings plus the intercept."""
        if rows.arm_features is None:
            raise ValueError("mode='shared' needs Context.arm_features (item embeddings)")
        z = rows.arm_features
        if self.arm_dim is not None and self.arm_dim < z.shape[1]:
            if self._arm_projection is None:
                center = z.mean(axis=0)
                _, _, vt = np.linalg.svd(z - center, full_matrices=False)
                self._arm_projection = (center, vt[: self.arm_dim].T)
            center, basis = self._arm_projection
            z = (z - center) @ basis
        return item_design(z, self.fit_intercept)

    def _shared_projection(self, rows: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items = self._items(rows)
        x = user_design(rows, self.fit_intercept) if rows.features is not None else np.ones((rows.n_rows, 1))
        post = self._posterior_for(x.shape[1] * items.shape[1])
        mean_u, cov_u = post.project(rows.replica, x, items.shape[1])
        return items, mean_u, cov_u

    # ------------------------------------------------------------------ scoring
    def _mean_and_quad(self, rows: Context) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean score and variance factor xᵀΣx (B, n_arms) of every item."""
        if self.mode == "disjoint":
            x = user_design(rows, self.fit_intercept)
            return self._posterior_for(x.shape[1]).scores(rows.replica, x)
        items, mean_u, cov_u = self._shared_projection(rows)
        quad = np.einsum("bkj,kj->bk", items @ cov_u, items)
        return mean_u @ items.T, np.maximum(quad, 0.0)

    def _independent_gaussian(self, rows: Context) -> tuple[np.ndarray, np.ndarray] | None:
        """Disjoint mode: per-arm independent N(x·μ_a, scale²·xᵀΣ_a x) scores; shared mode: None."""
        if self.mode != "disjoint":
            return None
        mean, quad = self._mean_and_quad(rows)
        return mean, self._score_scale() * np.sqrt(quad)

    def _score_scale(self) -> float:
        raise NotImplementedError

    def _score_sampler(self, rows: Context, scale: float) -> Callable[[int], np.ndarray]:
        """Draws (n, B, n_arms) of φ·θ with θ ~ N(μ, scale²Σ), exact in both modes."""
        if self.mode == "disjoint":
            mean, quad = self._mean_and_quad(rows)
            std = scale * np.sqrt(quad)
            return lambda n: mean + std * self._rng.standard_normal((n, *mean.shape))
        items, mean_u, cov_u = self._shared_projection(rows)
        jitter = 1e-12 * np.trace(cov_u, axis1=1, axis2=2)[:, None, None] * np.eye(cov_u.shape[1])
        factor = np.linalg.cholesky(cov_u + jitter)

        def draw(n):
            z = self._rng.standard_normal((n, *mean_u.shape))
            u = mean_u + scale * np.einsum("bjl,nbl->nbj", factor, z)
            return u @ items.T

        return draw

    # ------------------------------------------------------------------ learning
    def _chosen_design(self, rows: Context, arms: np.ndarray) -> np.ndarray:
        """Feature vector (B, D) of the responded item of each row."""
        if self.mode == "disjoint":
            return user_design(rows, self.fit_intercept)
        z = self._items(rows)[arms]
        if rows.features is None:
            return z
        x = user_design(rows, self.fit_intercept)
        return (x[:, :, None] * z[:, None, :]).reshape(rows.n_rows, -1)

    def _fit_rows(self, rows: Context, arms: np.ndarray, weights: np.ndarray, target: np.ndarray,
                  newton: bool = False) -> None:
        design = self._chosen_design(rows, arms)
        post = self._posterior_for(design.shape[-1])
        if self.mode == "disjoint":
            post.update(rows.replica, arms, design, weights, target, newton)
        else:
            post.update(rows.replica, design, weights, target, newton)

    def _mean_for(self, rows: Context, arms: np.ndarray) -> np.ndarray:
        """Current model prediction φ·μ for the responded item of each row."""
        design = self._chosen_design(rows, arms)
        post = self._posterior_for(design.shape[-1])
        if self.mode == "disjoint":
            return np.einsum("bd,bd->b", post.mean[rows.replica, arms], design)
        return np.einsum("bd,bd->b", post.mean[rows.replica], design)
