"""The B slots' taste vectors θ, stored as scale × direction so a drift step is one sparse axpy.

θ_r = m_r·v_r. The drift step θ ← (θ + η·x_j + γ·u)/n (u a fixed direction, γ per row, n the
factor that keeps θ unit: see :mod:`banditsim.envs.world.drift_update`) becomes v ← v + (η/m)·x_j + (γ/m)·u
and m ← m/n: a single in-place pass over the drifting rows (a CSR product accumulated into v
on numpy, ``index_add_`` on torch: :func:`banditsim._xp.add_to_rows`), with no division pass over v and nothing done for rows
that do not drift. Rows whose scale falls below 2⁻²⁰ are folded back (v ← m·v, m ← 1), so v
stays far from float32 overflow. Results equal the normalised update up to float rounding.
"""

from __future__ import annotations

import numpy as np

from banditsim._xp import add_to_rows, take_rows, vec_dot

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
        return self.dot_items_many(x, [items])[0]

    def dot_items_many(self, x, items_list, u=None):
        """:meth:`dot_items` of several (B,) backend index arrays, plus θ·``u`` of every row when
        ``u`` (d,) is given (the numbers of :meth:`dot_vector`), in one pass over θ: each block of
        rows is read once for all of them. Same kernel per pair (:func:`banditsim._xp.vec_dot`), so
        the same numbers as apart, whatever the block."""
        be, v = self.be, self.v
        b = v.shape[0]
        out = [be.zeros(b, "float32") for _ in range(len(items_list) + (u is not None))]
        u2 = None if u is None else u[None, :]
        for lo in range(0, b, _CHUNK):
            hi = min(lo + _CHUNK, b)
            vb = v[lo:hi]
            for o, it in zip(out, items_list):
                o[lo:hi] = vec_dot(vb, take_rows(x, it[lo:hi]))
            if u2 is not None:
                o_u = out[-1]
                o_u[lo:hi] = vec_dot(vb, u2)
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
        return vec_dot(vr, u[None, :]) * be.take(self.m, rows)  # u broadcast: no (m, d) copies of u

    def pull(self, rows, x, items, eta: float, norm, u=None, gamma=None) -> None:
        """θ[rows] ← (θ + eta·x[items] + gamma·u) / norm; ``rows`` sorted and unique (backend
        index arrays); ``u`` (d,) and ``gamma`` (len(rows),) backend float32, or None (no u term).

        ``norm`` (len(rows),) must be ‖θ + eta·x_j + gamma·u‖ (the caller knows it from θ·x_j).
        """
        be, v, m = self.be, self.v, self.m
        mr = be.take(m, rows)
        coef = eta / mr
        add_to_rows(v, rows, x, items, coef, u, None if u is None else gamma / mr)
        mr = mr / norm
        m[rows] = mr
        small = be.to_numpy(mr < _FOLD).nonzero()[0]
        if len(small):
            f = rows[be.asarray(small, "int64")]
            v[f] *= m[f][:, None]
            m[f] = 1.0
