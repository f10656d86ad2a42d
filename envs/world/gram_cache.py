"""The drift rate times the Gram entries x_j·x_c of items j with candidate items c.

Drift moves each drifting slot's candidate cosines by rate·x_j·x_c (and the catalog direction's
part, see :mod:`banditsim.envs.world.drift_update`): K reads from row j of the cache. Candidate lists share
few items (151 of 1,682 on MovieLens), so the cache holds only the columns of items that have been
candidates (most frequent first; a column is computed, ``X @ x_c``, when its item first becomes a
candidate): the reads of a row fall in a few cache lines of a small matrix instead of an
n_items² one. Nothing of size n_items² is ever built: once the columns would pass
``_GRAM_CACHE_BYTES`` (large catalogs with diverse tastes) the cache is dropped and the entries are
computed for the drifting rows directly (B·K·d work a step, see :meth:`GramCache.entries`).
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.world.sharing import deepcopy_sharing

_GRAM_CACHE_BYTES = 256 << 20  # largest cache of Gram columns


class GramCache:
    """Cached columns rate·X·x_c for the items c that have been candidates.

    ``cols`` (n_items + 1, capacity) backend float32, or None once dropped; the extra last row is
    zeros (the row read for slots that do not drift). ``column_of[i]`` is item i's column (−1:
    none). ``items`` (n_items, d) numpy float32: the items in the tastes' coordinates (shared by
    deep copies: it is never written).
    """

    def __init__(self, be, items: np.ndarray, rate: float, first_candidates: np.ndarray):
        n = items.shape[0]
        self.be = be
        self.rate = rate
        self.items = np.ascontiguousarray(items, dtype=np.float32)
        self.column_of = np.full(n, -1, dtype=np.int64)
        self.n_cols = 0
        self.cols = be.zeros((n + 1, 0), "float32")
        freq = np.bincount(first_candidates.reshape(-1), minlength=n)
        self.columns(np.argsort(-freq, kind="stable")[:int((freq > 0).sum())])

    def __deepcopy__(self, memo):
        """A deep copy that shares ``items`` (read-only) and copies the growing columns."""
        return deepcopy_sharing(self, memo, self.items)

    def columns(self, items):
        """Columns of ``cols`` for (backend) ``items``, adding the items that have none yet.

        Without a column cache (``cols`` is None) the columns are unused: 0.
        """
        be, inv = self.be, self.column_of
        it = be.to_numpy(items)
        if self.cols is None:
            return be.zeros(it.shape, "int64")
        new = it[inv[it] < 0]
        if len(new):
            new = new[np.sort(np.unique(new, return_index=True)[1])]  # first-seen order
            n0, m = self.n_cols, len(new)
            n_rows = self.items.shape[0] + 1
            if 4 * n_rows * (n0 + m) > _GRAM_CACHE_BYTES:  # too big to cache: compute on demand
                self.cols = None
                return be.zeros(it.shape, "int64")
            gp = self.cols
            if n0 + m > gp.shape[1]:
                cap = min(max(2 * gp.shape[1], n0 + m, 64), max(n0 + m, _GRAM_CACHE_BYTES // (4 * n_rows)))
                gp = be.cat([gp, be.zeros((gp.shape[0], cap - gp.shape[1]), "float32")], axis=1)
            cols = np.zeros((n_rows, m), dtype=np.float32)
            cols[:-1] = self.items @ self.items[new].T
            cols *= np.float32(self.rate)
            gp[:, n0:n0 + m] = be.asarray(cols, "float32")
            self.cols = gp
            inv[new] = np.arange(n0, n0 + m)
            self.n_cols = n0 + m
        return be.asarray(inv[it], "int64")

    def entries(self, r, j, cand_cols, cand_items, items):
        """rate·x_j·x_c for rows ``r`` (m,), shown items ``j`` (m,) and their K candidates c: (m, K).

        ``cand_cols``/``cand_items`` (B, K): every slot's candidates' columns and items; ``items``
        the backend item matrix (read only when the cache is dropped).
        """
        be = self.be
        if self.cols is not None:
            return be.take(self.cols, (j * self.cols.shape[1])[:, None] + be.take_rows(cand_cols, r))
        xc = items[be.take_rows(cand_items, r)]  # (m, K, d): gathered only without the cache
        return (xc @ be.take_rows(items, j)[:, :, None])[:, :, 0] * self.rate
