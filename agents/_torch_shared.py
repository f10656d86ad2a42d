"""``SharedLinearPosterior`` in torch (CPU or CUDA): the same state, updates and projections.

Row bookkeeping (grouping by replica, de-duplicating contexts) runs on the host in numpy;
every O(D²)–O(D³) step (pair-product GEMMs, Cholesky, solves, Σ) runs on the device.
Imported only for ``backend='torch'``.
"""

from __future__ import annotations

import numpy as np
import torch

from banditsim.agents._kron_layout import KronLayout
from banditsim.agents._selection.row_groups import distinct_contexts, group_pairs, unique_rows
from banditsim.agents._shared_posterior import _SOLVE_RATIO, UNSTABLE_UPDATE


class TorchSharedPosterior:
    """One linear model per replica on φ = x ⊗ z, as ``SharedLinearPosterior``, in torch.

    Examples
    --------
    >>> post = TorchSharedPosterior(n_replicas=1, dim=4, ridge=1.0, device="cpu")
    >>> x, z = np.array([[1.0, -1.0]]), np.array([[0.5, 2.0]])
    >>> post.update_kron(np.array([0]), x, z, np.ones(1), np.array([1.0]))
    >>> phi = np.kron(x[0], z[0])
    >>> np.allclose(post.mean[0], np.linalg.solve(np.eye(4) + np.outer(phi, phi), phi))
    True
    """

    def __init__(self, n_replicas: int, dim: int, ridge: float, device: str) -> None:
        self.n_replicas, self.dim, self.ridge = n_replicas, dim, ridge
        self.device = torch.device(device)
        kw = {"device": self.device, "dtype": torch.float64}
        eye = torch.eye(dim, **kw)
        self._precision = (ridge * eye).repeat(n_replicas, 1, 1)
        self._chol = (float(np.sqrt(ridge)) * eye).repeat(n_replicas, 1, 1)
        self._b = torch.zeros((n_replicas, dim), **kw)
        self._mean = torch.zeros((n_replicas, dim), **kw)
        self._proj: torch.Tensor | None = None
        self._proj_fresh = np.zeros(n_replicas, dtype=bool)
        self._layout: KronLayout | None = None
        self._idx: dict[str, torch.Tensor] = {}

    precision = property(lambda self: self._precision.cpu().numpy())
    chol = property(lambda self: self._chol.cpu().numpy())
    mean = property(lambda self: self._mean.cpu().numpy())
    b = property(lambda self: self._b.cpu().numpy())

    @property
    def cov(self) -> np.ndarray:
        """Σ = A⁻¹ of every replica (R, D, D), as numpy."""
        return torch.cholesky_inverse(self._chol).cpu().numpy()

    def _tensor(self, a, dtype=torch.float64):
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=self.device)

    def layout(self, item_dim: int) -> KronLayout:
        if self._layout is None or self._layout.dz != item_dim:
            if self.dim % item_dim:
                raise ValueError(f"dim {self.dim} is not a multiple of item_dim {item_dim}")
            lay = self._layout = KronLayout(self.dim // item_dim, item_dim)
            names = ("xi", "xk", "zj", "zl", "zmap", "to_dense", "direct", "swapped", "off")
            self._idx = {n: self._tensor(getattr(lay, n), torch.bool if n == "off" else torch.long) for n in names}
            self._proj, self._proj_fresh[:] = None, False
        return self._layout

    def _pairs(self, v: torch.Tensor, i: str, k: str) -> torch.Tensor:
        return v[:, self._idx[i]] * v[:, self._idx[k]]

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        """(…, Pz) packed symmetric → (…, dz, dz)."""
        return packed[..., self._idx["zmap"]]

    # ------------------------------------------------------------------ scoring
    def project_packed(self, replica: np.ndarray, x: np.ndarray, item_dim: int, dedupe_from: int = 64,
                       as_tensor: bool = False):
        """As ``SharedLinearPosterior.project_packed``; tensors on the device if ``as_tensor``."""
        layout = self.layout(item_dim)
        dx = x.shape[1]
        if dx != layout.dx:
            raise ValueError(f"user design has {dx} columns, expected {layout.dx}")
        replica, x, inverse = distinct_contexts(replica, x, dedupe_from)
        xt, rep = self._tensor(x), self._tensor(replica, torch.long)
        inv = self._tensor(inverse, torch.long)
        mean_u = torch.einsum("bi,bij->bj", xt, self._mean[rep].view(x.shape[0], dx, item_dim))[inv]
        order, _, slot, touched, _ = group_pairs(replica)
        packed = torch.empty((x.shape[0], layout.zj.size), dtype=torch.float64, device=self.device)
        starts = np.flatnonzero(slot == 0)
        for r, lo, hi in zip(touched, starts, np.r_[starts[1:], x.shape[0]]):  # one job per replica
            rows = self._tensor(order[lo:hi], torch.long)
            packed[rows] = self._replica_projection(int(r), xt[rows], layout)
        if as_tensor:
            return mean_u, packed, inv
        return mean_u.cpu().numpy(), packed.cpu().numpy(), inverse

    def _replica_projection(self, r: int, x: torch.Tensor, layout: KronLayout) -> torch.Tensor:
        if not self._proj_fresh[r] and x.shape[0] * layout.dz < _SOLVE_RATIO * self.dim:
            n_rows, dz = x.shape[0], layout.dz
            rhs = torch.zeros((layout.dx, dz, n_rows, dz), dtype=torch.float64, device=self.device)
            ar = torch.arange(dz, device=self.device)
            rhs[:, ar, :, ar] = x.T
            y = torch.linalg.solve_triangular(self._chol[r], rhs.view(self.dim, -1), upper=False)
            y = y.view(self.dim, n_rows, dz)
            return (y[:, :, self._idx["zj"]] * y[:, :, self._idx["zl"]]).sum(dim=0)
        if self._proj is None:
            self._proj = torch.empty((self.n_replicas, layout.xi.size, layout.zj.size), dtype=torch.float64,
                                     device=self.device)
        if not self._proj_fresh[r]:
            flat = torch.cholesky_inverse(self._chol[r]).reshape(-1)
            proj = flat[self._idx["direct"]]
            proj += torch.where(self._idx["off"], flat[self._idx["swapped"]], 0.0)
            self._proj[r] = proj
            self._proj_fresh[r] = True
        return self._pairs(x, "xi", "xk") @ self._proj[r]

    def predict(self, replica: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """φ_b·μ of each row's replica."""
        return torch.einsum("bd,bd->b", self._mean[self._tensor(replica, torch.long)], self._tensor(phi)).cpu().numpy()

    # ------------------------------------------------------------------ learning
    def _gram(self, groups, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        order, group, slot, touched, width = groups
        if touched.size == 1:
            return (a.T @ b)[None]
        pa = torch.zeros((touched.size, width, a.shape[1]), dtype=torch.float64, device=self.device)
        pb = torch.zeros((touched.size, width, b.shape[1]), dtype=torch.float64, device=self.device)
        g, s, o = (self._tensor(v, torch.long) for v in (group, slot, order))
        pa[g, s], pb[g, s] = a[o], b[o]
        return torch.matmul(pa.transpose(1, 2), pb)

    def update(self, replica, phi, weights, target, newton: bool = False) -> None:
        """Add rows (φ_i, w_i) to replica_i's model (dense φ), as ``SharedLinearPosterior.update``."""
        groups = group_pairs(replica)
        phi_t = self._tensor(phi)
        root = phi_t * self._tensor(np.sqrt(weights))[:, None]
        touched = self._tensor(groups[3], torch.long)
        precision = self._precision[touched] + self._gram(groups, root, root)
        vec = self._tensor(target if newton else weights * target)
        self._finish(groups[3], precision, self._gram(groups, phi_t, vec[:, None])[:, :, 0], newton)

    def update_kron(self, replica, x, z, weights, target, newton: bool = False, dedupe_from: int = 64) -> None:
        """Add rows with φ_i = x_i ⊗ z_i, as ``SharedLinearPosterior.update_kron``."""
        layout = self.layout(z.shape[1])
        vec = target if newton else weights * target
        zt = self._tensor(z)
        zz = torch.cat([self._pairs(zt, "zj", "zl") * self._tensor(weights)[:, None], zt * self._tensor(vec)[:, None]],
                       dim=1)
        if x.shape[0] >= dedupe_from:
            first, inverse = unique_rows(np.concatenate([replica[:, None].astype(x.dtype), x], axis=1))
            summed = torch.zeros((first.size, zz.shape[1]), dtype=torch.float64, device=self.device)
            zz = summed.index_add_(0, self._tensor(inverse, torch.long), zz)
            replica, x = replica[first], x[first]
        groups = group_pairs(replica)
        touched = groups[3]
        xt = self._tensor(x)
        n_pairs = layout.zj.size
        gram = self._gram(groups, self._pairs(xt, "xi", "xk"), zz[:, :n_pairs])
        precision = (self._precision[self._tensor(touched, torch.long)]
                     + gram.reshape(touched.size, -1)[:, self._idx["to_dense"]])
        self._finish(touched, precision, self._gram(groups, xt, zz[:, n_pairs:]).reshape(touched.size, -1), newton)

    def _finish(self, touched: np.ndarray, precision: torch.Tensor, increment: torch.Tensor, newton: bool) -> None:
        """As ``SharedLinearPosterior._finish``: commit ``precision`` only once it factors."""
        t = self._tensor(touched, torch.long)
        chol, info = torch.linalg.cholesky_ex(precision)
        if bool((info != 0).any()):
            raise ValueError(UNSTABLE_UPDATE)
        self._precision[t] = precision
        self._chol[t] = chol
        self._proj_fresh[touched] = False
        if newton:
            self._mean[t] += torch.cholesky_solve(increment[:, :, None], self._chol[t])[:, :, 0]
        else:
            self._b[t] += increment
            self._mean[t] = torch.cholesky_solve(self._b[t][:, :, None], self._chol[t])[:, :, 0]
