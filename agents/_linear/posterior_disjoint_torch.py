"""``DisjointLinearPosterior`` in torch (CPU or CUDA): the same state, updates and scores.

Inputs and outputs are numpy arrays (the agent's decisions stay on the host); the state
(float64 Σ, b, μ and the float32 scoring copy) lives on the device.  Imported only for
``backend='torch'``.
"""

from __future__ import annotations

import numpy as np
import torch

from banditsim.agents._linear.posterior_disjoint import _F32_GUARD
from banditsim.agents._selection.row_groups import group_pairs


class TorchDisjointPosterior:
    """One linear model per (replica, arm), Sherman–Morrison/Woodbury updates in torch.

    Examples
    --------
    >>> post = TorchDisjointPosterior(n_replicas=1, n_arms=2, dim=2, ridge=1.0, device="cpu")
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> post.update(np.array([0, 0]), np.array([1, 1]), X, np.ones(2), np.array([1.0, 2.0]))
    >>> np.allclose(post.mean[0, 1], np.linalg.solve(np.eye(2) + X.T @ X, X.T @ [1.0, 2.0]))
    True
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, device: str) -> None:
        self.n_replicas, self.n_arms, self.dim, self.ridge = n_replicas, n_arms, dim, ridge
        self.device = torch.device(device)
        kw = {"device": self.device, "dtype": torch.float64}
        diag = torch.arange(dim, device=self.device)
        self._cov = torch.zeros((n_replicas, n_arms, dim, dim), **kw)
        self._cov[..., diag, diag] = 1.0 / ridge
        self._b = torch.zeros((n_replicas, n_arms, dim), **kw)
        self._mean = torch.zeros((n_replicas, n_arms, dim), **kw)
        iu, ju = np.triu_indices(dim)
        self._lin = torch.as_tensor(iu * dim + ju, device=self.device)
        self._pack_scale = torch.as_tensor(np.where(iu == ju, 1.0, 2.0), dtype=torch.float32, device=self.device)
        self._packed = torch.zeros((n_replicas, n_arms, iu.size), dtype=torch.float32, device=self.device)
        self._packed[..., torch.as_tensor(iu == ju, device=self.device)] = 1.0 / ridge
        self._sd = torch.full((n_replicas, n_arms, dim), float(np.sqrt(1.0 / ridge)), dtype=torch.float32,
                              device=self.device)

    # numpy views of the state (copies from the device), for inspection and tests
    cov = property(lambda self: self._cov.cpu().numpy())
    mean = property(lambda self: self._mean.cpu().numpy())
    b = property(lambda self: self._b.cpu().numpy())

    def _tensor(self, a, dtype=torch.float64):
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=self.device)

    def scores(self, replica: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x·μ_a and xᵀΣ_a x for every row and arm, each (B, n_arms), as numpy."""
        n_rows = x.shape[0]
        xt = self._tensor(x)
        x32 = xt.float()
        outer = (x32[:, :, None] * x32[:, None, :]).reshape(n_rows, -1)[:, self._lin] * self._pack_scale
        absx = x32.abs()
        rep = self._tensor(replica, torch.long)
        if n_rows == self.n_replicas and np.array_equal(replica, np.arange(n_rows)):
            packed, means, sd = self._packed, self._mean, self._sd
        else:
            packed, means, sd = self._packed[rep], self._mean[rep], self._sd[rep]
        quad = torch.matmul(packed, outer[:, :, None])[:, :, 0].double()
        mean = torch.matmul(means, xt[:, :, None])[:, :, 0]
        bound = torch.matmul(sd, absx[:, :, None])[:, :, 0].double()
        bb, kk = torch.nonzero(quad < _F32_GUARD * bound * bound, as_tuple=True)
        if bb.numel():  # float32 cannot resolve these: redo them from the float64 state
            cov = self._cov[rep[bb], kk]
            quad[bb, kk] = torch.einsum("nd,nde,ne->n", xt[bb], cov, xt[bb])
        return mean.cpu().numpy(), quad.clamp_(min=0.0).cpu().numpy()

    def predict(self, replica: np.ndarray, arms: np.ndarray, x: np.ndarray) -> np.ndarray:
        """x_b·μ of each row's (replica, arm) model."""
        mean = self._mean[self._tensor(replica, torch.long), self._tensor(arms, torch.long)]
        return torch.einsum("bd,bd->b", mean, self._tensor(x)).cpu().numpy()

    def update(self, replica, arms, x, weights, target, newton: bool = False) -> None:
        """Add rows (x_i, w_i) to pair (replica_i, arm_i), as ``DisjointLinearPosterior.update``."""
        d = self.dim
        order, group, slot, pidx, width = group_pairs(replica * self.n_arms + arms)
        n_pairs = pidx.size
        pidx_t = self._tensor(pidx, torch.long)
        xs = self._tensor(x[order])
        xw = xs * self._tensor(np.sqrt(weights[order]))[:, None]
        flat_cov = self._cov.view(-1, d, d)
        cov = flat_cov[pidx_t]
        if width == 1:
            u = torch.matmul(cov, xw[:, :, None])[:, :, 0]
            v = u / torch.sqrt(1.0 + (xw * u).sum(dim=1))[:, None]
            cov -= v[:, :, None] * v[:, None, :]
        else:
            xm = torch.zeros((n_pairs, width, d), dtype=torch.float64, device=self.device)
            xm[self._tensor(group, torch.long), self._tensor(slot, torch.long)] = xw
            u = torch.matmul(cov, xm.transpose(1, 2))
            inner = torch.eye(width, dtype=torch.float64, device=self.device) + torch.matmul(xm, u)
            cov = cov - torch.matmul(u, torch.linalg.solve(inner, u.transpose(1, 2)))
            cov = 0.5 * (cov + cov.transpose(1, 2))
        flat_cov[pidx_t] = cov
        self._packed.view(-1, self._lin.numel())[pidx_t] = cov.reshape(n_pairs, -1)[:, self._lin].float()
        self._sd.view(-1, d)[pidx_t] = torch.diagonal(cov, dim1=1, dim2=2).clamp(min=0.0).sqrt().float()
        flat_mean = self._mean.view(-1, d)
        group_t = self._tensor(group, torch.long)
        if newton:
            grad = torch.zeros((n_pairs, d), dtype=torch.float64, device=self.device)
            grad.index_add_(0, group_t, xs * self._tensor(target[order])[:, None])
            flat_mean[pidx_t] += torch.matmul(cov, grad[:, :, None])[:, :, 0]
        else:
            flat_b = self._b.view(-1, d)
            flat_b.index_add_(0, pidx_t[group_t], xs * self._tensor((weights * target)[order])[:, None])
            flat_mean[pidx_t] = torch.matmul(cov, flat_b[pidx_t][:, :, None])[:, :, 0]
