"""One Gaussian linear model per replica on pair features φ = x ⊗ z (user ⊗ item).

State (float64): the precision A = λI + Σ w φφᵀ, its lower Cholesky factor L (refactored
once per update call, never per row), b and μ = A⁻¹b (two triangular solves).  Σ = A⁻¹ is
formed (LAPACK ``potri``) only when a large batch is projected; small batches solve with L.
A batch's precision increment Σ_b w x_b x_bᵀ ⊗ z_b z_bᵀ is one GEMM of the symmetric
pair products (x_i x_k for i ≤ k) × (z_j z_l for j ≤ l), 4× fewer flops than ΦᵀΦ.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from banditsim.agents._kron_layout import KronLayout, pair_products
from banditsim.agents._selection.row_groups import distinct_contexts, group_pairs, segment_sum, unique_rows

UNSTABLE_UPDATE = ("update refused: the posterior precision would not be positive definite in float64 "
                   "(features or rewards too large for this model; rescale them); the agent is unchanged")

# a batch of B rows of one replica is projected with Σ (one potri, D³·2/3 flops) when
# B·dz·D² (solves with L) would cost more
_SOLVE_RATIO = 2.0 / 3.0


def _grouped_gram(groups, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_rows a_rowᵀ b_row per group of ``group_pairs`` (G, p, q): one GEMM, or a padded batch."""
    order, group, slot, touched, width = groups
    if touched.size == 1:
        return (a.T @ b)[None]
    pa = np.zeros((touched.size, width, a.shape[1]))
    pb = np.zeros((touched.size, width, b.shape[1]))
    pa[group, slot], pb[group, slot] = a[order], b[order]
    return np.matmul(np.swapaxes(pa, 1, 2), pb)


class SharedLinearPosterior:
    """One linear model per replica on pair features φ = x ⊗ z.

    Examples
    --------
    >>> post = SharedLinearPosterior(n_replicas=1, dim=2, ridge=2.0)
    >>> phi = np.array([[1.0, 2.0]])
    >>> post.update(np.array([0]), phi, np.ones(1), np.array([3.0]))
    >>> np.allclose(post.mean[0], np.linalg.solve(2 * np.eye(2) + phi.T @ phi, phi.T @ [3.0]))
    True
    >>> x, z = np.array([[1.0, -1.0]]), np.array([[0.5, 2.0]])
    >>> post = SharedLinearPosterior(n_replicas=1, dim=4, ridge=1.0)
    >>> post.update_kron(np.array([0]), x, z, np.ones(1), np.array([1.0]))
    >>> mean_u, s_u = post.project(np.array([0]), x, item_dim=2)  # u = Wᵀx ~ N(mean_u, s_u)
    >>> phi = np.kron(x[0], z[0])
    >>> bool(np.isclose(z[0] @ s_u[0] @ z[0], phi @ post.cov[0] @ phi))
    True
    """

    def __init__(self, n_replicas: int, dim: int, ridge: float) -> None:
        self.n_replicas, self.dim, self.ridge = n_replicas, dim, ridge
        eye = np.eye(dim)
        self.precision = np.broadcast_to(ridge * eye, (n_replicas, dim, dim)).copy()
        self.chol = np.broadcast_to(np.sqrt(ridge) * eye, (n_replicas, dim, dim)).copy()
        self.b = np.zeros((n_replicas, dim))
        self.mean = np.zeros((n_replicas, dim))
        self._cov: np.ndarray | None = None
        self._cov_fresh = np.zeros(n_replicas, dtype=bool)
        self._cov_full = np.zeros(n_replicas, dtype=bool)  # upper triangle filled in too
        self._proj: np.ndarray | None = None
        self._proj_fresh = np.zeros(n_replicas, dtype=bool)
        self._layout: KronLayout | None = None

    # ------------------------------------------------------------------ derived state
    @property
    def cov(self) -> np.ndarray:
        """Σ = A⁻¹ of every replica (R, D, D), refreshed where stale."""
        return self._covariances(np.arange(self.n_replicas))

    def _covariances(self, replicas: np.ndarray, lower_only: bool = False) -> np.ndarray:
        """Σ of the stale ``replicas`` from L (LAPACK potri, one call each); ``lower_only``
        leaves the upper triangles unset (for readers of the lower triangle)."""
        if self._cov is None:
            self._cov = np.empty_like(self.precision)
        for r in replicas[~self._cov_fresh[replicas]]:
            inv, info = lapack.dpotri(self.chol[r], lower=1)
            if info:
                raise np.linalg.LinAlgError(f"potri failed ({info})")
            self._cov[r] = inv  # lower triangle; the upper one holds L's zeros
            self._cov_fresh[r] = True
            self._cov_full[r] = False
        if not lower_only:
            for r in replicas[~self._cov_full[replicas]]:
                upper = np.triu_indices(self.dim, 1)
                self._cov[r][upper] = self._cov[r].T[upper]  # exactly symmetric
                self._cov_full[r] = True
        return self._cov

    def layout(self, item_dim: int) -> KronLayout:
        if self._layout is None or self._layout.dz != item_dim:
            if self.dim % item_dim:
                raise ValueError(f"dim {self.dim} is not a multiple of item_dim {item_dim}")
            self._layout = KronLayout(self.dim // item_dim, item_dim)
            self._proj, self._proj_fresh[:] = None, False
        return self._layout

    def _projections(self, replicas: np.ndarray, layout: KronLayout) -> np.ndarray:
        if self._proj is None:
            self._proj = np.empty((self.n_replicas, layout.xi.size, layout.zj.size))
        stale = replicas[~self._proj_fresh[replicas]]
        if stale.size:
            self._proj[stale] = layout.from_dense(self._covariances(stale, lower_only=True)[stale], lower_only=True)
            self._proj_fresh[stale] = True
        return self._proj

    # ------------------------------------------------------------------ scoring
    def project(self, replica: np.ndarray, x: np.ndarray, item_dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Posterior of u_b = Wᵀx_b (θ = vec(W)): means (B, dz) and covariances S_b (B, dz, dz).

        φ = x ⊗ z scores φ·θ = u_b·z, so u_b ~ N(Mᵀx_b, S_b) with S_b = M_bᵀΣM_b, M_b = x_b ⊗ I.
        """
        mean_u, packed, inverse = self.project_packed(replica, x, item_dim)
        return mean_u, self._layout.unpack(packed)[inverse]

    def project_packed(self, replica: np.ndarray, x: np.ndarray, item_dim: int,
                       dedupe_from: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Means (B, dz), S packed over item pairs j ≤ l for each distinct (replica, x) row (U, Pz),
        and the distinct row of every row (B,).  Batches of ``dedupe_from`` rows or more are
        deduplicated first (users drawn from a population share contexts)."""
        layout = self.layout(item_dim)
        dx = x.shape[1]
        if dx != layout.dx:
            raise ValueError(f"user design has {dx} columns, expected {layout.dx}")
        replica, x, inverse = distinct_contexts(replica, x, dedupe_from)
        mean_u = np.einsum("bi,bij->bj", x, self.mean[replica].reshape(x.shape[0], dx, item_dim))
        order, _, slot, touched, _ = group_pairs(replica)
        if touched.size == 1:
            return mean_u[inverse], self._replica_projection(int(touched[0]), x, layout), inverse
        packed = np.empty((x.shape[0], layout.zj.size))
        starts = np.flatnonzero(slot == 0)
        for r, lo, hi in zip(touched, starts, np.r_[starts[1:], x.shape[0]]):  # one BLAS/LAPACK job per replica
            rows = order[lo:hi]
            packed[rows] = self._replica_projection(int(r), x[rows], layout)
        return mean_u[inverse], packed, inverse

    def _replica_projection(self, r: int, x: np.ndarray, layout: KronLayout) -> np.ndarray:
        """Packed S_b of rows x of replica r: solves with L for few rows, else one GEMM with C(Σ)."""
        if not self._proj_fresh[r] and x.shape[0] * layout.dz < _SOLVE_RATIO * self.dim:
            return self._solve_projection(r, x, layout)
        proj = self._projections(np.array([r]), layout)[r]
        return pair_products(x, layout.xi, layout.xk) @ proj

    def _solve_projection(self, r: int, x: np.ndarray, layout: KronLayout) -> np.ndarray:
        """Packed S_b from Y = L⁻¹M (M = [x_b ⊗ I]): S_b = Y_bᵀY_b, without forming Σ."""
        n_rows, dz = x.shape[0], layout.dz
        rhs = np.zeros((layout.dx, dz, n_rows, dz))
        rhs[:, np.arange(dz), :, np.arange(dz)] = x.T  # M[(i, j), (b, l)] = x_bi δ_jl
        y, info = lapack.dtrtrs(self.chol[r], rhs.reshape(self.dim, -1), lower=1)
        if info:
            raise np.linalg.LinAlgError(f"trtrs failed ({info})")
        y = y.reshape(self.dim, n_rows, dz)
        return np.einsum("dbq,dbq->bq", y[:, :, layout.zj], y[:, :, layout.zl])

    def predict(self, replica: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """φ_b·μ of each row's replica."""
        return np.einsum("bd,bd->b", self.mean[replica], phi)

    # ------------------------------------------------------------------ learning
    def update(self, replica, phi, weights, target, newton: bool = False) -> None:
        """Add rows (φ_i, w_i) to replica_i's model (dense φ; see ``update_kron``).

        ``target`` is y (ridge: b += w·y·φ) or the residual (newton: μ += Σ_new Σ_i φ_i t_i).
        """
        groups = group_pairs(replica)
        root = phi * np.sqrt(weights)[:, None]
        precision = self.precision[groups[3]] + _grouped_gram(groups, root, root)
        vec = target if newton else weights * target
        self._finish(groups[3], precision, _grouped_gram(groups, phi, vec[:, None])[:, :, 0], newton)

    def update_kron(self, replica, x, z, weights, target, newton: bool = False,
                    dedupe_from: int = 64) -> None:
        """As ``update`` with φ_i = x_i ⊗ z_i, never forming φ: the precision increment is one
        GEMM of pair products per replica, the b increment one Xᵀ diag(w·y) Z.  Rows sharing
        (replica, x) are summed first (Σ_b x_b x_bᵀ ⊗ w_b z_b z_bᵀ = x xᵀ ⊗ Σ_b w_b z_b z_bᵀ)."""
        layout = self.layout(z.shape[1])
        vec = target if newton else weights * target
        zp = pair_products(z, layout.zj, layout.zl)
        zz = np.concatenate([zp * weights[:, None], z * vec[:, None]], axis=1)
        if x.shape[0] >= dedupe_from:
            first, inverse = unique_rows(np.concatenate([replica[:, None].astype(x.dtype), x], axis=1))
            zz = segment_sum(zz, inverse, first.size)  # per distinct row, in first's order
            replica, x = replica[first], x[first]
        groups = group_pairs(replica)
        touched = groups[3]
        n_pairs = zp.shape[1]
        gram = _grouped_gram(groups, pair_products(x, layout.xi, layout.xk), zz[:, :n_pairs])
        precision = self.precision[touched] + np.take(gram.reshape(touched.size, -1), layout.to_dense, axis=1)
        self._finish(touched, precision, _grouped_gram(groups, x, zz[:, n_pairs:]).reshape(touched.size, -1), newton)

    def _finish(self, touched: np.ndarray, precision: np.ndarray, increment: np.ndarray, newton: bool) -> None:
        """Commit the touched replicas' new ``precision`` once its Cholesky factor exists (else
        ``ValueError``, nothing changed); ridge: b += increment, μ = A⁻¹b; newton: μ += A⁻¹ increment."""
        try:
            chol = np.linalg.cholesky(precision)
        except np.linalg.LinAlgError:
            raise ValueError(UNSTABLE_UPDATE) from None
        self.precision[touched] = precision
        self.chol[touched] = chol
        self._cov_fresh[touched] = False
        self._proj_fresh[touched] = False
        if newton:
            self.mean[touched] += self._solve(touched, increment)
        else:
            self.b[touched] += increment
            self.mean[touched] = self._solve(touched, self.b[touched])

    def _solve(self, touched: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """A⁻¹ rhs per touched replica through its Cholesky factor (LAPACK potrs)."""
        out = np.empty_like(rhs)
        for n, r in enumerate(touched):
            out[n], info = lapack.dpotrs(self.chol[r], rhs[n], lower=1)
            if info:
                raise np.linalg.LinAlgError(f"potrs failed ({info})")
        return out
