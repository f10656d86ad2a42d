"""Gaussian posteriors over linear-model weights, batched over replicas (and arms).

Both keep Σ = (λI + Σ_i w_i φ_i φ_iᵀ)⁻¹ (the posterior covariance up to the noise
variance) and the mean μ.  Two mean updates are supported:

* ridge / Bayesian linear regression: b += w·t·φ and μ = Σ b (exact, no drift);
* one Newton step (online Laplace, for logistic models): μ += Σ_new Σ_i φ_i t_i,
  where t_i is the residual y − p.
"""

from __future__ import annotations

import numpy as np

from agents.types import Context


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


def _symmetrize(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


class DisjointLinearPosterior:
    """One linear model per (replica, arm) on the row's features.

    Updates are rank-m Woodbury updates of the stored covariances, grouped by
    (replica, arm) and zero-padded to the largest group, so any batch is one vectorised
    step (a single row per pair is the Sherman–Morrison case).  Scoring needs xᵀΣ_a x for
    every arm, which reads every covariance once per decision: it uses a float32 copy of
    the upper triangles (off-diagonals doubled), a quarter of the float64 bytes; ``cov``
    (float64) stays the exact state.

    Examples
    --------
    >>> post = DisjointLinearPosterior(n_replicas=1, n_arms=2, dim=2, ridge=1.0)
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> post.update(np.array([0, 0]), np.array([1, 1]), X, np.ones(2), np.array([1.0, 2.0]))
    >>> np.allclose(post.mean[0, 1], np.linalg.solve(np.eye(2) + X.T @ X, X.T @ [1.0, 2.0]))
    True
    >>> mean, quad = post.scores(np.array([0]), np.array([[1.0, 1.0]]))
    >>> np.allclose(quad[0, 1], [1, 1] @ post.cov[0, 1] @ [1, 1])
    True
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float) -> None:
        self.n_arms, self.dim, self.ridge = n_arms, dim, ridge
        self.cov = np.zeros((n_replicas, n_arms, dim, dim))
        self.cov[..., np.arange(dim), np.arange(dim)] = 1.0 / ridge
        self.b = np.zeros((n_replicas, n_arms, dim))
        self.mean = np.zeros((n_replicas, n_arms, dim))
        self._iu, self._ju = np.triu_indices(dim)
        self._scratch: dict[str, np.ndarray] = {}
        self._lin = self._iu * dim + self._ju
        self._pack_scale = np.where(self._iu == self._ju, 1.0, 2.0)
        self.packed = np.ascontiguousarray(
            np.broadcast_to(self._pack(self.cov[0, :1]), (n_replicas, n_arms, self._iu.size))
        )

    def _buffer(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """A reused scratch array: fresh multi-megabyte temporaries cost page faults every step."""
        size = int(np.prod(shape))
        buf = self._scratch.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._scratch[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)

    def _pack(self, cov: np.ndarray) -> np.ndarray:
        flat = cov.reshape(-1, self.dim * self.dim)
        packed = self._buffer("pack64", (flat.shape[0], self._lin.size))
        np.take(flat, self._lin, axis=1, out=packed)
        packed *= self._pack_scale
        out = self._buffer("pack32", packed.shape, np.float32)
        np.copyto(out, packed, casting="same_kind")
        return out.reshape(*cov.shape[:-2], self._lin.size)

    def scores(self, replica: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x·μ_a and xᵀΣ_a x for every row and arm, each (B, n_arms)."""
        n_rows = x.shape[0]
        x32 = x.astype(np.float32)
        outer = self._buffer("outer", (n_rows, self._iu.size), np.float32)  # (B, P)
        np.multiply(np.take(x32, self._iu, axis=1), np.take(x32, self._ju, axis=1), out=outer)
        if np.all(replica == replica[0]):
            r = int(replica[0])
            mean = x @ self.mean[r].T
            quad = (self.packed[r] @ outer.T).T
        else:
            same = n_rows == self.cov.shape[0] and np.array_equal(replica, np.arange(n_rows))
            packed = self.packed if same else self.packed[replica]
            means = self.mean if same else self.mean[replica]
            mean = np.einsum("bkd,bd->bk", means, x)
            quad = np.matmul(packed, outer[:, :, None])[:, :, 0]
        return mean, np.maximum(quad, 0.0, dtype=np.float64)

    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """Add rows (x_i, w_i) to pair (replica_i, arm_i); ``target`` is y (ridge) or the residual (newton)."""
        d = self.dim
        pair = replica * self.n_arms + arms
        order = np.argsort(pair, kind="stable")
        sorted_pair = pair[order]
        new = np.empty(pair.size, dtype=bool)
        new[0] = True
        new[1:] = sorted_pair[1:] != sorted_pair[:-1]
        group = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        slot = np.arange(pair.size) - first[group]
        n_pairs, width = first.size, int(slot.max()) + 1
        pidx = sorted_pair[first]
        flat_cov = self.cov.reshape(-1, d, d)
        flat_mean = self.mean.reshape(-1, d)
        xs = x[order]
        cov = np.take(flat_cov, pidx, axis=0, out=self._buffer("cov", (n_pairs, d, d)))
        if width == 1:  # Sherman–Morrison: one row per pair, symmetric by construction
            xw = xs * np.sqrt(weights[order])[:, None]
            u = np.matmul(cov, xw[:, :, None])[:, :, 0]
            denom = 1.0 + np.einsum("pd,pd->p", xw, u)
            step = np.multiply(u[:, :, None], (u / denom[:, None])[:, None, :],
                               out=self._buffer("step", (n_pairs, d, d)))
            np.subtract(cov, step, out=cov)  # in place: fresh big temporaries cost page faults
        else:
            xw = np.zeros((n_pairs, width, d))
            xw[group, slot] = xs * np.sqrt(weights[order])[:, None]
            u = np.matmul(cov, np.swapaxes(xw, 1, 2))  # (P, d, m)
            inner = np.eye(width) + np.matmul(xw, u)  # (P, m, m)
            cov = _symmetrize(cov - np.matmul(u, np.linalg.solve(inner, np.swapaxes(u, 1, 2))))
        flat_cov[pidx] = cov
        self.packed.reshape(-1, self._lin.size)[pidx] = self._pack(cov)
        if newton:
            grad = np.zeros((n_pairs, d))
            np.add.at(grad, group, xs * target[order][:, None])
            flat_mean[pidx] += np.matmul(cov, grad[:, :, None])[:, :, 0]
        else:
            flat_b = self.b.reshape(-1, d)
            np.add.at(flat_b, pidx[group], xs * (weights * target)[order][:, None])
            flat_mean[pidx] = np.matmul(cov, flat_b[pidx][:, :, None])[:, :, 0]


class SharedLinearPosterior:
    """One linear model per replica on pair features φ = x̃ ⊗ z̃ (user ⊗ item).

    Keeps the precision A = λI + Σ w φφᵀ; after each update the touched replicas are
    refactored exactly through a Cholesky factor (Σ = A⁻¹), so results are reproducible
    and free of drift.

    Examples
    --------
    >>> post = SharedLinearPosterior(n_replicas=1, dim=2, ridge=2.0)
    >>> phi = np.array([[1.0, 2.0]])
    >>> post.update(np.array([0]), phi, np.ones(1), np.array([3.0]))
    >>> np.allclose(post.mean[0], np.linalg.solve(2 * np.eye(2) + phi.T @ phi, phi.T @ [3.0]))
    True
    """

    def __init__(self, n_replicas: int, dim: int, ridge: float) -> None:
        self.dim, self.ridge = dim, ridge
        eye = np.eye(dim)
        self.precision = np.broadcast_to(ridge * eye, (n_replicas, dim, dim)).copy()
        self.cov = np.broadcast_to(eye / ridge, (n_replicas, dim, dim)).copy()
        self.b = np.zeros((n_replicas, dim))
        self.mean = np.zeros((n_replicas, dim))

    def project(self, replica: np.ndarray, x: np.ndarray, item_dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of u_b = W ᵀx_b where θ = vec(W), W of shape (dim // item_dim, item_dim).

        A pair's feature is φ = x ⊗ z, so its score is φ·θ = u_b·z: u_b is Gaussian with mean
        Mᵀx_b and covariance S_b = Σ_ik x_i x_k Σ[i, :, k, :].  Returns (B, dz) means and
        (B, dz, dz) covariances, so every item is scored without forming (B, n_arms, D) features.
        """
        n_rows, dx = x.shape
        dz = item_dim
        if np.all(replica == replica[0]):
            r = int(replica[0])
            half = (x @ self.cov[r].reshape(dx, dz * dx * dz)).reshape(n_rows, dz, dx, dz)  # BLAS
            s = np.einsum("bk,bjkl->bjl", x, half)
            mean = x @ self.mean[r].reshape(dx, dz)
        else:
            cov4 = self.cov[replica].reshape(n_rows, dx, dz, dx, dz)
            s = np.einsum("bi,bk,bijkl->bjl", x, x, cov4, optimize=True)
            mean = np.einsum("bi,bij->bj", x, self.mean[replica].reshape(n_rows, dx, dz))
        return mean, _symmetrize(s)

    def update(self, replica, phi, weights, target, newton: bool = False) -> None:
        """Add rows (φ_i, w_i) to replica_i's model and refactor the touched replicas."""
        touched, group = np.unique(replica, return_inverse=True)
        order = np.argsort(group, kind="stable")
        counts = np.bincount(group)
        slot = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
        padded = np.zeros((touched.size, int(counts.max()), self.dim))  # rows grouped by replica
        padded[group[order], slot] = phi[order] * np.sqrt(weights[order])[:, None]
        self.precision[touched] += np.matmul(np.swapaxes(padded, 1, 2), padded)
        chol = np.linalg.cholesky(self.precision[touched])
        inv_chol = np.linalg.solve(chol, np.broadcast_to(np.eye(self.dim), chol.shape))
        cov = _symmetrize(np.swapaxes(inv_chol, 1, 2) @ inv_chol)
        self.cov[touched] = cov
        if newton:
            grad = np.zeros_like(self.mean)
            np.add.at(grad, replica, phi * target[:, None])
            self.mean[touched] += np.einsum("pde,pe->pd", cov, grad[touched])
        else:
            np.add.at(self.b, replica, phi * (weights * target)[:, None])
            self.mean[touched] = np.einsum("pde,pe->pd", cov, self.b[touched])
