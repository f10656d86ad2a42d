"""Exact Thompson winners over many Beta arms from one uniform per arm.

Draw every arm by inversion, θ_k = Q_k(U_k) with Q_k the upper-tail quantile of Beta(a_k, b_k)
(P(θ_k > Q_k(u)) = u) and U_k uniform: that is an exact posterior draw.  With a threshold x and
the exact tails G_k = P(θ_k > x), θ_k > x exactly when U_k < G_k, so after drawing the K uniforms
only the few arms with U_k < G_k (Σ G_k ≈ log K + 1 of them on average) need their quantile
(``scipy.special.betainccinv``); every other arm lies below x and cannot beat them.  A row where
no allowed arm exceeds x (probability ≈ e^(−Σ G) ≈ 1/(e·K)) computes the quantiles of all its
allowed arms.  The winner is therefore the argmax of one exact joint draw, at the cost of K
uniforms and a handful of quantiles instead of 2·K gamma variates.

The tails follow the posterior without hooks into ``update``: before each draw the replicas'
(alpha, beta) are compared with the copy the tails were computed from, and the pairs that changed
(updates or direct edits) get exact new tails (``betainc(b, a, 1 − x)``, the upper tail by
symmetry).  When Σ G leaves [0.75, 1.5] × its target, x is chosen again (``_exceedance._fit_threshold``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betainccinv

from agents._exceedance import _fit_threshold

MIN_ARMS = 256
"""Below this many arms two gamma variates per arm are cheaper than the quantiles."""


class ThresholdSampler:
    """Winners of exact Beta Thompson draws for rows of ``n_replicas`` × ``n_arms`` posteriors."""

    def __init__(self, n_replicas: int, n_arms: int) -> None:
        self.target = float(np.log(n_arms) + 1.0)
        self.x = np.full(n_replicas, 0.5)
        self.tail = np.zeros((n_replicas, n_arms))
        self.mass0 = np.ones(n_replicas)
        self.built = np.zeros(n_replicas, dtype=bool)
        self.bulk = np.zeros(n_replicas, dtype=bool)  # changed in many arms at once: always draw in full
        self.seen_a = np.zeros((n_replicas, n_arms))
        self.seen_b = np.zeros((n_replicas, n_arms))

    def sync(self, alpha: np.ndarray, beta: np.ndarray, replicas: np.ndarray, max_changes: int) -> bool:
        """Bring the tails of ``replicas`` (distinct, sorted) up to date with ``alpha``/``beta`` (R, K).

        Returns False when more than ``max_changes`` pairs changed since the last call (a
        discounted posterior changes every arm every step): recomputing them would cost more than
        drawing every arm, so those replicas are drawn in full from then on."""
        if self.bulk[replicas].any():
            return False
        view = _rows_view(replicas, self.x.size)
        changed = alpha[view] != self.seen_a[view]
        changed |= beta[view] != self.seen_b[view]
        fresh = ~self.built[replicas]
        if fresh.any():
            changed[fresh] = False
        elif not changed.any():
            return True
        g, k = np.nonzero(changed)
        if g.size > max_changes:
            self.bulk[replicas] = True
            return False
        if g.size:
            r = replicas[g]
            a, b = alpha[r, k], beta[r, k]
            self.tail[r, k] = betainc(b, a, 1.0 - self.x[r])
            self.seen_a[r, k], self.seen_b[r, k] = a, b
        mass = self.tail[view].sum(axis=1)
        drift = fresh | (mass < 0.75 * self.mass0[replicas]) | (mass > 1.5 * self.mass0[replicas])
        if drift.any():
            reps = replicas[drift]
            self.x[reps], tail = _fit_threshold(alpha[reps], beta[reps], self.target)
            self.tail[reps] = tail
            self.mass0[reps] = tail.sum(axis=1)
            self.seen_a[reps], self.seen_b[reps] = alpha[reps], beta[reps]
            self.built[reps] = True
        return True

    def winners(self, a: np.ndarray, b: np.ndarray, replica: np.ndarray, mask: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
        """Argmax (B,) of one exact draw per row of Beta(a, b) (B, K) over the allowed arms; the
        rows' replicas must have been ``sync``-ed with the posteriors a, b come from."""
        n_rows, n_arms = a.shape
        u = rng.random((n_rows, n_arms))
        above = u < self.tail[_rows_view(replica, self.x.size)]
        if mask is not None:
            above &= mask
        rr, kk = np.nonzero(above)
        out = np.full(n_rows, -1, dtype=np.int64)
        if rr.size:
            theta = betainccinv(a[rr, kk], b[rr, kk], u[rr, kk])
            order = np.lexsort((-theta, rr))  # by row, largest draw first
            first = np.ones(order.size, dtype=bool)
            first[1:] = rr[order][1:] != rr[order][:-1]
            out[rr[order][first]] = kk[order][first]
        bad = np.flatnonzero(out < 0)
        if bad.size:  # no allowed arm above x (rare): the quantiles of all their arms
            theta = betainccinv(a[bad], b[bad], u[bad])
            if mask is not None:
                theta = np.where(mask[bad], theta, -np.inf)
            out[bad] = theta.argmax(axis=1)
        return out


def _rows_view(replica: np.ndarray, n_replicas: int):
    """An index of rows ``replica`` that is a view (no copy) in the common layouts: one
    replica, or replicas 0..R−1 in order."""
    if replica.size == 1:
        r = int(replica[0])
        return slice(r, r + 1)
    if replica.size == n_replicas and replica[0] == 0 and replica[-1] == n_replicas - 1:
        return slice(None) if np.all(np.diff(replica) == 1) else replica
    return replica
