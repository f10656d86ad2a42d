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

from banditsim.envs.feedback import _reward_steps
from banditsim.envs.feedback_kinds import BLOCK

_SMALL_EXACT = 1 << 16  # exact values computed with one (…, 6) sigmoid up to this many


class Utilities:
    """World methods for utilities and exact expected rewards."""

    def _exact_values(self, rows, cols, s, raw_fat=None):
        """float64 expected reward of items ``cols`` for slots ``rows`` (backend index arrays that
        broadcast) from their cosines ``s`` (:meth:`_cosine_pairs`) and stored fatigue ``raw_fat``.

        The one formula behind every exact number of the world (the chosen item in ``step``, the
        best item, ``expected_rewards``, slates), in float64 from the same float32 cosines, so the
        same (slot, item) gets the same value, to float64 rounding, whichever method asks."""
        be, xp = self.be, self.be.xp
        u = self._exact_utility(rows, cols, s, raw_fat)
        _, ks, w = _reward_steps(self.rewards.tobytes())
        temp = xp.astype(self._temperature[rows], xp.float64)
        cuts = xp.astype(self._cut_points[rows], xp.float64)
        top = float(self.rewards[-1])
        if math.prod(u.shape) <= _SMALL_EXACT:  # one (…, 6) sigmoid
            z = (cuts[..., ks] - u[..., None]) / temp[..., None]
            return top - (be.sigmoid(z) * be.asarray(w, "float64")).sum(-1)
        value = top + 0.0 * u  # big arrays (expected_rewards): one cut point at a time
        for k, step in zip(ks, w):
            value = value - be.sigmoid((cuts[..., k] - u) / temp) * float(step)
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
        be, xp = self.be, self.be.xp
        rows = self._all_rows[:, None]
        raw = self._fatigue.f if self._fatigue_on else None
        e = self._exact_values(rows, be.arange(self.n_items)[None, :], self._cosine_rows(), raw)
        e = xp.where(self._allowed, e, float(self.rewards[BLOCK]))
        return be.to_numpy(e).astype(np.float64)
