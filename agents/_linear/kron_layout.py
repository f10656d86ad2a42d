"""Index maps for pair features φ = x ⊗ z: symmetric pair products and their dense layout.

With θ = vec(W), W of shape (dx, dz), φ·θ = xᵀWz.  Symmetric quantities of x ⊗ z are
handled through the products x_i x_k (i ≤ k) and z_j z_l (j ≤ l): Σ_b x_b x_bᵀ ⊗ z_b z_bᵀ is
one GEMM of those products, and S_b = M_bᵀΣM_b (M_b = x_b ⊗ I) one GEMM with a gathered Σ.
The maps are numpy arrays; ``KronLayout.like`` copies them onto a torch device, and the
functions work on arrays of either kind.
"""

from __future__ import annotations

import numpy as np

from banditsim._xp import from_host, namespace, take_last

_INDEX_NAMES = ("xi", "xk", "zj", "zl", "zmap", "to_dense", "direct", "swapped")


def sym_pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle pairs (i ≤ k) of n and the (n, n) map to their packed index."""
    iu, ju = np.triu_indices(n)
    index = np.empty((n, n), dtype=np.intp)
    index[iu, ju] = index[ju, iu] = np.arange(iu.size)
    return iu, ju, index


def pair_products(v, iu, ju):
    """(B, P) products v_i v_k over the pairs (iu, ju)."""
    out = take_last(v, iu)
    out *= take_last(v, ju)
    return out


class KronLayout:
    """Index maps between θ = vec(W) (W of shape (dx, dz)) and packed pair products.

    ``to_dense`` maps a (Px × Pz) matrix G of Σ_b (x_i x_k)(z_j z_l) to the dense (D, D)
    increment; ``from_dense`` gathers C with S_b = unpack(xpairs_b @ C) = M_bᵀ Σ M_b.

    Examples
    --------
    >>> lay = KronLayout(dx=2, dz=3)
    >>> rng = np.random.default_rng(0)
    >>> x, z = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    >>> phi = (x[:, :, None] * z[:, None, :]).reshape(5, 6)
    >>> gram = pair_products(x, lay.xi, lay.xk).T @ pair_products(z, lay.zj, lay.zl)
    >>> np.allclose(gram.ravel()[lay.to_dense], phi.T @ phi)
    True
    >>> cov = np.linalg.inv(np.eye(6) + phi.T @ phi)
    >>> s = lay.unpack(pair_products(x[:1], lay.xi, lay.xk) @ lay.from_dense(cov))[0]
    >>> m = np.kron(x[0][:, None], np.eye(3))
    >>> np.allclose(s, m.T @ cov @ m)
    True
    """

    def __init__(self, dx: int, dz: int) -> None:
        self.dx, self.dz = dx, dz
        self.xi, self.xk, xmap = sym_pairs(dx)
        self.zj, self.zl, self.zmap = sym_pairs(dz)
        i, j = np.divmod(np.arange(dx * dz), dz)
        self.to_dense = (xmap[i[:, None], i[None, :]] * self.zj.size + self.zmap[j[:, None], j[None, :]])
        d = dx * dz
        row = self.xi[:, None] * dz + self.zj[None, :]  # (Px, Pz): Σ[(i, j), (k, l)] ...
        col = self.xk[:, None] * dz + self.zl[None, :]
        swap_row = self.xk[:, None] * dz + self.zj[None, :]  # ... + Σ[(k, j), (i, l)] when i < k
        swap_col = self.xi[:, None] * dz + self.zl[None, :]
        self.direct = row * d + col
        self.swapped = swap_row * d + swap_col
        self.off = (self.xi != self.xk)[:, None]

    def like(self, array) -> KronLayout:
        """This layout with its maps as arrays of ``array``'s kind (on its torch device; numpy: itself)."""
        moved = object.__new__(KronLayout)
        moved.dx, moved.dz = self.dx, self.dz
        for name in _INDEX_NAMES:
            setattr(moved, name, from_host(getattr(self, name), array, "int64"))
        moved.off = from_host(self.off, array, "bool")
        return moved

    def from_dense(self, cov):
        """C (…, Px, Pz) of exactly symmetric covariances (…, D, D)."""
        xp = namespace(cov)
        flat = xp.reshape(cov, (*cov.shape[:-2], -1))
        c = take_last(flat, self.direct)
        c += xp.where(self.off, take_last(flat, self.swapped), 0.0)
        return c

    def unpack(self, packed):
        """(…, Pz) packed symmetric → (…, dz, dz), exactly symmetric."""
        return take_last(packed, self.zmap)
