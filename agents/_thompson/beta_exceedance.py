"""Exact lazy Thompson draws for Beta posteriors: only the arms that can win get a value.

Every replica r has a threshold x_r and every (replica, arm) pair the exact tail
G = P(θ > x_r).  Each decision consumes "slots" (one full posterior draw of every arm);
slot s of arm k exceeds x_r independently with probability G, so the slots where it does
form a Bernoulli process: the pair stores only the next such slot (a geometric jump ahead,
memoryless, so it stays valid until the posterior or x_r changes and is then redrawn).
A slot's winner is the largest of its exceeding arms, each drawn exactly from Beta
conditioned on θ > x_r (``beta_above``); every other arm is ≤ x_r and never drawn.
Arms that exceed x_r in most slots (G ≥ ``CORE`` when x_r was set) are simply drawn in
full in every slot instead.  A slot with no value above x_r (probability ≤ exp(−Σ G) ≈ e⁻⁶)
is completed exactly by ``body`` (the other arms conditioned on θ ≤ x_r).  So a slot costs
O(Σ_k G_k) draws instead of n_arms.

x_r is chosen so that Σ_k G_k ≈ ``TARGET`` (or by a ``choose`` callback) and moved when
updates push Σ_k G_k below 0.6× or above 2× its value then: any x_r gives the same, exact,
distribution; it only sets the speed.  G is kept exact by the incomplete-beta recurrences
after whole observations (``tail_after_step``) and recomputed (``betaincc``) otherwise.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._thompson.beta_tail import (
    beta_above,
    beta_below,
    beta_full,
    tail_after_step,
    upper_tail,
)
from banditsim.agents._thompson.thresholds import beta_candidates, beta_moments, expected_above

TARGET = 6.0
CORE = 0.3
_NEVER = np.iinfo(np.int64).max // 4


class ExceedancePool:
    """Lazy exact draws of ``n_replicas`` × ``n_arms`` independent Beta(alpha, beta) posteriors.

    ``alpha``/``beta`` are the agent's arrays (read, never written; the agent re-binds them
    before each call).  Call ``draw`` to consume slots and ``observe`` after every change of
    alpha/beta; a change made behind its back is detected (``draw`` compares against a
    copy) and the replica rebuilt.
    """

    def __init__(self, alpha: np.ndarray, beta: np.ndarray, choose=None) -> None:
        self.alpha, self.beta = alpha, beta
        self.choose = choose  # reps -> thresholds (may first rewrite alpha/beta[reps]); None: _pick_threshold
        n_replicas, n_arms = alpha.shape
        self.tail = np.zeros((n_replicas, n_arms))
        self.next_slot = np.full((n_replicas, n_arms), _NEVER, dtype=np.int64)
        self.clock = np.zeros(n_replicas, dtype=np.int64)
        self.threshold = np.full(n_replicas, 0.5)
        self.mass = np.zeros(n_replicas)
        self.mass0 = np.zeros(n_replicas)
        self.ready = np.zeros(n_replicas, dtype=bool)
        self.core = np.zeros((n_replicas, n_arms), dtype=bool)
        self._seen_a, self._seen_b = alpha.copy(), beta.copy()
        self.target, self.low, self.high = min(TARGET, 0.5 * n_arms), 0.6, 2.0

    def reset(self) -> None:
        """Forget every pending slot (e.g. after a reseed): rebuilt on the next draw."""
        self.ready[:] = False

    # ------------------------------------------------------------------ draws
    def draw(self, replicas: np.ndarray, n: int, rng: np.random.Generator):
        """Consume ``n`` slots of each replica in ``replicas`` (distinct, sorted).

        Returns the exceedances as flat arrays ``(g, slot, arm, value)`` — replica index into
        ``replicas``, slot in [0, n), arm and its exact draw (> threshold) — and
        ``complete(ids)``: the (len(ids), n_arms) draws of the slots ids = g·n + slot, every
        value known so far kept and every other arm conditioned below the threshold.
        """
        g, slot, arm, value, complete = self.draw_known(replicas, n, rng)
        up = value > self.threshold[replicas[g]]
        return g[up], slot[up], arm[up], value[up], complete

    def draw_known(self, replicas: np.ndarray, n: int, rng: np.random.Generator):
        """``draw`` listing every value drawn: the exceedances of the lazy arms, and every
        slot of the core arms (P(θ > threshold) ≥ ``CORE`` when the replica was built:
        one full draw each is cheaper than their frequent conditioned draws)."""
        self._sync(replicas)
        self._build(replicas[~self.ready[replicas]], rng)
        start = self.clock[replicas]
        nxt = self.next_slot[replicas]
        g, arm = np.nonzero(nxt < (start + n)[:, None])
        rep = replicas[g]
        first = nxt[g, arm] - start[g]
        tail = self.tail[rep, arm]
        g_ev, slot_ev, arm_ev = [g], [first], [arm]
        step = max(1, (1 << 22) // max(n - 1, 1))
        for lo in range(0, g.size if n > 1 else 0, step):  # later exceedances: a Bernoulli(G) per later slot
            sl = slice(lo, lo + step)
            later = np.arange(1, n)[None, :] > first[sl, None]
            i, j = np.nonzero(later & (rng.random((later.shape[0], n - 1)) < tail[sl, None]))
            g_ev.append(g[sl][i]), slot_ev.append(j + 1), arm_ev.append(arm[sl][i])
        self.next_slot[rep, arm] = _jump(start[g] + n, tail, rng)
        self.clock[replicas] += n
        g_ev, slot_ev, arm_ev = (np.concatenate(v) for v in (g_ev, slot_ev, arm_ev))
        rep_ev = replicas[g_ev]
        value = beta_above(self.alpha[rep_ev, arm_ev], self.beta[rep_ev, arm_ev], self.threshold[rep_ev],
                           self.tail[rep_ev, arm_ev], rng)
        cg, ck = np.nonzero(self.core[replicas])
        if cg.size:  # core arms: a full draw in every slot
            cr = replicas[cg]
            full = beta_full(np.repeat(self.alpha[cr, ck], n), np.repeat(self.beta[cr, ck], n), rng)
            g_ev = np.concatenate([g_ev, np.repeat(cg, n)])
            slot_ev = np.concatenate([slot_ev, np.tile(np.arange(n), cg.size)])
            arm_ev = np.concatenate([arm_ev, np.repeat(ck, n)])
            value = np.concatenate([value, full])
        key = g_ev * n + slot_ev

        def complete(ids):
            at, hit = _locate(ids, key)
            need = np.ones((ids.size, self.tail.shape[1]), dtype=bool)
            need[at[hit], arm_ev[hit]] = False
            out = self.body(replicas[ids // n], need, rng)
            out[at[hit], arm_ev[hit]] = value[hit]
            return out

        return g_ev, slot_ev, arm_ev, value, complete

    def body(self, rep: np.ndarray, need: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(len(rep), n_arms) draws conditioned on θ ≤ threshold where ``need`` (−inf elsewhere):
        the arms of a slot that did not exceed it, when no allowed arm of the slot did."""
        i, k = np.nonzero(need)
        r = rep[i]
        out = np.full(need.shape, -np.inf)
        out[i, k] = beta_below(self.alpha[r, k], self.beta[r, k], self.threshold[r], self.tail[r, k], rng)
        return out

    # ------------------------------------------------------------------ updates
    def observe(self, rep: np.ndarray, arm: np.ndarray, success: np.ndarray, rng: np.random.Generator) -> None:
        """Account for alpha/beta[rep, arm] having just received ``success`` (and 1 − success).

        Whole observations of a pair seen once in the batch use the recurrence; others
        (fractional rewards, repeated pairs, pairs edited directly) recompute the tail exactly.
        """
        live = self.ready[rep]
        if not live.all():
            rep, arm, success = rep[live], arm[live], success[live]
        if rep.size == 0:
            return
        n_arms = self.tail.shape[1]
        pair, first, count = np.unique(rep * n_arms + arm, return_index=True, return_counts=True)
        rep, arm, success = pair // n_arms, pair % n_arms, success[first]
        a, b, seen_a, seen_b = self.alpha[rep, arm], self.beta[rep, arm], self._seen_a[rep, arm], self._seen_b[rep, arm]
        x = self.threshold[rep]
        old = self.tail[rep, arm]
        new = np.empty(rep.size)
        whole = (count == 1) & ((success == 0.0) | (success == 1.0))
        whole &= (a == seen_a + success) & (b == seen_b + (1.0 - success))
        i = np.flatnonzero(whole)
        new[i] = tail_after_step(old[i], seen_a[i], seen_b[i], np.log(x[i]), np.log1p(-x[i]), success[i] == 1.0)
        i = np.flatnonzero(~whole)
        new[i] = upper_tail(a[i], b[i], x[i])
        self.tail[rep, arm] = new
        np.add.at(self.mass, rep, new - old)
        self.next_slot[rep, arm] = np.where(self.core[rep, arm], _NEVER, _jump(self.clock[rep], new, rng))
        self._seen_a[rep, arm], self._seen_b[rep, arm] = a, b
        drift = (self.mass[rep] < self.low * self.mass0[rep]) | (self.mass[rep] > self.high * self.mass0[rep])
        if drift.any():
            self.ready[rep[drift]] = False

    # ------------------------------------------------------------------ internals
    def _sync(self, replicas: np.ndarray) -> None:
        """Rebuild replicas whose alpha/beta changed without ``observe`` (direct edits)."""
        if replicas.size == self.alpha.shape[0]:
            same = (self.alpha == self._seen_a) & (self.beta == self._seen_b)
            if same.all():
                return
            bad = ~same.all(axis=1)
        else:
            bad = np.zeros(self.alpha.shape[0], dtype=bool)
            bad[replicas] = ~((self.alpha[replicas] == self._seen_a[replicas])
                              & (self.beta[replicas] == self._seen_b[replicas])).all(axis=1)
        self.ready[bad] = False
        self._seen_a[bad], self._seen_b[bad] = self.alpha[bad], self.beta[bad]

    def _build(self, reps: np.ndarray, rng: np.random.Generator) -> None:
        """Pick each replica's threshold, compute its exact tails and draw every pending slot."""
        if reps.size == 0:
            return
        if self.choose is None:
            x, tail = _fit_threshold(self.alpha[reps], self.beta[reps], self.target)
        else:
            x = self.choose(reps)
            tail = upper_tail(self.alpha[reps], self.beta[reps], x[:, None])
        a, b = self.alpha[reps], self.beta[reps]
        self.threshold[reps] = x
        self.tail[reps] = tail
        self.mass[reps] = self.mass0[reps] = tail.sum(axis=1)
        self.core[reps] = tail >= CORE
        self.next_slot[reps] = np.where(self.core[reps], _NEVER, _jump(self.clock[reps][:, None], tail, rng))
        self._seen_a[reps], self._seen_b[reps] = a, b
        self.ready[reps] = True


def _locate(ids: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of every ``key`` in the sorted unique ``ids`` and whether it is there."""
    at = np.searchsorted(ids, key).clip(max=ids.size - 1)
    return at, np.flatnonzero(ids[at] == key)


def _jump(start, tail, rng: np.random.Generator) -> np.ndarray:
    """First slot ≥ start of a Bernoulli(tail) process: start + Geometric(tail) − 1 (never if 0)."""
    tail = np.broadcast_to(tail, np.broadcast_shapes(np.shape(start), tail.shape))
    u = 1.0 - rng.random(tail.shape)  # (0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.floor(np.log(u) / np.log1p(-tail))
    gap = np.where(tail > 0, np.nan_to_num(gap, nan=0.0, posinf=_NEVER), _NEVER)
    return np.minimum(start + np.minimum(gap, _NEVER).astype(np.int64), _NEVER)


def _fit_threshold(a: np.ndarray, b: np.ndarray, target: float, steps: int = 12):
    """Thresholds (G,) with Σ_k P(θ_k > x) within [target/2, 2·target], and those tails (G, K).

    Starts from ``_pick_threshold`` (normal approximation, poor for flat posteriors) and
    bisects on the exact tails (``betaincc``) only while the sum is out of range."""
    x = _pick_threshold(a, b, target)
    tail = upper_tail(a, b, x[:, None])
    lo, hi = np.zeros(x.size), np.ones(x.size)
    for _ in range(steps):
        mass = tail.sum(axis=1)
        low, high = mass < 0.5 * target, mass > 2.0 * target
        if not (low | high).any():
            break
        hi = np.where(low, x, hi)  # too few exceedances: lower x
        lo = np.where(high, x, lo)
        bad = np.flatnonzero(low | high)
        x[bad] = 0.5 * (lo[bad] + hi[bad])
        tail[bad] = upper_tail(a[bad], b[bad], x[bad][:, None])
    return x, tail


def _pick_threshold(a: np.ndarray, b: np.ndarray, target: float) -> np.ndarray:
    """Per row, a threshold whose expected number of exceeding arms is ≈ ``target``.

    Any threshold in (0, 1) keeps the draws exact; this one only sets the speed
    (``banditsim.agents._thompson.thresholds``).
    """
    mean, sd = beta_moments(a, b)
    cand = beta_candidates(mean, sd)
    best = np.argmin(np.abs(expected_above(mean, sd, cand) - target), axis=1)
    return cand[np.arange(a.shape[0]), best]
