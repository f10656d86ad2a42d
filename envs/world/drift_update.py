"""The drift step of :class:`banditsim.envs.dynamics.Drift`, applied to the slots' tastes and candidates.

For rows moving toward items j: θ' = a·u + ρ·normalise(θ⊥ + rate·x⊥_j), with u the catalog's
direction, a = θ·u (kept), ρ = √(1 − a²), ⊥ the part orthogonal to u. O(d + K) per slot, nothing
of size n_items. Written θ' = f·(θ + rate·x_j + γ·u) with f = ρ/‖θ⊥ + rate·x⊥_j‖ and
γ = a(1 − f)/f − rate·(u·x_j): θ moves by one sparse axpy (:class:`banditsim.envs.taste_rows.TasteRows`); the
candidates' cosines move by the Gram entries rate·x_j·x_c (a gather from
:class:`banditsim.envs.world.gram_cache.GramCache`, not a matmul) plus γ·(u·x_c); the bound on the other items
is kept through ‖θ − θ_built‖² (:mod:`banditsim.envs.world.oracle`). A taste lying along u (ρ < 10⁻³) has no
distinctive part to move and is left as it is.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.world.rows import true_rows


class DriftUpdate:
    """World methods that move tastes: the answers' pull and the population-wide trend."""

    def _trend_step(self, idle) -> None:
        """Pull every active slot's θ toward this step's trend item (:mod:`banditsim.envs.taste_trend`):
        :meth:`_drift` of every row toward one item, at the trend's rate and Gram entries."""
        rows = self._all_rows_np if idle is None else np.setdiff1d(self._all_rows_np, idle)
        if len(rows):
            be, j = self.be, self._trend.item_at(self._steps_taken, self.n_items)
            cand = be.take_rows(self._candidates.items, be.asarray(rows, "int64"))
            g = be.take(self._trend.dots(self._gram_cache.items, be), cand)
            self._drift(rows, np.full(len(rows), j), eta=self._trend.rate, g=g)


    def _drift(self, rows_np: np.ndarray, items_np: np.ndarray, s_rj=None, all_rows: bool = False,
               eta=None, g=None, a_u=None) -> None:
        """Move the tastes of ``rows`` (sorted numpy) toward items ``items_np`` (see the module docstring).

        ``s_rj``: the rows' current cosines θ·x_j when known. ``all_rows``: update the candidate
        arrays in place for every slot (single items: rows that do not drift get + 0 and · 1, which
        leaves them unchanged) instead of gathering and scattering the drifting rows. ``eta``, ``g``:
        another rate than the drift's, and the rows' (m, K) rate·x_j·x_c (the trend). ``a_u`` (B,):
        every slot's θ·u when already computed (the same numbers as ``dot_vector``).
        """
        be, xp = self.be, self.be.xp
        eta = self._drift_rate if eta is None else eta
        f64 = lambda v: xp.astype(v, xp.float64)  # noqa: E731  per-row scalars in float64
        r, j = be.asarray(rows_np, "int64"), be.asarray(items_np, "int64")
        if s_rj is None:
            s_rj = self._tastes.dot_pairs(self._tables.items, r, j)
        s = f64(s_rj)
        tables = self._tables
        a = f64(self._tastes.dot_vector(r, tables.centre_dir) if a_u is None else a_u[r])  # θ·u: kept
        uj = f64(be.take(tables.item_centre_dots, j))  # u·x_j
        xq = 1.0 if tables.item_sq_norms is None else f64(be.take(tables.item_sq_norms, j))  # ‖x_j‖² (1 in full)
        rho2 = 1.0 - a * a
        n2 = rho2 + (2.0 * eta) * (s - a * uj) + (eta * eta) * (xq - uj * uj)  # ‖θ⊥ + η·x⊥_j‖²
        ok = be.to_numpy((rho2 > 1e-6) & (n2 > 1e-12))
        if not ok.all():  # tastes along u: nothing to move
            keep = true_rows(ok)
            if not len(keep):
                return
            kb = be.asarray(keep, "int64")
            rows_np, r, j = rows_np[keep], r[kb], j[kb]
            s, a, uj, rho2, n2 = s[kb], a[kb], uj[kb], rho2[kb], n2[kb]
            xq = xq if self._tables.item_sq_norms is None else xq[kb]
            g = None if g is None else g[kb]
        f = xp.sqrt(rho2 / n2)
        gam = a * (1.0 - f) / f - eta * uj
        f32, gam32 = xp.astype(f, xp.float32), xp.astype(gam, xp.float32)
        self._tastes.pull(r, self._tables.items, j, eta, 1.0 / f32, self._tables.centre_dir, gam32)
        if all_rows:
            self._move_every_candidate_row(r, j, f32, gam32)
        else:
            self._move_candidate_rows(r, j, f32, gam32, g)
        self._move_drift_distance(r, j, f, gam, eta, s, a, uj, xq)
        self._moved[rows_np] = True

    def _move_every_candidate_row(self, r, j, f32, gam32) -> None:
        """Candidate cosines and base utilities after the drift of rows ``r``, updated in place for
        every slot (the others get + 0 and · 1: unchanged)."""
        be, b, cand = self.be, self.n_users, self._candidates
        gram = self._gram_cache.cols
        if gram is not None:
            ncol = gram.shape[1]
            jz = be.zeros(b, "int64") + self.n_items * ncol  # the cache's zero row
            jz[r] = j * ncol
            g = be.take(gram, jz[:, None] + cand.gram_cols, in_range=True)
        else:
            g = be.zeros(cand.cosines.shape, "float32")
            g[r] = self._gram_cache.entries(r, j, cand.gram_cols, cand.items, self._tables.items)
        fm = be.zeros(b, "float32") + 1.0
        fm[r] = f32
        gm = be.zeros(b, "float32")
        gm[r] = gam32
        tops = cand.cosines
        tops += g
        tops += gm[:, None] * be.take(self._tables.item_centre_dots, cand.items)
        tops *= fm[:, None]
        topb = cand.base
        topb[...] = tops
        topb *= self._kappa[:, None]
        topb += cand.item_bias

    def _move_candidate_rows(self, r, j, f32, gam32, g) -> None:
        """Candidate cosines and base utilities of the drifting rows ``r`` only (``g``: their Gram
        entries when the caller has them)."""
        be, cand = self.be, self._candidates
        if g is None:
            g = self._gram_cache.entries(r, j, cand.gram_cols, cand.items, self._tables.items)
        top = be.take_rows(cand.items, r)
        tops = be.take_rows(cand.cosines, r)
        tops += g
        tops += gam32[:, None] * be.take(self._tables.item_centre_dots, top)
        tops *= f32[:, None]
        cand.cosines[r] = tops
        cand.base[r] = self._kappa[r][:, None] * tops + be.take_rows(cand.item_bias, r)

    def _move_drift_distance(self, r, j, f, gam, eta, s, a, uj, xq) -> None:
        """‖θ − θ_built‖² of rows ``r`` after the step, from the step's float64 scalars.

        With θ' = f·θ + w, w = fη·x_j + h·u, h = f·γ, D = θ − θ_b and unit θ, θ_b:
        ‖D'‖² = f‖D‖² + (1 − f)² + ‖w‖² + 2f·θ·w − 2·θ_b·w
        (θ_b·x_j a gather from the built cosines).
        """
        be, xp = self.be, self.be.xp
        f64 = lambda v: xp.astype(v, xp.float64)  # noqa: E731
        xb = f64(be.take(self._candidates.built_cosines, r * self._candidates.built_cosines.shape[1] + j))
        ab = f64(be.take(self._candidates.built_centre_dot, r))
        wx, h = f * eta, f * gam
        ww = wx * wx * xq + 2.0 * wx * h * uj + h * h
        d2 = (f * be.take(self._candidates.drift_sq, r) + (1.0 - f) ** 2 + ww + 2.0 * f * (wx * s + h * a)
              - 2.0 * (wx * xb + h * ab))
        self._candidates.drift_sq[r] = xp.where(d2 > 0, d2, 0.0)
