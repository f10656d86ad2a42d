"""The cosines θ·x every exact value of the world reads, by whichever kernel suits the call.

A person whose taste has not moved reads the population table (:mod:`banditsim.envs.world.item_tables`);
a moved one gets a dot product with their current θ (:class:`banditsim.envs.taste_rows.TasteRows`). Every
kernel here gives the same number for the same (slot, item), so ``step``, ``best_items`` and
``expected_rewards`` agree to the bit; the batched kernels only save passes over the tastes.
"""

from __future__ import annotations

import numpy as np

from banditsim._blas_threads import one_blas_thread
from banditsim.envs.world.rows import true_rows


class Cosines:
    """World methods that compute taste-item cosines."""

    @property
    def _cosine_matrix(self) -> np.ndarray:
        """(B, n_items) current cosines θ·X (numpy; computed on demand — diagnostics and tests)."""
        return self.be.to_numpy(self._score_rows(self._all_rows_np))

    def _score_rows(self, rows_np: np.ndarray):
        """(len(rows), n_items) cosines θ·X of ``rows`` (from the population table when unmoved)."""
        be = self.be
        mv = true_rows(self._moved[rows_np])
        if len(mv) == len(rows_np) and len(mv):  # all moved (a full scan's usual case): no table rows
            return self._times_xt(be.asarray(rows_np, "int64"))
        out = be.take_rows(self._tables.pop_cosines, be.asarray(self._pop_index[rows_np], "int64"))
        if len(mv):
            out[be.asarray(mv, "int64")] = self._times_xt(be.asarray(rows_np[mv], "int64"))
        return out

    def _times_xt(self, rows):
        """θ[rows] @ X.T for backend index array ``rows``, on one BLAS thread (see
        :mod:`banditsim._blas_threads`): fast for the few rows of a full scan, and the same numbers
        whatever the process's thread count."""
        if self.be.name != "numpy":
            return self._tastes.times(rows, self._tables.items_t)
        with one_blas_thread():
            return self._tastes.times(rows, self._tables.items_t)

    def _cosine_pairs(self, rows, cols):
        """θ·x for (rows, cols) backend index arrays of the same shape, as every exact value reads
        it: the population table for people whose taste has not moved, else one per-pair dot
        product (the kernel of :meth:`_cosine_rows`), so ``step`` and ``expected_rewards`` agree."""
        be = self.be
        tm = be.asarray(self._pop_index, "int64")[rows]
        s = be.gather(self._tables.pop_cosines, tm, cols)
        if not self._drift_on:
            return s
        moved = self._moved[be.to_numpy(rows).reshape(-1)]
        if moved.any():
            at = be.asarray(true_rows(moved), "int64")
            flat = s.reshape(-1)
            flat[at] = self._tastes.dot_pairs(self._tables.items, rows.reshape(-1)[at], cols.reshape(-1)[at])
            s = flat.reshape(s.shape)
        return s

    def _cosine_items(self, items):
        """(B,) :meth:`_cosine_pairs` of one item per slot (backend ``items``): the same numbers, with
        the moved slots' dot products in row blocks (:meth:`TasteRows.dot_items`) when they are many."""
        be, xp = self.be, self.be.xp
        pop_cosines = self._tables.pop_cosines
        s = be.take(pop_cosines, be.asarray(self._pop_index * pop_cosines.shape[1], "int64") + items)
        mv = true_rows(self._moved) if self._drift_on else ()
        if len(mv) > self.n_users // 4:
            s = xp.where(be.asarray(self._moved, "bool"), self._tastes.dot_items(self._tables.items, items), s)
        elif len(mv):
            r = be.asarray(mv, "int64")
            s[r] = self._tastes.dot_pairs(self._tables.items, r, items[r])
        return s

    def _cosine_items_many(self, items_list):
        """:meth:`_cosine_items` of several (B,) backend item arrays (the same numbers), and θ·u of
        every slot (:meth:`TasteRows.dot_vector`'s numbers, for :meth:`_drift`) or None: when the
        moved slots are many, one pass over the tastes serves them all (:meth:`TasteRows.dot_items_many`)."""
        be, xp = self.be, self.be.xp
        mv = true_rows(self._moved) if self._drift_on else ()
        if len(mv) <= self.n_users // 4:
            return [self._cosine_items(it) for it in items_list], None
        *dots, a_u = self._tastes.dot_items_many(self._tables.items, items_list, self._tables.centre_dir)
        pop_cosines = self._tables.pop_cosines
        moved, off = be.asarray(self._moved, "bool"), be.asarray(self._pop_index * pop_cosines.shape[1], "int64")
        return [xp.where(moved, d, be.take(pop_cosines, off + it)) for d, it in zip(dots, items_list)], a_u

    def _slate_cosines(self, ab):
        """(B, k) :meth:`_cosine_pairs` of every slot with its slate ``ab`` (the same numbers); when the
        moved slots are many, one pass over the tastes for all k positions (:meth:`TasteRows.dot_items_many`)
        instead of a gathered copy of θ per (slot, position)."""
        be, xp = self.be, self.be.xp
        b, k = ab.shape
        if not self._drift_on or len(true_rows(self._moved)) <= b // 4:
            return self._cosine_pairs(be.arange(b)[:, None] + 0 * ab, ab)
        dots = self._tastes.dot_items_many(self._tables.items, [ab[:, c] for c in range(k)])
        s = be.gather(self._tables.pop_cosines, be.asarray(self._pop_index, "int64")[:, None], ab)
        return xp.where(be.asarray(self._moved, "bool")[:, None], be.cat([d[:, None] for d in dots], axis=1), s)

    def _cosine_rows(self):
        """(B, n_items) cosines of every slot with every item, exactly as :meth:`_cosine_pairs` gives them."""
        be = self.be
        s = be.take_rows(self._tables.pop_cosines, be.asarray(self._pop_index, "int64"))
        mv = true_rows(self._moved) if self._drift_on else ()
        if len(mv):
            r = be.asarray(mv, "int64")
            th = self._tastes
            s[r] = be.pair_dots(be.take_rows(th.v, r), self._tables.items) * be.take(th.m, r)[:, None]
        return s
