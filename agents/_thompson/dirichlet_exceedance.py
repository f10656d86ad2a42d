"""Exact lazy draws of Dirichlet Thompson scores s = Σ_v v·p_v, p ~ Dirichlet(counts).

Split the kind values at a cut c (per replica): with B = the mass of the values above c,
B ~ Beta(counts above c, counts at or below c), independent of how the mass is shared
inside each side (Dirichlet aggregation and neutrality).  Since s ≤ v_max·B + c·(1 − B),
a score above L needs B above t = (L − c)/(v_max − c): the arms whose B exceeds t are
found and drawn exactly by an ``ExceedancePool`` over the (above, below) counts, their
scores completed with fresh draws of the two sides; arms with B ≤ t score ≤ L and are
never drawn.  A slot whose scores above L are all masked out (or that has none) is
completed exactly: B conditioned ≤ t, then the two sides.  L targets ``TARGET`` scores
above it per slot (normal approximation); the cut minimises the expected number of B
exceedances.  Any L and cut give the same, exact, distribution.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from banditsim.agents._thompson.beta_exceedance import ExceedancePool
from banditsim.agents._thompson.thresholds import around_best, expected_above

TARGET = 6.0


class DirichletExceedance:
    """Lazy slots of DirichletTS scores; ``counts`` is the agent's (R, n_arms, n_kinds) array
    (rebind ``counts`` before each call; ``observe`` after each update)."""

    def __init__(self, counts: np.ndarray, kind_values: np.ndarray) -> None:
        self.counts = counts
        self.values, group = np.unique(kind_values, return_inverse=True)
        self.kind_to_value = group.reshape(-1)
        n_replicas, n_arms, _ = counts.shape
        self.cut = np.zeros(n_replicas, dtype=np.int64)  # index of c in ``values``
        self.level = np.zeros(n_replicas)  # L
        self.above = np.zeros((n_replicas, n_arms))
        self.below = np.ones((n_replicas, n_arms))
        self.pool = ExceedancePool(self.above, self.below, choose=self._choose)
        self._seen = counts.copy()
        self.target = np.full(n_replicas, TARGET)  # scores expected above L per slot
        self.adapt = True  # raise a replica's target when its slots often need completing

    def reset(self) -> None:
        """Forget every pending slot (e.g. after a reseed)."""
        self.pool.reset()

    def draw(self, replicas: np.ndarray, n: int, rng: np.random.Generator):
        """Like ``ExceedancePool.draw``, with values = scores, listing the arms scoring above L."""
        changed = ~(self.counts[replicas] == self._seen[replicas]).all(axis=(1, 2))
        if changed.any():  # counts edited directly: re-split (the pool then rebuilds those replicas)
            self._split(replicas[changed], self.cut[replicas[changed]])
            self._seen[replicas[changed]] = self.counts[replicas[changed]]
        g, slot, arm, b_value, complete_b = self.pool.draw_known(replicas, n, rng)
        rep = replicas[g]
        score, high, exact = self._score(rep, arm, b_value, rng, self.level[rep])
        real = score > self.level[rep]
        key = g * n + slot

        completed = np.zeros(replicas.size, dtype=np.int64)  # slots completed per replica in this draw
        adapted = np.zeros(replicas.size, dtype=bool)

        def complete(ids):  # called in chunks of slots (``slot_winners``): adapt once per draw
            np.add.at(completed, ids // n, 1)
            busy = (completed > 0.02 * n + 1) & ~adapted
            if busy.any():
                adapted[busy] = True
                self._adapt(replicas[busy])
            mass = complete_b(ids)  # B of every arm: known ones as drawn, the others ≤ t
            rows = np.repeat(replicas[ids // n], mass.shape[1])
            arms = np.tile(np.arange(mass.shape[1]), ids.size)
            out = self._score(rows, arms, mass.ravel(), rng)[0].reshape(mass.shape)
            at = np.searchsorted(ids, key).clip(max=ids.size - 1)
            hit = np.flatnonzero(ids[at] == key)
            todo = hit[~exact[hit]]  # bounded scores: draw their side below now
            for j in np.unique(self.cut[rep[todo]]):
                i = todo[self.cut[rep[todo]] == j]
                c = merge_kinds(self.counts[rep[i], arm[i]], self.kind_to_value, self.values.size)
                score[i] = self._with_side_below(c[:, : j + 1], j, b_value[i], high[i], rng)
                exact[i] = True
            out[at[hit], arm[hit]] = score[hit]  # known arms keep their own scores
            return out

        return g[real], slot[real], arm[real], score[real], complete

    def observe(self, rep: np.ndarray, arm: np.ndarray, kind: np.ndarray, rng: np.random.Generator) -> None:
        """Account for counts[rep, arm, kind] having just grown by one (per row).

        A replica whose counts changed in any other way (direct edits) is rebuilt instead."""
        live = self.pool.ready[rep]
        rep, arm, kind = rep[live], arm[live], kind[live]
        reps, where = np.unique(rep, return_inverse=True)
        expected = self._seen[reps]
        np.add.at(expected, (where.reshape(-1), arm, kind), 1.0)
        ok = (self.counts[reps] == expected).all(axis=(1, 2))
        self.pool.ready[reps[~ok]] = False
        keep = ok[where.reshape(-1)]
        rep, arm, kind = rep[keep], arm[keep], kind[keep]
        high = self.values[self.kind_to_value[kind]] > self.values[self.cut[rep]]
        np.add.at(self.above, (rep, arm), high.astype(np.float64))
        np.add.at(self.below, (rep, arm), (~high).astype(np.float64))
        self._seen[reps[ok]] = self.counts[reps[ok]]
        self.pool.observe(rep, arm, high.astype(np.float64), rng)

    # ------------------------------------------------------------------ internals
    def _adapt(self, busy: np.ndarray) -> None:
        """Replicas ``busy`` completing > 2% of their n slots in a draw get 1.5× the target (rebuilt
        next draw): L came out too high for the normal approximation, which only costs time, not exactness."""
        if not self.adapt:
            return
        self.target = np.broadcast_to(self.target, self.pool.ready.shape).copy()
        self.target[busy] = np.minimum(1.5 * self.target[busy], 100.0)
        self.pool.ready[busy] = False

    def _score(self, rep, arm, b_value, rng, level=None):
        """Scores given the mass B above the cut: B·(mean value above) + (1 − B)·(mean below),
        each side's shares drawn afresh from its Dirichlet (independent of B).

        With a ``level``, scores whose bound B·(mean above) + (1 − B)·(cut value) is already
        ≤ level skip the side below and return that bound; the other results are the mean
        above (kept: completing such a score later draws only the side below) and a flag
        marking the exact scores."""
        c = merge_kinds(self.counts[rep, arm], self.kind_to_value, self.values.size)  # (E, n_values)
        cut = self.cut[rep]
        score, high = np.empty(rep.size), np.empty(rep.size)
        exact = np.ones(rep.size, dtype=bool)
        for j in np.unique(cut):  # one pass per distinct cut (usually one)
            i = np.flatnonzero(cut == j)
            g = rng.standard_gamma(c[i, j + 1:])
            mean_high = dot_values(g, self.values[j + 1:]) / g.sum(axis=1)
            high[i] = mean_high
            score[i] = b_value[i] * mean_high + (1.0 - b_value[i]) * self.values[j]
            if level is not None:
                keep = score[i] > level[i]
                exact[i[~keep]] = False
                i, mean_high = i[keep], mean_high[keep]
            score[i] = self._with_side_below(c[i, : j + 1], j, b_value[i], mean_high, rng)
        return score, high, exact

    def _with_side_below(self, c_low, j, b_value, mean_high, rng):
        """The score once the shares of the values at or below the cut are drawn."""
        g = rng.standard_gamma(c_low)
        return b_value * mean_high + (1.0 - b_value) * dot_values(g, self.values[: j + 1]) / g.sum(axis=1)

    def _merged(self, reps: np.ndarray) -> np.ndarray:
        return merge_kinds(self.counts[reps], self.kind_to_value, self.values.size)  # (G, n_arms, n_values)

    def _split(self, reps: np.ndarray, cut: np.ndarray) -> None:
        c = self._merged(reps)
        high = self.values[None, :] > self.values[cut][:, None]  # (G, n_values)
        self.above[reps] = (c * high[:, None, :]).sum(axis=2)
        self.below[reps] = (c * ~high[:, None, :]).sum(axis=2)
        self.cut[reps] = cut
        self._seen[reps] = self.counts[reps]

    def _choose(self, reps: np.ndarray) -> np.ndarray:
        """Pick L and the cut of each replica, rewrite its (above, below) counts, return t."""
        c = self._merged(reps)
        total = c.sum(axis=2)
        mean = dot_values(c, self.values) / total
        var = np.maximum(dot_values(c, self.values**2) / total - mean**2, 1e-12) / (total + 1.0)
        target = np.broadcast_to(self.target, self.pool.ready.shape)[reps]
        level = _pick_level(mean, np.sqrt(var), target)
        v, vmax = self.values, self.values[-1]
        best_cut, best_mass = np.zeros(reps.size, dtype=np.int64), np.full(reps.size, np.inf)
        for j in range(v.size - 1):
            ok = v[j] < level
            t = (level - v[j]) / (vmax - v[j])
            above = c[:, :, j + 1:].sum(axis=2)
            p = above / total
            sd = np.sqrt(p * (1.0 - p) / (total + 1.0)) + 1e-12
            mass = np.where(ok, ndtr((p - t[:, None]) / sd).sum(axis=1), np.inf)
            better = mass < best_mass
            best_cut, best_mass = np.where(better, j, best_cut), np.where(better, mass, best_mass)
        self._split(reps, best_cut)
        cut_value = v[best_cut]
        t = np.clip((level - cut_value) / (vmax - cut_value), 1e-9, 1.0 - 1e-9)
        self.level[reps] = cut_value + t * (vmax - cut_value)  # the L that t certifies
        return t


def merge_kinds(counts: np.ndarray, kind_to_value: np.ndarray, n_values: int) -> np.ndarray:
    """Sum the last axis of ``counts`` over kinds of equal value (no BLAS: tiny inner sizes
    make matmul slow, and threaded BLAS thrashes on a loaded machine).

    >>> merge_kinds(np.array([[1.0, 2.0, 3.0]]), np.array([0, 1, 1]), 2).tolist()
    [[1.0, 5.0]]
    """
    out = np.zeros((*counts.shape[:-1], n_values))
    for kind, value in enumerate(kind_to_value):  # a loop over the (few) feedback kinds
        out[..., value] += counts[..., kind]
    return out


def dot_values(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """x @ v over the last axis, without BLAS (see ``merge_kinds``)."""
    return np.einsum("...k,k->...", x, v)


def _pick_level(mean: np.ndarray, sd: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row, a score level L with ≈ ``target[row]`` arms expected above it (normal approximation)."""
    cand = around_best(mean, sd)
    expected = expected_above(mean, sd, cand)
    return cand[np.arange(mean.shape[0]), np.argmin(np.abs(expected - target[:, None]), axis=1)]
