"""The B slots' taste vectors θ, stored as scale × direction so a drift step is one sparse axpy.

θ_r = m_r·v_r. The drift step θ ← (θ + η·x_j + γ·u)/n (u a fixed direction, γ per row, n the
factor that keeps θ unit: see :mod:`banditsim.envs.world.drift_update`) becomes v ← v + (η/m)·x_j + (γ/m)·u
and m ← m/n: a single in-place pass over the drifting rows (a CSR product accumulated into v
on numpy, ``index_add_`` on torch), with no division pass over v and nothing done for rows
that do not drift. Rows whose scale falls below 2⁻²⁰ are folded back (v ← m·v, m ← 1), so v
stays far from float32 overflow. Results equal the normalised update up to float rounding.
"""

from __future__ import annotations

import numpy as np

try:  # fused sparse × dense accumulate (Y += A·X), the kernel behind scipy's CSR products
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private scipy API moved: fall back to numpy
    _csr_matvecs = None

_CHUNK = 256  # rows per block in the dot-product pass (a block of v and of gathered x rows fit in L2)
_FOLD = 2.0 ** -20


class TasteRows:
    """(B, d) tastes θ = m·v on a :class:`banditsim.envs.backend.Backend`.

    Examples
    --------
    >>> from banditsim.envs.backend import Backend
    >>> x = np.eye(3, dtype=np.float32)
    >>> t = TasteRows(Backend("numpy"), 2, 3)
    >>> t.set_rows(np.arange(2), x[:2])
    >>> t.pull(np.array([1]), x, np.array([0]), 1.0, np.sqrt(np.float32(2)))
    >>> np.round(t.get(), 3).tolist()
    [[1.0, 0.0, 0.0], [0.707, 0.707, 0.0]]
    >>> np.round(t.dot_items(x, np.array([0, 0])), 3).tolist()
    [1.0, 0.707]
    """

    def __init__(self, be, b: int, d: int):
        self.be = be
        self.v = be.zeros((b, d), "float32")
        self.m = be.zeros(b, "float32") + 1.0

    def set_rows(self, rows, theta) -> None:
        """θ[rows] ← theta (unit rows)."""
        self.v[rows] = theta
        self.m[rows] = 1.0

    def get(self, rows=None):
        """θ (all rows, or backend index array ``rows``) as a fresh array."""
        be = self.be
        if rows is None:
            return self.v * self.m[:, None]
        return be.take_rows(self.v, rows) * be.take_rows(self.m, rows)[:, None]

    def times(self, rows, mat):
        """θ[rows] @ mat for backend index array ``rows`` (mat: (d, k))."""
        be = self.be
        return (be.take_rows(self.v, rows) @ mat) * be.take_rows(self.m, rows)[:, None]

    def dot_items(self, x, items):
        """(B,) θ_r·x_{items_r} for every row (in blocks of rows; ``items`` a backend index array)."""
        be, v = self.be, self.v
        b = v.shape[0]
        if be.name != "numpy":
            return (v * x.index_select(0, items)).sum(1) * self.m
        out = np.empty(b, dtype=np.float32)
        for lo in range(0, b, _CHUNK):
            hi = min(lo + _CHUNK, b)
            out[lo:hi] = _rowdot(v[lo:hi], x.take(items[lo:hi], axis=0))
        out *= self.m
        return out

    def dot_items_many(self, x, items_list, u=None):
        """:meth:`dot_items` of several (B,) backend index arrays, plus θ·``u`` of every row when
        ``u`` (d,) is given (the numbers of :meth:`dot_vector`), in one pass over θ: each block of
        rows is read once for all of them. Same kernel per pair, so the same numbers as apart."""
        be, v = self.be, self.v
        b = v.shape[0]
        if be.name != "numpy":
            out = [(v * x.index_select(0, it)).sum(1) * self.m for it in items_list]
            if u is not None:
                out.append(be.rowdot(v, u[None, :] + 0 * v) * self.m)
            return out
        out = [np.empty(b, dtype=np.float32) for _ in range(len(items_list) + (u is not None))]
        u2 = None if u is None else u[None, :]
        for lo in range(0, b, _CHUNK):
            hi = min(lo + _CHUNK, b)
            vb = v[lo:hi]
            for o, it in zip(out, items_list):
                o[lo:hi] = _rowdot(vb, x.take(it[lo:hi], axis=0))
            if u2 is not None:
                out[-1][lo:hi] = _rowdot(vb, u2)
        for o in out:
            o *= self.m
        return out

    def dot_pairs(self, x, rows, items):
        """θ_{rows}·x_{items} for backend index arrays of the same shape."""
        be = self.be
        shape = tuple(items.shape)
        r, j = rows.reshape(-1), items.reshape(-1)
        d = be.rowdot(be.take_rows(self.v, r), be.take_rows(x, j))
        return (d * be.take(self.m, r)).reshape(shape)

    def dot_vector(self, rows, u):
        """θ[rows]·u for one vector ``u`` (d,), by the per-pair kernel of :meth:`dot_pairs`: a
        row's value does not depend on which other rows share the call."""
        be = self.be
        vr = be.take_rows(self.v, rows)
        if be.name == "numpy":  # the same per-pair kernel, u broadcast (no (m, d) copies of u)
            return _rowdot(vr, u[None, :]) * self.m.take(rows)
        return be.rowdot(vr, u[None, :] + 0 * vr) * be.take(self.m, rows)

    def pull(self, rows, x, items, eta: float, norm, u=None, gamma=None) -> None:
        """θ[rows] ← (θ + eta·x[items] + gamma·u) / norm; ``rows`` sorted and unique (backend
        index arrays); ``u`` (d,) and ``gamma`` (len(rows),) backend float32, or None (no u term).

        ``norm`` (len(rows),) must be ‖θ + eta·x_j + gamma·u‖ (the caller knows it from θ·x_j).
        """
        be, v, m = self.be, self.v, self.m
        mr = be.take(m, rows)
        coef = eta / mr
        if be.name == "numpy":
            b, d = v.shape
            if _csr_matvecs is not None and v.flags.c_contiguous and x.flags.c_contiguous:
                indptr = np.zeros(b + 1, dtype=np.int64)
                indptr[rows + 1] = 1
                np.cumsum(indptr, out=indptr)
                _csr_matvecs(b, x.shape[0], d, indptr, np.asarray(items, dtype=np.int64),
                             coef.astype(np.float32), x.reshape(-1), v.reshape(-1))
                if u is not None:  # + (gamma/m)·u: the same product with a one-row matrix
                    _csr_matvecs(b, 1, d, indptr, np.zeros(len(rows), dtype=np.int64),
                                 (gamma / mr).astype(np.float32), np.ascontiguousarray(u, dtype=np.float32),
                                 v.reshape(-1))
            else:
                add = coef[:, None] * x.take(items, axis=0)
                if u is not None:
                    add += (gamma / mr)[:, None] * u[None, :]
                v[rows] += add
        else:
            add = x.index_select(0, items) * coef[:, None]
            if u is not None:
                add = add + (gamma / mr)[:, None] * u[None, :]
            v.index_add_(0, rows, add)
        mr = mr / norm
        m[rows] = mr
        small = be.to_numpy(mr < _FOLD).nonzero()[0]
        if len(small):
            f = rows[be.asarray(small, "int64")]
            v[f] *= m[f][:, None]
            m[f] = 1.0


def _rowdot(a, b):
    """Row-wise dot products of two float32 (n, d) numpy arrays."""
    if hasattr(np, "vecdot"):
        return np.vecdot(a, b)
    return np.einsum("ij,ij->i", a, b)  # pragma: no cover - numpy < 2.0
