"""Shared plumbing of the linear contextual agents (LinUCB, LinTS, logistic TS)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banditsim._xp import cholesky
from banditsim.agents._backend import check_backend
from banditsim._blas_threads import one_blas_and_torch_thread as one_blas_thread
from banditsim._principal import principal_directions
from banditsim.agents._linear.design import item_design, user_design
from banditsim.agents._linear.kron_layout import pair_products
from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior
from banditsim.agents._linear.posterior_shared import SharedLinearPosterior
from banditsim.agents._validation import check_choice, check_float, check_int
from banditsim.agents.types import Context

MODES = ("disjoint", "shared")


def row_scale(agent, replica: np.ndarray):
    """The score scale of each row: (B, 1) from ``_score_scale_rows`` where the agent has one
    (a scale per replica, lin_ts's online noise), else the scalar ``_score_scale()``."""
    rows = getattr(agent, "_score_scale_rows", None)
    return agent._score_scale() if rows is None else rows(replica)


class LinearModelMixin:
    """Holds a disjoint (per-arm, on user features) or shared (on user ⊗ item features) posterior.

    The posterior is allocated on first use, when the feature dimension is known.  In shared
    mode the item embeddings are first reduced to their top ``arm_dim`` principal components
    (fitted once, on the first ``arm_features`` seen) so the model stays small.
    ``backend='torch'`` (with ``device`` 'cpu', 'cuda', ...) keeps the posterior in torch
    (``banditsim.agents._backend``); inputs, outputs and random numbers stay numpy.
    """

    n_arms: int
    n_replicas: int

    def _init_linear(self, mode: str, ridge: float, fit_intercept: bool, arm_dim: int | None,
                     backend: str = "numpy", device: str | None = None) -> None:
        self.mode = check_choice("mode", mode, MODES)
        self.backend, self.device = backend, device
        self._backend, self._device = check_backend(backend, device)
        self.ridge = check_float("ridge", ridge, 0.0, low_open=True)
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be a bool, got {fit_intercept!r}")  # noqa: TRY004 (contract)
        self.fit_intercept = bool(fit_intercept)
        self.arm_dim = None if arm_dim is None else check_int("arm_dim", arm_dim, minimum=1)
        self.posterior: DisjointLinearPosterior | SharedLinearPosterior | None = None
        self._arm_projection: tuple[np.ndarray, np.ndarray] | None = None
        self._items_cache: tuple | None = None  # (arm_features object, its copy, z̃)

    def _posterior_for(self, dim: int):
        if self.posterior is None:
            if self.mode == "shared":
                self.posterior = SharedLinearPosterior(self.n_replicas, dim, self.ridge, self._device)
            else:
                self.posterior = DisjointLinearPosterior(self.n_replicas, self.n_arms, dim, self.ridge, self._device)
        elif self.posterior.dim != dim:
            raise ValueError(f"feature dimension changed from {self.posterior.dim} to {dim}")
        return self.posterior

    # ------------------------------------------------------------------ shared-mode features
    def _items(self, rows: Context) -> np.ndarray:
        """Item vectors z̃ (n_arms, dz): PCA-reduced embeddings plus the intercept.

        Cached while the same ``arm_features`` array object comes back (the usual case: one
        catalogue per run), or an equal one; an array edited in place must be passed as a copy.
        """
        if rows.arm_features is None:
            raise ValueError("mode='shared' needs Context.arm_features (item embeddings)")
        z = rows.arm_features
        cache = self._items_cache
        if cache is not None and (cache[0] is z or np.array_equal(cache[1], z)):
            return cache[2]
        raw = z
        if self.arm_dim is not None and self.arm_dim < z.shape[1]:
            if self._arm_projection is None:
                self._arm_projection = principal_directions(z, self.arm_dim)
            center, basis = self._arm_projection
            z = (z - center) @ basis
        items = item_design(z, self.fit_intercept)
        self._items_cache = (raw, raw.copy(), items)
        return items

    def _shared_packed(self, rows: Context, on_device: bool = False) -> tuple:
        """Items z̃, per-row means of u = Wᵀx̃ (B, dz), covariances packed per distinct row
        (U, dz(dz+1)/2) and each row's distinct row (B,) (``SharedLinearPosterior.project_packed``:
        numpy, or on the posterior's device if ``on_device``)."""
        items = self._items(rows)
        x = user_design(rows, self.fit_intercept)
        post = self._posterior_for(x.shape[1] * items.shape[1])
        return (items, *post.project_packed(rows.replica, x, items.shape[1], on_device=on_device))

    def _shared_projection(self, rows: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items, mean_u, packed, inverse = self._shared_packed(rows)
        return items, mean_u, self.posterior.layout(items.shape[1]).unpack(packed)[inverse]

    # ------------------------------------------------------------------ scoring
    def _mean_and_quad(self, rows: Context) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean score and variance factor xᵀΣx (B, n_arms) of every item."""
        with one_blas_thread():
            return self._mean_and_quad_now(rows)

    def _mean_and_quad_now(self, rows: Context) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "disjoint":
            x = user_design(rows, self.fit_intercept)
            return self._posterior_for(x.shape[1]).scores(rows.replica, x)
        items, mean_u, packed, inverse = self._shared_packed(rows)
        quad = (packed @ self._item_pairs(items).T)[inverse]  # z̃ᵀ S_b z̃ for every item: one GEMM per distinct row
        return mean_u @ items.T, np.maximum(quad, 0.0)

    def _item_pairs(self, items: np.ndarray) -> np.ndarray:
        """(n_arms, Pz) products z̃_j z̃_l (j ≤ l, doubled off the diagonal) of the items, kept while
        ``_items`` returns the same array and the posterior the same layout."""
        layout = self.posterior.layout(items.shape[1])
        cache = self.__dict__.get("_item_pairs_cache")
        if cache is None or cache[0] is not items or cache[1] is not layout:
            pairs = pair_products(items, layout.zj, layout.zl) * np.where(layout.zj == layout.zl, 1.0, 2.0)
            cache = self._item_pairs_cache = (items, layout, pairs)
        return cache[2]

    def _independent_gaussian(self, rows: Context) -> tuple[np.ndarray, np.ndarray] | None:
        """Disjoint mode: per-arm independent N(x·μ_a, scale²·xᵀΣ_a x) scores; shared mode: None."""
        if self.mode != "disjoint":
            return None
        mean, quad = self._mean_and_quad(rows)
        return mean, row_scale(self, rows.replica) * np.sqrt(quad)

    def _score_scale(self) -> float:
        raise NotImplementedError

    def _score_sampler(self, rows: Context, scale: float) -> Callable[[int], np.ndarray]:
        """Draws (n, B, n_arms) of φ·θ with θ ~ N(μ, scale²Σ), exact in both modes."""
        if self.mode == "disjoint":
            mean, quad = self._mean_and_quad(rows)
            std = scale * np.sqrt(quad)
            return lambda n: mean + std * self._rng.standard_normal((n, *mean.shape))
        items, mean_u, cov_u = self._shared_projection(rows)
        factor, ok = cholesky(cov_u, relative_jitter=1e-12)
        if not ok:
            raise np.linalg.LinAlgError("the projected posterior covariance is not positive semi-definite")

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
        with one_blas_thread():  # small products: BLAS worker threads cost more than they give
            self._fit_rows_now(rows, arms, weights, target, newton)

    def _fit_rows_now(self, rows, arms, weights, target, newton) -> None:
        if self.mode == "disjoint":
            design = self._chosen_design(rows, arms)
            self._posterior_for(design.shape[-1]).update(rows.replica, arms, design, weights, target, newton)
            return
        x, z = user_design(rows, self.fit_intercept), self._items(rows)[arms]
        post = self._posterior_for(x.shape[1] * z.shape[1])
        post.update_kron(rows.replica, x, z, weights, target, newton)

    def _mean_for(self, rows: Context, arms: np.ndarray) -> np.ndarray:
        """Current model prediction φ·μ for the responded item of each row."""
        design = self._chosen_design(rows, arms)
        post = self._posterior_for(design.shape[-1])
        if self.mode == "disjoint":
            return post.predict(rows.replica, arms, design)
        return post.predict(rows.replica, design)
