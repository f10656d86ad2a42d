"""Utilities and exact expected rewards of (slot, item) pairs.

Utility is κ·θ·x + b_u + b_i − fatigue. The exact expected reward is computed from it in float64 by
one formula (:meth:`Utilities._exact_values`), so the chosen item's value in ``step``, the best
item's, ``expected_rewards`` and slate values agree to float64 rounding and regret is never
negative. The float32 utilities (:meth:`Utilities._chosen_utility`, :meth:`Utilities._utility`)
feed the feedback draws.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from banditsim.envs.feedback import _reward_steps
from banditsim.envs.feedback_kinds import BLOCK

_SMALL_EXACT = 1 << 16  # exact values computed with one (…, 6) sigmoid up to this many
_BLOCK_BYTES = 1 << 19  # bytes of one block of expected_rewards' float64 rows: its passes stay in cache


class Utilities:
    """World methods for utilities and exact expected rewards."""

    def _exact_values(self, rows, cols, s, raw_fat=None, by_cut=None):
        """float64 expected reward of items ``cols`` for slots ``rows`` (backend index arrays that
        broadcast) from their cosines ``s`` (:meth:`_cosine_pairs`) and stored fatigue ``raw_fat``.
        ``by_cut`` picks the one-cut-point-at-a-time arithmetic (default: for more than
        ``_SMALL_EXACT`` values), so a block of a large array gets the bits of the whole.

        The one formula behind every exact number of the world (the chosen item in ``step``, the
        best item, ``expected_rewards``, slates), in float64 from the same float32 cosines, so the
        same (slot, item) gets the same value, to float64 rounding, whichever method asks."""
        be, xp = self.be, self.be.xp
        u = self._exact_utility(rows, cols, s, raw_fat)
        _, ks, w = _reward_steps(self.rewards.tobytes())
        temp = xp.astype(self._temperature[rows], xp.float64)
        cuts = xp.astype(self._cut_points[rows], xp.float64)
        top = float(self.rewards[-1])
        if by_cut is None:
            by_cut = math.prod(u.shape) > _SMALL_EXACT
        if not by_cut:  # one (…, 6) sigmoid
            z = (cuts[..., ks] - u[..., None]) / temp[..., None]
            return top - (be.sigmoid(z) * be.asarray(w, "float64")).sum(-1)
        return self._values_by_cut(u, temp, cuts, ks, w, top)

    def _values_by_cut(self, u, temp, cuts, ks, w, top):
        """``top − Σₖ wₖ·σ((cutₖ − u) / temp)``, one cut point at a time (the arithmetic of big
        arrays); on numpy in place in one scratch buffer: the same bits, fewer passes over memory."""
        if not isinstance(u, np.ndarray):
            value = top + 0.0 * u
            for k, step in zip(ks, w):
                value = value - self.be.sigmoid((cuts[..., k] - u) / temp) * float(step)
            return value
        value = np.multiply(u, 0.0)
        value += top
        z = np.empty(np.broadcast_shapes(cuts.shape[:-1], u.shape), np.float64)
        for k, step in zip(ks, w):
            np.subtract(cuts[..., k], u, out=z)
            z /= temp
            expit(z, out=z)
            z *= float(step)
            value -= z
        return value

    def _exact_utility(self, rows, cols, s, raw_fat=None):
        """float64 utility κ·s + b_u + b_i − fatigue for (rows, cols) that broadcast (see :meth:`_exact_values`)."""
        be, xp = self.be, self.be.xp
        f64 = lambda a: xp.astype(a, xp.float64)  # noqa: E731
        u = f64(self._kappa[rows]) * f64(s) + f64(self._user_bias[rows]) + f64(self._tables.item_bias[cols])
        if self._fatigue_on:
            if raw_fat is None:
                raw_fat = be.gather(self._fatigue.f, rows, cols)
            u = u - (self._fatigue_strength * f64(self._temperature[rows])) * (f64(raw_fat) / self._fatigue.scale)
        return u

    def _fatigue_penalty(self, rows, cols):
        if not self._fatigue_on:
            return 0.0
        return self._fatigue_strength * self._temperature[rows] * self._fatigue.values(rows, cols)

    def _utility(self, rows, cols, s=None):
        """Utility now for (rows, cols) index arrays of the same shape (``s``: their cosines)."""
        if s is None:
            s = self._cosine_pairs(rows, cols)
        u = self._kappa[rows] * s + self._user_bias[rows] + self._tables.item_bias[cols]
        return u - self._fatigue_penalty(rows, cols)

    def _chosen_utility(self, items, flat, s):
        """Utility of one item per row (all rows) from its cosines ``s``; ``flat`` = row·n + item.

        Also returns the stored fatigue values read at ``flat`` (None with fatigue off), so the
        exposure that follows need not read them again.
        """
        u = self._kappa * s
        u += self._user_bias
        u += self._tables.item_bias[items]
        if not self._fatigue_on:
            return u, None
        raw = self.be.take(self._fatigue.f, flat)
        u -= (self._fatigue_strength / self._fatigue.scale) * self._temperature * raw
        return u, raw

    def _utility_from_scores(self, rows, s):
        """Full utility rows of backend ``rows`` from their cosine rows ``s``; also the base rows."""
        base = self._kappa[rows][:, None] * s + self._tables.item_bias[None, :]
        u = base + self._user_bias[rows][:, None]
        if self._fatigue_on:
            u = u - self._fatigue_strength * self._temperature[rows][:, None] * self._fatigue.rows_dense(rows)
        return u, base

    def expected_rewards(self) -> np.ndarray:
        """(B, n_items) exact expected reward of each item for each current user, now."""
        self._require_started()
        s = self._cosine_rows()
        per_block = max(1, _BLOCK_BYTES // (8 * self.n_items)) if self.be.name == "numpy" else s.shape[0]
        return self._expected_rows(s, per_block)

    def _expected_rows(self, s, per_block):
        """:meth:`expected_rewards` from the cosine rows ``s``, ``per_block`` rows at a time.

        Every step of the formula is elementwise, so the bits do not depend on the block size; the
        arithmetic (one (…, 6) sigmoid or one cut point at a time) is chosen for the whole array."""
        be, xp = self.be, self.be.xp
        n_rows, n = s.shape
        cols = be.arange(n)[None, :]
        raw = self._fatigue.f if self._fatigue_on else None
        by_cut = n_rows * n > _SMALL_EXACT
        blocked = float(self.rewards[BLOCK])
        out = np.empty((n_rows, n), np.float64)
        for lo in range(0, n_rows, per_block):
            hi = min(lo + per_block, n_rows)
            fat = None if raw is None else raw[lo:hi]
            e = self._exact_values(self._all_rows[lo:hi, None], cols, s[lo:hi], fat, by_cut)
            out[lo:hi] = be.to_numpy(xp.where(self._allowed[lo:hi], e, blocked))
        return out
