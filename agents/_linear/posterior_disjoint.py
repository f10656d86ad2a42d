"""One Gaussian linear model per (replica, arm), kept by Sherman–Morrison/Woodbury/d×d updates.

State (float64, exact): Σ = (λI + Σ_i w_i x_i x_iᵀ)⁻¹, b and μ per pair, in numpy or on a torch
device (written once over the array API: ``banditsim._xp``).  Scoring reads a float32 copy of
Σ's upper triangle (a quarter of the float64 bytes), rewritten only for the pairs an update
touches.  Where float32 rounding could matter (an ill-conditioned Σ, e.g. near-collinear
features) the quadratic form is redone in float64.  Inputs and outputs are numpy arrays.
"""

from __future__ import annotations

import numpy as np

from banditsim._xp import add_at, from_host, is_torch_array, namespace_on, nonnegative, row_dot, take_last, to_host
from banditsim.agents._selection.row_groups import group_pairs

# float32 scoring is trusted when xᵀΣx ≥ _F32_GUARD · (Σ_i |x_i| √Σ_ii)²: its rounding error is
# then ≲ √P·2⁻²⁴/_F32_GUARD ≈ 1e-3 relative (P = packed size); below that, float64 is used.
_F32_GUARD = 2.0**-8
# elements of the largest (pairs, m, m) temporary of one Woodbury chunk (float64: 64 MiB)
_WOODBURY_ELEMENTS = 1 << 23
_ZERO = np.zeros(1, dtype=np.int64)
_ZERO.setflags(write=False)


class DisjointLinearPosterior:
    """One linear model per (replica, arm) on the row's features; ``device`` None keeps it in
    numpy, a torch device string ('cpu', 'cuda', ...) in torch.

    Updates are rank-m updates of the stored covariances, grouped by (replica, arm) and
    zero-padded to the largest group, so any batch is one vectorised step: Woodbury for pairs
    with at most d rows (one row per pair, the usual case, is Sherman–Morrison), the d×d
    precision form for pairs with more.  Only the touched pairs are read or written.

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
    >>> on_torch = DisjointLinearPosterior(n_replicas=1, n_arms=2, dim=2, ridge=1.0, device="cpu")
    >>> on_torch.update(np.array([0, 0]), np.array([1, 1]), X, np.ones(2), np.array([1.0, 2.0]))
    >>> np.allclose(on_torch.mean, post.mean)
    True
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, device: str | None = None) -> None:
        self.n_replicas, self.n_arms, self.dim, self.ridge = n_replicas, n_arms, dim, ridge
        xp, self.device = namespace_on(device)
        self.xp = xp
        f64 = {"dtype": xp.float64, "device": self.device}
        self._b = xp.zeros((n_replicas, n_arms, dim), **f64)
        self._mean = xp.zeros((n_replicas, n_arms, dim), **f64)
        self._cov = xp.zeros((n_replicas, n_arms, dim, dim), **f64)
        diag = self._on_device(np.arange(dim), "int64")
        self._cov[..., diag, diag] = 1.0 / ridge
        iu, ju = np.triu_indices(dim)
        self._lin = self._on_device(iu * dim + ju, "int64")
        self._pack_scale = xp.asarray(np.where(iu == ju, 1.0, 2.0), dtype=xp.float32, device=self.device)
        self.packed = xp.zeros((n_replicas, n_arms, iu.size), dtype=xp.float32, device=self.device)
        self.packed[..., self._on_device(iu == ju, "bool")] = 1.0 / ridge
        self._sd = xp.full((n_replicas, n_arms, dim), float(np.sqrt(1.0 / ridge)), dtype=xp.float32,
                           device=self.device)  # √Σ_ii

    # host (numpy) views of the state: the arrays themselves in numpy, copies from a torch device
    cov = property(lambda self: to_host(self._cov))
    b = property(lambda self: to_host(self._b))
    mean = property(lambda self: to_host(self._mean))

    def _on_device(self, values, dtype: str = "float64"):
        return from_host(values, self._b, dtype)

    # ------------------------------------------------------------------ scoring
    def scores(self, replica: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x·μ_a and xᵀΣ_a x for every row and arm, each (B, n_arms)."""
        xp = self.xp
        n_rows = x.shape[0]
        xd = self._on_device(x)
        x32 = xp.astype(xd, xp.float32)
        outer = take_last(xp.reshape(x32[:, :, None] * x32[:, None, :], (n_rows, -1)), self._lin)
        outer *= self._pack_scale  # x_i x_j counted twice off the diagonal
        absx = xp.abs(x32)
        one = n_rows == 1  # one row: the same branches, decided without array comparisons
        if n_rows == self.n_replicas and (replica.item() == 0 if one else np.array_equal(replica, np.arange(n_rows))):
            packed, mean, sd = self.packed, self._mean, self._sd
        elif not is_torch_array(xd) and (one or np.all(replica == replica[0])):
            # one replica, many rows, in numpy: plain GEMMs (torch keeps its batched products,
            # which round differently)
            r = int(replica[0])
            quad = (outer @ self.packed[r].T).astype(np.float64)
            return self._finish_scores(replica, x, x @ self._mean[r].T, quad, absx @ self._sd[r].T)
        else:
            rep = self._on_device(replica, "int64")
            packed, mean, sd = self.packed[rep], self._mean[rep], self._sd[rep]
        quad = xp.astype(xp.matmul(packed, outer[:, :, None])[:, :, 0], xp.float64)
        bound = xp.matmul(sd, absx[:, :, None])[:, :, 0]
        return self._finish_scores(replica, xd, xp.matmul(mean, xd[:, :, None])[:, :, 0], quad, bound)

    def _finish_scores(self, replica, x, mean, quad, bound):
        """(mean, quad) as numpy, with the quadratic forms float32 cannot resolve redone in float64."""
        xp = self.xp
        bound = xp.astype(bound, xp.float64)
        bb, kk = xp.nonzero(quad < _F32_GUARD * (bound * bound))
        if bb.shape[0]:  # float32 cannot resolve these: redo them from the float64 state
            cov = self._cov[self._on_device(replica, "int64")[bb], kk]
            quad[bb, kk] = xp.einsum("nd,nde,ne->n", x[bb], cov, x[bb])
        return to_host(mean), to_host(nonnegative(quad))

    def predict(self, replica: np.ndarray, arms: np.ndarray, x: np.ndarray) -> np.ndarray:
        """x_b·μ of each row's (replica, arm) model."""
        mean = self._mean[self._on_device(replica, "int64"), self._on_device(arms, "int64")]
        return to_host(self.xp.einsum("bd,bd->b", mean, self._on_device(x)))

    # ------------------------------------------------------------------ learning
    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """Add rows (x_i, w_i) to pair (replica_i, arm_i); ``target`` is y (ridge) or the residual (newton)."""
        xp, d = self.xp, self.dim
        pair = replica * self.n_arms + arms
        if pair.size == 1:  # one row (a single stream): the grouping group_pairs would return
            order = group = slot = _ZERO
            pidx, width = pair, 1
        else:
            order, group, slot, pidx, width = group_pairs(pair)
        n_pairs = pidx.size
        pidx_d, group_d = self._on_device(pidx, "int64"), self._on_device(group, "int64")
        xs = self._on_device(x[order])
        xw = xs * self._on_device(np.sqrt(weights[order]))[:, None]
        flat_cov = xp.reshape(self._cov, (-1, d, d))
        cov = flat_cov[pidx_d]
        if width == 1:  # Sherman–Morrison: Σ −= vvᵀ, v = Σx / √(1 + xᵀΣx)
            u = xp.matmul(cov, xw[:, :, None])[:, :, 0]
            v = u / xp.sqrt(1.0 + row_dot(xw, u))[:, None]
            cov -= v[:, :, None] * v[:, None, :]  # v_i·v_j == v_j·v_i: Σ stays exactly symmetric
        else:
            xm = xp.zeros((n_pairs, width, d), dtype=xp.float64, device=self.device)
            xm[group_d, self._on_device(slot, "int64")] = xw
            cov = self._rank_m(cov, xm, np.bincount(group, minlength=n_pairs))
        flat_cov[pidx_d] = cov
        self._refresh_copies(pidx, cov)
        flat_mean = xp.reshape(self._mean, (-1, d))
        if newton:
            grad = xp.zeros((n_pairs, d), dtype=xp.float64, device=self.device)
            add_at(grad, group_d, xs * self._on_device(target[order])[:, None])
            flat_mean[pidx_d] += xp.matmul(cov, grad[:, :, None])[:, :, 0]
        else:
            flat_b = xp.reshape(self._b, (-1, d))
            contrib = xs * self._on_device((weights * target)[order])[:, None]
            if width == 1:
                flat_b[pidx_d] += contrib
            else:
                add_at(flat_b, pidx_d[group_d], contrib)
            flat_mean[pidx_d] = xp.matmul(cov, flat_b[pidx_d][:, :, None])[:, :, 0]

    def _rank_m(self, cov, xm, counts: np.ndarray):
        """Updated Σ of each pair from its zero-padded rows ``xm`` (P, m, d), ``counts`` rows each, in
        the cheaper form: Woodbury (cubic in the rows) for pairs with at most d rows, the d×d
        precision form (cubic in d) for the others.  ``cov`` is a fresh gather, written in place."""
        big = counts > self.dim
        if not big.any():
            return self._woodbury(cov, xm)
        if big.all():
            return self._precision_form(cov, xm)
        small_d, big_d = (self._on_device(np.flatnonzero(m), "int64") for m in (~big, big))
        cov[small_d] = self._woodbury(cov[small_d], xm[small_d, :int(counts[~big].max())])
        cov[big_d] = self._precision_form(cov[big_d], xm[big_d])
        return cov

    def _precision_form(self, cov, xm):
        """(Σ⁻¹ + XᵀX)⁻¹ = (I + ΣXᵀX)⁻¹Σ for each pair's zero-padded rows ``xm`` (P, m, d)."""
        xp = self.xp
        gram = xp.matmul(xp.matrix_transpose(xm), xm)  # padding rows add nothing
        eye = xp.eye(self.dim, dtype=xp.float64, device=self.device)
        c = xp.linalg.solve(eye + xp.matmul(cov, gram), cov)
        return 0.5 * (c + xp.matrix_transpose(c))

    def _woodbury(self, cov, xm):
        """Σ − U(I + XΣXᵀ)⁻¹Uᵀ with U = ΣXᵀ for each pair's zero-padded rows ``xm`` (P, m, d).

        In numpy each pair's (m × m) system is its own LAPACK solve and each product its own
        GEMM, so the pairs go in chunks of at most ``_WOODBURY_ELEMENTS`` elements per (P, m, m)
        temporary: a batch that touches many pairs needs a bounded amount of memory, with every
        pair's result the same bits as in one batch.  Torch's batched kernels
        round differently with the batch size, so a torch posterior keeps one batch."""
        xp = self.xp
        n_pairs, width, d = xm.shape
        eye = xp.eye(width, dtype=xp.float64, device=self.device)
        step = n_pairs if is_torch_array(cov) else max(1, _WOODBURY_ELEMENTS // (width * max(width, d)))
        parts = []
        for lo in range(0, n_pairs, step):
            c, x = cov[lo:lo + step], xm[lo:lo + step]
            u = xp.matmul(c, xp.matrix_transpose(x))  # (p, d, m)
            c = c - xp.matmul(u, xp.linalg.solve(eye + xp.matmul(x, u), xp.matrix_transpose(u)))
            parts.append(0.5 * (c + xp.matrix_transpose(c)))
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)

    def _refresh_copies(self, pidx: np.ndarray, cov) -> None:
        """Rewrite the float32 scoring copies of the touched pairs only."""
        xp, d = self.xp, self.dim
        pidx_d = self._on_device(pidx, "int64")
        upper = take_last(xp.reshape(cov, (pidx.size, d * d)), self._lin)
        xp.reshape(self.packed, (-1, self._lin.shape[0]))[pidx_d] = xp.astype(upper, xp.float32)
        sd = xp.sqrt(nonnegative(xp.linalg.diagonal(cov)))
        xp.reshape(self._sd, (-1, d))[pidx_d] = xp.astype(sd, xp.float32)
