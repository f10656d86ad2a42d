"""One Gaussian linear model per (replica, arm), kept by Sherman–Morrison/Woodbury updates.

State (float64, exact): Σ = (λI + Σ_i w_i x_i x_iᵀ)⁻¹, b and μ per pair.  Scoring reads a
float32 copy of Σ's upper triangle (a quarter of the float64 bytes),
rewritten only for the pairs an update touches.  Where float32 rounding could matter (an
ill-conditioned Σ, e.g. near-collinear features) the quadratic form is redone in float64.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._selection.row_groups import group_pairs
from banditsim.agents._state.scratch import Scratch

# float32 scoring is trusted when xᵀΣx ≥ _F32_GUARD · (Σ_i |x_i| √Σ_ii)²: its rounding error is
# then ≲ √P·2⁻²⁴/_F32_GUARD ≈ 1e-3 relative (P = packed size); below that, float64 is used.
_F32_GUARD = 2.0**-8
_ZERO = np.zeros(1, dtype=np.int64)
_ZERO.setflags(write=False)


class DisjointLinearPosterior:
    """One linear model per (replica, arm) on the row's features.

    Updates are rank-m Woodbury updates of the stored covariances, grouped by (replica, arm)
    and zero-padded to the largest group, so any batch is one vectorised step (one row per
    pair, the usual case, is Sherman–Morrison).  Only the touched pairs are read or written.

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
        self.n_replicas, self.n_arms, self.dim, self.ridge = n_replicas, n_arms, dim, ridge
        self.cov = np.zeros((n_replicas, n_arms, dim, dim))
        self.cov[..., np.arange(dim), np.arange(dim)] = 1.0 / ridge
        self.b = np.zeros((n_replicas, n_arms, dim))
        self.mean = np.zeros((n_replicas, n_arms, dim))
        self._iu, self._ju = np.triu_indices(dim)
        self._lin = self._iu * dim + self._ju
        self._pack_scale = np.where(self._iu == self._ju, 1.0, 2.0).astype(np.float32)
        self.packed = np.zeros((n_replicas, n_arms, self._lin.size), dtype=np.float32)
        self.packed[..., self._iu == self._ju] = 1.0 / ridge
        self._sd = np.full((n_replicas, n_arms, dim), np.sqrt(1.0 / ridge), dtype=np.float32)  # √Σ_ii
        self._scratch = Scratch()

    def _buffer(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        return self._scratch.buffer(name, shape, dtype)

    # ------------------------------------------------------------------ scoring
    def scores(self, replica: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x·μ_a and xᵀΣ_a x for every row and arm, each (B, n_arms)."""
        n_rows = x.shape[0]
        x32 = x.astype(np.float32)
        full = np.multiply(x32[:, :, None], x32[:, None, :], out=self._buffer("full", (n_rows, self.dim, self.dim),
                                                                             np.float32))
        outer = np.take(full.reshape(n_rows, -1), self._lin, axis=1, mode="clip",  # mode: unbuffered
                        out=self._buffer("outer", (n_rows, self._lin.size), np.float32))
        outer *= self._pack_scale  # x_i x_j counted twice off the diagonal
        absx = np.abs(x32)
        one = n_rows == 1  # one row: the same branches, decided without array comparisons
        if n_rows == self.n_replicas and (replica.item() == 0 if one else np.array_equal(replica, np.arange(n_rows))):
            quad = np.matmul(self.packed, outer[:, :, None])[:, :, 0]
            mean = np.matmul(self.mean, x[:, :, None])[:, :, 0]
            bound = np.matmul(self._sd, absx[:, :, None])[:, :, 0]
        elif one or np.all(replica == replica[0]):  # one replica, many rows: plain GEMMs
            r = int(replica[0])
            quad = outer @ self.packed[r].T
            mean = x @ self.mean[r].T
            bound = absx @ self._sd[r].T
        else:
            quad = np.matmul(self.packed[replica], outer[:, :, None])[:, :, 0]
            mean = np.matmul(self.mean[replica], x[:, :, None])[:, :, 0]
            bound = np.matmul(self._sd[replica], absx[:, :, None])[:, :, 0]
        quad = quad.astype(np.float64)
        bb, kk = np.nonzero(quad < _F32_GUARD * np.square(bound, dtype=np.float64))
        if bb.size:  # float32 cannot resolve these: redo them from the float64 state
            cov = self.cov[replica[bb], kk]
            quad[bb, kk] = np.einsum("nd,nde,ne->n", x[bb], cov, x[bb])
        return mean, np.maximum(quad, 0.0, out=quad)

    def predict(self, replica: np.ndarray, arms: np.ndarray, x: np.ndarray) -> np.ndarray:
        """x_b·μ of each row's (replica, arm) model."""
        return np.einsum("bd,bd->b", self.mean[replica, arms], x)

    # ------------------------------------------------------------------ learning
    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """Add rows (x_i, w_i) to pair (replica_i, arm_i); ``target`` is y (ridge) or the residual (newton)."""
        d = self.dim
        pair = replica * self.n_arms + arms
        if pair.size == 1:  # one row (a single stream): the grouping group_pairs would return
            order = group = slot = _ZERO
            pidx, width = pair, 1
        else:
            order, group, slot, pidx, width = group_pairs(pair)
        n_pairs = pidx.size
        flat_cov = self.cov.reshape(-1, d, d)
        xs = x[order]
        xw = xs * np.sqrt(weights[order])[:, None]
        cov = np.take(flat_cov, pidx, axis=0, mode="clip", out=self._buffer("cov", (n_pairs, d, d)))
        if width == 1:  # Sherman–Morrison: Σ −= vvᵀ, v = Σx / √(1 + xᵀΣx)
            u = np.matmul(cov, xw[:, :, None])[:, :, 0]
            v = u / np.sqrt(1.0 + np.einsum("pd,pd->p", xw, u))[:, None]
            step = np.multiply(v[:, :, None], v[:, None, :], out=self._buffer("step", (n_pairs, d, d)))
            np.subtract(cov, step, out=cov)  # v_i·v_j == v_j·v_i: Σ stays exactly symmetric
        else:
            xm = np.zeros((n_pairs, width, d))
            xm[group, slot] = xw
            u = np.matmul(cov, np.swapaxes(xm, 1, 2))  # (P, d, m)
            inner = np.eye(width) + np.matmul(xm, u)  # (P, m, m)
            cov -= np.matmul(u, np.linalg.solve(inner, np.swapaxes(u, 1, 2)))
            cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        flat_cov[pidx] = cov
        self._refresh_copies(pidx, cov)
        flat_mean = self.mean.reshape(-1, d)
        if newton:
            grad = np.zeros((n_pairs, d))
            np.add.at(grad, group, xs * target[order][:, None])
            flat_mean[pidx] += np.matmul(cov, grad[:, :, None])[:, :, 0]
        else:
            flat_b = self.b.reshape(-1, d)
            contrib = xs * (weights * target)[order][:, None]
            if width == 1:
                flat_b[pidx] += contrib
            else:
                np.add.at(flat_b, pidx[group], contrib)
            flat_mean[pidx] = np.matmul(cov, flat_b[pidx][:, :, None])[:, :, 0]

    def _refresh_copies(self, pidx: np.ndarray, cov: np.ndarray) -> None:
        """Rewrite the float32 scoring copies of the touched pairs only."""
        d = self.dim
        upper = np.take(cov.reshape(-1, d * d), self._lin, axis=1, mode="clip",  # mode: no buffering
                        out=self._buffer("upper", (pidx.size, self._lin.size)))
        upper32 = self._buffer("upper32", upper.shape, np.float32)
        np.copyto(upper32, upper, casting="same_kind")
        self.packed.reshape(-1, self._lin.size)[pidx] = upper32
        diag = np.diagonal(cov, axis1=1, axis2=2)
        self._sd.reshape(-1, d)[pidx] = np.sqrt(np.maximum(diag, 0.0))
