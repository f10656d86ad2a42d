"""The exact-best oracle: each slot's best allowed items, exact, without scoring the whole catalog.

Every slot keeps K candidates, its top-K items by base utility κ·θ·x + b_i when the list was built,
and a bound on every other item's base utility: its value then plus what drift can add since
(κ·(θ − θ_built)·x_i ≤ κ·‖θ − θ_built‖·‖x_i⊥‖, drift keeping θ·u), kept per slot as an envelope
over a grid of ‖θ − θ_built‖ (:func:`~banditsim.envs.world.candidates.others_envelope`), with
‖θ − θ_built‖² tracked per drift step. Drift keeps the candidates' cosines exact (:mod:`banditsim.envs.world.drift_update`); fatigue only
lowers utility. So the candidates' best is the exact best when it reaches the bound; the rows where
it does not try a tighter bound along the items' principal directions, and the rest are scanned in
full, which rebuilds their candidates. Cost per step O(B·(d + K)), nothing of size B × n_items.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.world.candidates import DRIFT_GRID, candidate_lists
from banditsim.envs.world.rows import true_rows

_D2_MARGIN = 1e-6  # float-rounding margin on the squared drift distance
_ROUNDING = 1e-3  # bound on |D·u| (0 but for float rounding) and the envelope's rounding, per unit of κ


class ExactBest:
    """World methods of the exact-best oracle."""

    def _rebuild_candidates(self, rows_np: np.ndarray, s=None, base=None, allowed=None) -> None:
        """Recompute candidate lists of ``rows`` from their full cosine rows ``s`` (``base``, ``allowed``:
        their base utilities and mask rows, when the caller has them)."""
        be = self.be
        r = be.asarray(rows_np, "int64")
        if s is None:
            s = self._score_rows(rows_np)
        if allowed is None:
            allowed = be.take_rows(self._allowed, r)
        tables, cand = self._tables, self._candidates
        lists = candidate_lists(be, s, self._kappa[r], tables.item_bias, tables.n_candidates, allowed,
                                tables.item_spread, base)
        if cand.items.shape[1] != lists[0].shape[1]:  # K grew with the catalog (add_items)
            cand.alloc_lists(self.n_users, tables.n_candidates)
        cand.set_rows(r, lists, self._gram_cache.columns(lists[0]), s, self._tastes.times(r, tables.principal_dirs),
                      self._tastes.dot_vector(r, tables.centre_dir))

    def _others_bound_now(self):
        """(B,) bound on the base utility of every non-candidate item, now.

        With D = θ − θ_built: b_i(now) − b_i(built) = κ·D·x_i, and drift keeps θ·u, so D·x_i ≤
        ‖D‖·‖x_i⊥‖; the row's envelope (:func:`~banditsim.envs.world.candidates.others_envelope`) holds
        max_i b_i(built) + κ·δ·‖x_i⊥‖ over the other items at the grid's δ, and ‖D‖² is tracked per
        drift step in O(1). Between grid points the envelope's chord bounds it (it is convex); past
        the last, its slope is at most κ·max_i ‖x_i⊥‖. ``_ROUNDING`` covers the float rounding of θ·u.
        """
        cand = self._candidates
        env = cand.others_envelope
        if not self._drift_on or cand.items.shape[1] >= self.n_items:  # nothing moved, or no other items
            return env[:, 0]
        be, xp = self.be, self.be.xp
        d2 = cand.drift_sq
        dn = xp.sqrt(xp.where(d2 > 0, d2 + _D2_MARGIN, 0.0))
        grid, width = self._tables.drift_grid
        m = env.shape[1]
        # δ_k ≤ ‖D‖ < δ_k+1, one comparison per grid point (a row sum over a (B, m) array costs more)
        k = sum(xp.astype(dn >= d, xp.int64) for d in DRIFT_GRID[1:])
        g_lo = xp.astype(be.gather(env, self._all_rows, k), xp.float64)
        g_hi = xp.astype(be.gather(env, self._all_rows, xp.where(k < m - 1, k + 1, k)), xp.float64)
        kap = xp.astype(self._kappa, xp.float64)
        slope = xp.where(k < m - 1, (g_hi - g_lo) / be.take(width, k), kap * self._tables.spread_max)
        bound = g_lo + (dn - be.take(grid, k)) * slope + xp.where(d2 > 0, kap * _ROUNDING, 0.0)
        return xp.astype(bound, xp.float32)

    def _split_bound_holds(self, rows_np: np.ndarray, kth):
        """For ``rows`` that failed :meth:`_others_bound_now`: does ``kth`` reach a tighter bound?

        With D = θ − θ_built split along the leading principal directions V of the items:
        max_i κ·((V·D)·(V·x_i)) + κ·‖D − VᵀV·D‖·max_i ‖x_i − VᵀV·x_i‖, where the first max needs
        only the vertices of the convex hull of the V·x_i (a linear function is largest at a
        vertex): O(d·dirs + hull·dirs) per row. Tighter than ‖D‖ when the items lie close to a
        few directions. Rows that fail it are scanned in full, which also re-anchors their bound.
        """
        be, xp = self.be, self.be.xp
        r = be.asarray(rows_np, "int64")
        cand = self._candidates
        dp = self._tastes.times(r, self._tables.principal_dirs) - be.take_rows(cand.built_principal, r)
        d2 = be.take(cand.drift_sq, r)
        perp2 = d2 - xp.sum(dp * dp, axis=1)
        perp = xp.sqrt(xp.where(d2 > 0, xp.where(perp2 > 0, perp2, 0.0) + _D2_MARGIN, 0.0))
        need = kth - be.take_rows(cand.others_envelope, r)[:, 0] - be.take(self._user_bias, r)
        kap = be.take(self._kappa, r)
        inc = dp[:, :1] * self._tables.hull_proj_t[0][None, :]
        for k in range(1, dp.shape[1]):
            inc += dp[:, k:k + 1] * self._tables.hull_proj_t[k][None, :]
        ok = be.to_numpy(need >= kap * (xp.max(inc, axis=1) + perp * self._tables.residual_norm_max))
        return ok

    def _full_scan(self, bad: np.ndarray, k: int):
        """Exact top-``k`` allowed items of rows ``bad`` by a full scan, which rebuilds their candidates.

        The top ``k`` come from the fresh candidates where their k-th utility reaches the fresh
        bound (the K-th base utility: fatigue only lowers utility), else from the full utility
        rows: the same items and values either way (for k = 1 the lowest index among equal best,
        as ``argmax`` over the row picks)."""
        be, xp = self.be, self.be.xp
        rb = be.asarray(bad, "int64")
        s = self._score_rows(bad)
        base = self._kappa[rb][:, None] * s + self._tables.item_bias[None, :]
        allowed = be.take_rows(self._allowed, rb)
        self._rebuild_candidates(bad, s, base, allowed)
        self.n_full_scans += len(bad)
        tb, ub = self._top_of_candidates(rb, k)
        kth = ub[:, 0] if k == 1 else xp.min(ub, axis=1)
        fresh_bound = be.take_rows(self._candidates.others_envelope, rb)[:, 0] + self._user_bias[rb]
        miss = true_rows(be.to_numpy(~(kth >= fresh_bound)))
        if len(miss):  # fatigue or blocks pushed the best below the fresh bound: read the full rows
            mb = be.asarray(miss, "int64")
            u, _ = self._utility_from_scores(rb[mb], s[mb])
            ur = xp.where(allowed[mb], u, -np.inf)
            tm = xp.argmax(ur, axis=1)[:, None] if k == 1 else be.topk_indices(ur, k)
            tb[mb], ub[mb] = tm, be.gather(ur, be.arange(len(miss))[:, None], tm)
        return rb, tb, ub

    def _top_of_candidates(self, rb, k: int):
        """(len(rb), k) items and utilities of the ``k`` best candidates of rows ``rb`` (backend), by the
        arithmetic of :meth:`_utility_from_scores` (k = 1: the lowest index among equal best)."""
        be, xp = self.be, self.be.xp
        cand = self._candidates
        items = be.take_rows(cand.items, rb)
        util = be.take_rows(cand.base, rb) + self._user_bias[rb][:, None]
        if self._fatigue_on:
            util = (util - self._fatigue_strength * self._temperature[rb][:, None]
                    * self._fatigue.values(rb[:, None], items))
        if k == 1:
            top = xp.max(util, axis=1)
            return xp.min(xp.where(util == top[:, None], items, self.n_items), axis=1)[:, None], top[:, None]
        j = be.topk_indices(util, k)
        rr = be.arange(len(rb))[:, None]
        return be.gather(items, rr, j), be.gather(util, rr, j)

    def _best_candidates(self, n_best: int):
        """(B, n_best) indices of the highest-utility allowed items (exact) and their utilities.

        Candidates are each row's top-K base utilities (κ·θ·x + b_i); every other item's base
        utility is at most the row's bound (the K-th candidate's base utility when the list
        was built, plus what drift since then can add, see :meth:`_others_bound_now`), and fatigue only
        lowers utility, so the candidates' best is exact when it reaches the bound. Rows
        where it does not are scanned in full and their candidates refreshed.
        """
        be, xp = self.be, self.be.xp
        rows = self._all_rows
        r2 = rows[:, None]
        cand = self._candidates.items
        k = min(n_best, cand.shape[1])
        if k == 1:
            # fast path: the best candidate by base utility is the best by utility when it
            # carries no fatigue (fatigue only lowers utility)
            kk = cand.shape[1]
            j = xp.argmax(self._candidates.base, axis=1)
            flat = rows * kk + j
            items = be.take(cand, flat)
            u_top = be.take(self._candidates.base, flat) + self._user_bias
            if self._fatigue_on:
                fv = self._fatigue.values(rows, items)
                u_top = u_top - self._fatigue_strength * self._temperature * fv
                hot = true_rows(be.to_numpy(fv > 0))
                if len(hot):
                    rh = be.asarray(hot, "int64")
                    uc = (be.take_rows(self._candidates.base, rh) + self._user_bias[rh][:, None]
                          - self._fatigue_strength * self._temperature[rh][:, None]
                          * self._fatigue.values(rh[:, None], cand[rh]))
                    jh = xp.argmax(uc, axis=1)[:, None]
                    items[rh] = be.gather(cand[rh], be.arange(len(hot))[:, None], jh)[:, 0]
                    u_top[rh] = be.gather(uc, be.arange(len(hot))[:, None], jh)[:, 0]
            items, u_top = items[:, None], u_top[:, None]
            kth = u_top[:, 0]
        else:
            util_c = self._candidates.base + self._user_bias[:, None]
            if self._fatigue_on:
                util_c = (util_c
                          - self._fatigue_strength * self._temperature[:, None] * self._fatigue.values(r2, cand))
            top = be.topk_indices(util_c, k)
            u_top = be.gather(util_c, r2, top)
            kth = xp.min(u_top, axis=1)
            items = be.gather(cand, r2, top)
        bad = true_rows(be.to_numpy(~(kth >= self._others_bound_now() + self._user_bias)))
        if len(bad) and self._drift_on:
            bad = bad[~self._split_bound_holds(bad, kth[be.asarray(bad, "int64")])]
        if len(bad):
            rb, tb, ub = self._full_scan(bad, k)
            items[rb] = tb
            u_top[rb] = ub
        return items, u_top

    def best_items(self) -> tuple[np.ndarray, np.ndarray]:
        """(best item, its exact expected reward) per slot, over allowed items."""
        self._require_started()
        be = self.be
        if not self._monotone:
            e = self.expected_rewards()
            e = np.where(be.to_numpy(self._allowed), e, -np.inf)
            j = e.argmax(1)
            return j, np.max(e, 1)
        items = self._best_candidates(1)[0][:, 0]
        val = self._exact_values(self._all_rows, items, self._cosine_items(items))
        return be.to_numpy(items), be.to_numpy(val).astype(np.float64)

    def best_slates(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Greedy best slates (B, k) and their exact expected rewards.

        The k allowed items of highest single-item expected reward, ordered best-first. For
        k = 1 this is the exact best slate; for k > 1 an achievable slate (a lower bound of
        the best slate's value, exact when examination is 1 everywhere and rewards are
        monotone, since ordering by reward-given-response is then optimal for that set).
        """
        self._require_started()
        self._check_slate_size(k)
        be = self.be
        if self._monotone:
            items, u = self._best_candidates(k)
            order = np.argsort(-be.to_numpy(u), axis=1, kind="stable")
            items = be.to_numpy(items)
            slates = np.take_along_axis(items, order, 1)
        else:
            e = np.where(be.to_numpy(self._allowed), self.expected_rewards(), -np.inf)
            slates = np.argsort(-e, axis=1, kind="stable")[:, :k]
        return slates, self.slate_expected_rewards(slates)
