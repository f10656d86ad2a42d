"""Exact Thompson winners over Beta arms from one uniform per arm and a ladder of thresholds.

Draw every arm by inversion, θ_k = Q_k(U_k) with Q_k the upper-tail quantile of Beta(a_k, b_k)
(P(θ_k > Q_k(u)) = u) and U_k uniform: an exact posterior draw.  With a threshold x and the exact
tails G_k = P(θ_k > x), θ_k > x exactly when U_k < G_k.  Each replica keeps a ladder of thresholds
x_0 > x_1 > … (expected numbers of arms above them Σ_k G_k ≈ ``LEVELS``: ½, 1½, 4 and log K + 6)
and the tails at each.  After drawing the K uniforms a row takes the first rung with an allowed arm above it,
S = {k : U_k < G_k(x_j)}: every other arm lies below x_j, so the winner is in S.  When S holds one
arm (most rows) it is the winner, with no quantile at all; otherwise the quantiles of S's arms
(``scipy.special.betainccinv``) decide.  A row with no allowed arm above the lowest rung
(probability ≈ e⁻⁶/K) computes the quantiles of all its allowed arms.  Whatever the thresholds, the
winner is the argmax of one exact joint draw; the ladder only sets the cost: on average about one
quantile per row (one rung, Σ G ≈ log K + 1, needed ≈ 6–8) and K uniforms, instead of 2·K gamma
variates.

The tails follow the posterior without hooks into ``update``: before each draw the replicas'
(alpha, beta) are compared with the copy the tails were computed from, and the pairs that changed
(updates or direct edits) get exact new tails at every rung (``betainc(b, a, 1 − x)``, the upper
tail by symmetry).  A rung whose Σ G leaves [⅓, 3] × its value when the ladder was fitted (the
lowest: [0.75, 3] ×, which keeps the all-quantile rows rare) gets the whole ladder of its replica
chosen again (``fit_ladder``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betainccinv

from banditsim.agents._selection.row_groups import in_order
from banditsim.agents._state import one_row
from banditsim.agents._thompson.thresholds import beta_candidates, beta_moments, expected_above

LEVELS = (0.5, 1.5, 4.0)
"""Target Σ_k P(θ_k > x_j) of the upper rungs, highest threshold first; the lowest rung's is log K + 6,
so that a row with no arm above it, which costs K quantiles, costs ≈ e⁻⁶ quantiles on average."""
MIN_ARMS = 256
"""Below this many arms two gamma variates per arm are cheaper than the uniforms, rungs and quantiles
of many rows (100 seeds as replicas at K=100: the rungs' refits and quantiles cost more than the
gammas)."""
MIN_ARMS_ONE_ROW = 16
"""The same for acts of a single row (one stream), where the per-call overhead, not the gammas, is
what the ladder saves."""
_BAND = np.array([[1 / 3, 3.0]] * len(LEVELS) + [[0.75, 3.0]])  # refit when a rung's Σ G leaves these × its fitted Σ G
_FIT = (0.7, 1.5)  # a fitted rung's Σ G lies within these × target (bisection on exact tails otherwise)


class LadderSampler:
    """Winners of exact Beta Thompson draws for rows of ``n_replicas`` × ``n_arms`` posteriors.

    State per replica: thresholds ``x`` (R, L), exact tails ``tail`` (R, L, K), their sums
    ``mass`` (R, L) and the refit band ``low``/``high`` (R, L) around the sums when fitted, the
    (alpha, beta) the tails were computed from, and ``bulk`` (replicas whose posterior changed in
    many arms at once: drawn in full by the caller from then on).
    """

    def __init__(self, n_replicas: int, n_arms: int) -> None:
        self.target = np.minimum(np.array([*LEVELS, np.log(n_arms) + 6.0]), 0.5 * n_arms)
        n_levels = self.target.size
        self.x = np.full((n_replicas, n_levels), 0.5)
        self.x_below = 1.0 - self.x  # 1 − x: the tails are betainc(b, a, 1 − x)
        self.tail = np.zeros((n_replicas, n_levels, n_arms))
        self.mass = np.zeros((n_replicas, n_levels))
        self.built = np.zeros(n_replicas, dtype=bool)
        self.bulk = np.zeros(n_replicas, dtype=bool)
        self.seen_a = np.zeros((n_replicas, n_arms))
        self.seen_b = np.zeros((n_replicas, n_arms))
        self.low = np.zeros((n_replicas, n_levels))
        self.high = np.zeros((n_replicas, n_levels))

    def sync(self, alpha: np.ndarray, beta: np.ndarray, replicas: np.ndarray, max_changes: int) -> bool:
        """Bring the tails of ``replicas`` (distinct, sorted) up to date with ``alpha``/``beta`` (R, K).

        Returns False when more than ``max_changes`` pairs changed since the last call (a
        discounted posterior changes every arm every step): recomputing them would cost more than
        drawing every arm, so those replicas are drawn in full from then on."""
        if self.bulk[replicas].any():
            return False
        view = _rows_view(replicas, self.x.shape[0])
        changed = alpha[view] != self.seen_a[view]
        changed |= beta[view] != self.seen_b[view]
        fresh = ~self.built[replicas]
        if fresh.any():
            changed[fresh] = False
        g, k = np.nonzero(changed)
        if g.size > max_changes:
            self.bulk[replicas] = True
            return False
        if g.size:
            r = replicas[g]
            a, b = alpha[r, k], beta[r, k]
            self.tail[r, :, k] = betainc(b[:, None], a[:, None], self.x_below[r])  # (n, L): every rung of each pair
            self.seen_a[r, k], self.seen_b[r, k] = a, b
            self.mass[replicas] = self.tail[view].sum(axis=2)  # summed afresh: the same bits on every path
        mass = self.mass[replicas]
        drift = fresh | ((mass < self.low[replicas]) | (mass > self.high[replicas])).any(axis=1)
        if drift.any():
            self._refit(alpha, beta, replicas[drift])
        return True

    def sync_one(self, alpha: np.ndarray, beta: np.ndarray, r: int, max_changes: int) -> bool:
        """``sync(alpha, beta, [r], max_changes)`` for one replica, with the same result and state;
        when the posterior is bit for bit the one the tails hold (a byte comparison, no ufunc) only
        the refit check is left."""
        if self.bulk[r]:
            return False
        if not (self.built[r] and alpha[r].tobytes() == self.seen_a[r].tobytes()
                and beta[r].tobytes() == self.seen_b[r].tobytes()):
            return self.sync(alpha, beta, np.array([r]), max_changes)
        mass, low, high = self.mass[r].tolist(), self.low[r].tolist(), self.high[r].tolist()
        if any(m < lo or m > hi for m, lo, hi in zip(mass, low, high)):
            self._refit(alpha, beta, np.array([r]))
        return True

    def observe_one(self, alpha: np.ndarray, beta: np.ndarray, r: int, k: int) -> None:
        """After ``alpha``/``beta`` changed at (r, k) only: the tails of that pair, exactly as the
        next ``sync`` would compute them (so it finds nothing to do there).  Pairs observed here do
        not count towards ``sync``'s ``max_changes``: more than 16 one-row updates between two acts
        of a replica leave it on the ladder, where the general path would draw it in full (both exact)."""
        if not self.built[r] or self.bulk[r]:
            return
        a, b = alpha[r, k], beta[r, k]
        self.tail[r, :, k] = betainc(b, a, self.x_below[r])
        self.seen_a[r, k], self.seen_b[r, k] = a, b
        self.mass[r] = self.tail[r].sum(axis=1)

    def _refit(self, alpha: np.ndarray, beta: np.ndarray, reps: np.ndarray) -> None:
        """Choose the ladders of ``reps`` again for their posteriors as they are now: from the
        rungs' exact sums where the replica has a ladder (``warm_start``), from scratch otherwise."""
        warm = self.built[reps]
        for sel, start in ((warm, True), (~warm, False)):
            if sel.any():
                g = reps[sel]
                begin = warm_start(self.x[g], self.mass[g], self.target) if start else None
                self.x[g], self.tail[g] = fit_ladder(alpha[g], beta[g], self.target, begin)
        self.x_below[reps] = 1.0 - self.x[reps]
        self.mass[reps] = mass = self.tail[reps].sum(axis=2)
        self.low[reps], self.high[reps] = _BAND[:, 0] * mass, _BAND[:, 1] * mass
        self.seen_a[reps], self.seen_b[reps] = alpha[reps], beta[reps]
        self.built[reps] = True

    def winners(self, a: np.ndarray, b: np.ndarray, replica: np.ndarray, mask: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
        """Argmax (B,) of one exact draw per row of Beta(a, b) (B, K) over the allowed arms; the
        rows' replicas must have been ``sync``-ed with the posteriors a, b come from."""
        n_rows, n_arms = a.shape
        if n_rows == 1 and one_row.ENABLED:
            return np.array([self._winner_one(a[0], b[0], int(replica[0]), None if mask is None else mask[0], rng)])
        u = rng.random((n_rows, n_arms))
        above = u[:, None, :] < self.tail[_rows_view(replica, self.x.shape[0])]  # (B, L, K)
        if mask is not None:
            above &= mask[:, None, :]
        hit = above.any(axis=2)  # (B, L)
        rung = hit.argmax(axis=1)  # the first rung with an allowed arm above it
        top = above[np.arange(n_rows), rung]  # (B, K): the arms above that rung
        count = top.sum(axis=1)
        out = top.argmax(axis=1)  # right where one arm is above it
        many = np.flatnonzero(count > 1)
        if many.size:
            rr, kk = np.nonzero(top[many])
            theta = betainccinv(a[many[rr], kk], b[many[rr], kk], u[many[rr], kk])
            order = np.lexsort((-theta, rr))  # by row, largest draw first (ties: the lowest arm)
            first = np.ones(order.size, dtype=bool)
            first[1:] = rr[order][1:] != rr[order][:-1]
            out[many[rr[order][first]]] = kk[order][first]
        bad = np.flatnonzero(count == 0)
        if bad.size:  # no allowed arm above the lowest rung (rare): the quantiles of all their arms
            theta = betainccinv(a[bad], b[bad], u[bad])
            if mask is not None:
                theta = np.where(mask[bad], theta, -np.inf)
            out[bad] = theta.argmax(axis=1)
        return out


    def _winner_one(self, a, b, r: int, mask, rng: np.random.Generator) -> int:
        """``winners`` for one row: the rungs in turn (no (L, K) pass), the same draws and winner."""
        u = rng.random(a.size)  # the numbers of rng.random((1, a.size))
        tail = self.tail[r]
        for rung in range(tail.shape[0]):
            above = u < tail[rung]
            if mask is not None:
                above &= mask
            (top,) = above.nonzero()
            if top.size == 1:
                return int(top[0])
            if top.size:
                return int(top[betainccinv(a[top], b[top], u[top]).argmax()])
        theta = betainccinv(a, b, u)  # no allowed arm above the lowest rung (rare)
        if mask is not None:
            theta = np.where(mask, theta, -np.inf)
        return int(theta.argmax())


def fit_ladder(a: np.ndarray, b: np.ndarray, target: np.ndarray, start=None, steps: int = 20):
    """Thresholds (G, L) with Σ_k P(θ_k > x_j) within ``_FIT`` × target[j], and the tails (G, L, K).

    Starts from ``start`` = (x, lo, hi), a guess inside a bracket (``warm_start``), or else from
    candidates of a normal approximation of each Beta around the largest posterior means in [0, 1];
    then bisection on the exact tails (``betainc``) for the rungs still out of range."""
    if start is None:
        x = _pick(a, b, target)
        lo, hi = np.zeros(x.shape), np.ones(x.shape)
    else:
        x, lo, hi = (v.copy() for v in start)
    tail = _tails(a, b, x)
    low, high = _FIT[0] * target, _FIT[1] * target
    for _ in range(steps):
        mass = tail.sum(axis=2)
        under, over = mass < low, mass > high
        if not (under | over).any():
            break
        hi = np.where(under, x, hi)  # too few arms above: lower x
        lo = np.where(over, x, lo)
        g, j = np.nonzero(under | over)
        x[g, j] = 0.5 * (lo[g, j] + hi[g, j])
        tail[g, j] = betainc(b[g], a[g], 1.0 - x[g, j][:, None])
    return x, tail


def warm_start(x: np.ndarray, mass: np.ndarray, target: np.ndarray):
    """(guess, lo, hi), each (G, L): for each target, the bracket of the current rungs x (G, L)
    whose exact sums ``mass`` lie on either side of it (0 or 1 where none does) and a guess inside
    it, log Σ G interpolated linearly in x between the two rungs.

    >>> guess, lo, hi = warm_start(np.array([[0.6, 0.4]]), np.array([[1.0, 4.0]]), np.array([2.0, 8.0]))
    >>> lo.tolist(), hi.tolist(), guess.round(3).tolist()
    ([[0.4, 0.0]], [[0.6, 0.4]], [[0.5, 0.2]])
    """
    m = mass[:, None, :]  # (G, 1, L points) against (1, L targets, 1)
    t = target[None, :, None]
    xs = np.broadcast_to(x[:, None, :], (x.shape[0], target.size, x.shape[1]))
    above, below = m >= t, m <= t  # a rung at least as crowded as the target lies at or below its x
    i_lo = np.where(above, xs, -1.0).argmax(axis=2)  # the highest such rung
    i_hi = np.where(below, xs, 2.0).argmin(axis=2)
    rows = np.arange(x.shape[0])[:, None]
    has_lo, has_hi = above.any(axis=2), below.any(axis=2)
    lo, hi = np.where(has_lo, x[rows, i_lo], 0.0), np.where(has_hi, x[rows, i_hi], 1.0)
    m_lo, m_hi = mass[rows, i_lo], mass[rows, i_hi]
    both = has_lo & has_hi & (m_hi > 0) & (m_lo > m_hi) & (lo < hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.log(m_lo / target) / np.log(m_lo / m_hi)
    guess = np.where(both, lo + (hi - lo) * np.clip(np.nan_to_num(frac, nan=0.5), 0.0, 1.0), 0.5 * (lo + hi))
    bad = lo >= hi  # rungs out of order (rounding): the whole interval
    return np.where(bad, 0.5, guess), np.where(bad, 0.0, lo), np.where(bad, 1.0, hi)


def _tails(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(θ_k > x_j) (G, L, K) for Beta(a, b) (G, K) and thresholds x (G, L)."""
    return betainc(b[:, None, :], a[:, None, :], 1.0 - x[:, :, None])


def _pick(a: np.ndarray, b: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row and rung, a threshold whose expected number of arms above it is ≈ target (any
    threshold in (0, 1) is exact, this one only sets the speed: ``banditsim.agents._thompson.thresholds``)."""
    mean, sd = beta_moments(a, b)
    cand = beta_candidates(mean, sd)
    expected = expected_above(mean, sd, cand)
    best = np.abs(np.log((expected[:, :, None] + 1e-3) / target)).argmin(axis=1)  # (G, L)
    return cand[np.arange(a.shape[0])[:, None], best]


def _rows_view(replica: np.ndarray, n_replicas: int):
    """An index of rows ``replica`` that is a view (no copy) in the common layouts: one
    replica, or replicas 0..R−1 in order."""
    if replica.size == 1:
        r = int(replica[0])
        return slice(r, r + 1)
    return slice(None) if in_order(replica, n_replicas) else replica
