"""User-state dynamics, each switchable: fatigue, drift, blocking, patience, return/churn.

- **Fatigue**: every exposure of item j adds 1 to the user's fatigue on j and ``sim(j, i)``
  on near-duplicates i (cosine ≥ ``similarity``, at most ``max_neighbors``). Fatigue lowers
  utility by ``strength · T_u · fatigue`` (T_u the user's temperature) and recovers
  geometrically: it is multiplied by ``recovery`` every step.
- **Drift**: a positive response to item j pulls θ toward x_j by ``rate``, keeping θ's part along
  the catalog's common direction (so drift moves tastes, not the level of every item; see
  :class:`Drift`), or toward the projection of x_j onto the span of the population's tastes
  (``Drift(basis="tastes")``).
  With ``trend_rate`` > 0 every user is also pulled each step toward a shared trend item that
  changes every ``trend_period`` steps (exogenous, population-wide: :mod:`banditsim.envs.taste_trend`).
- **Blocking**: a ``block`` response removes the item from the user's mask for good; a
  blocked item shown again is always answered ``block``.
- **Patience**: a session starts with ``initial`` patience; each negative response costs 1;
  at 0 the session is terminated.
- **Return/churn**: when a session ends the same person returns at once with probability
  ``p_return`` (new session, patience refilled, fatigue recovered for ``gap`` steps, taste and
  blocks kept); otherwise they churn and a fresh person from the population takes the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from banditsim._xp import add_at
from banditsim.envs.parameters import Param, check_parameters


@dataclass(frozen=True)
class Fatigue:
    """Repeated / near-duplicate exposure lowers utility; recovers by ``recovery`` per step."""

    enabled: bool = True
    strength: float = 1.0
    recovery: float = 0.8
    similarity: float = 0.85
    max_neighbors: int = 8

    parameters: ClassVar[dict[str, Param]] = {
        "enabled": Param("repeated / near-duplicate exposure lowers utility"),
        "strength": Param("utility lost per exposure", ge=0),
        "recovery": Param("share of fatigue kept per step (0: none kept)", ge=0, lt=1),
        "similarity": Param("cosine above which items count as near-duplicates", ge=-1, le=1),
        "max_neighbors": Param("near-duplicates tracked per item", ge=1),
    }

    def __post_init__(self):
        check_parameters(self, "fatigue")


@dataclass(frozen=True)
class Drift:
    """Positive responses pull θ toward the consumed item by ``rate``, in the item's distinctive part.

    The rule: with u = c/‖c‖ the direction of the catalog's centre c (the mean of the item
    positions the world scores, fixed when the world is built; items added later do not move it),
    a = θ·u and ⊥ the part orthogonal to u,

        θ ← a·u + √(1 − a²) · normalise(θ⊥ + rate·x⊥_j).

    θ stays unit and θ·u never changes, so drift leaves κ·θ·c, the taste part of the catalog's
    mean utility, exactly where it was: it changes which items a user prefers, not how much they
    like the catalog as a whole. (Text embeddings share a large common direction, ‖c‖ ≈ 0.7: the
    plain rule θ ← normalise(θ + rate·x_j) pulled every taste toward c, and a uniform-random
    policy's expected reward rose from 0.42 to 0.96 in 100 steps of the MovieLens quickstart.)
    With c = 0 the rule is the plain one. A taste along u itself (√(1 − a²) < 10⁻³) is not moved.

    ``basis="full"`` (default) pulls θ toward the item vector x_j itself. ``basis="tastes"``
    pulls it toward P·x_j, the projection of x_j onto the span of the population's tastes,
    so θ never leaves that span: a documented model choice, not an approximation of
    ``"full"`` (the user moves toward the part of the item their taste model can express).
    MovieLens-fitted tastes span 64 of the 384 embedding dimensions (ridge in a principal
    subspace, :mod:`banditsim.envs.fit_ratings`), so every taste operation of the world then runs in 64
    dimensions, u being the direction of the centre's projection. Where the tastes span every
    dimension the two bases are the same model.

    ``trend_rate`` > 0 adds an exogenous trend: every step each user's θ is also pulled toward
    one shared trend item by ``trend_rate`` (by the same rule), and the trend jumps to another
    item every ``trend_period`` steps (:mod:`banditsim.envs.taste_trend`). Off by default (0).

    >>> Drift(basis="tastes").basis
    'tastes'
    >>> Drift(trend_rate=0.1, trend_period=50).trend_period
    50
    """

    enabled: bool = True
    rate: float = 0.05
    basis: str = "full"
    trend_rate: float = 0.0
    trend_period: int = 100

    parameters: ClassVar[dict[str, Param]] = {
        "enabled": Param("positive responses pull the user's taste toward the item"),
        "rate": Param("pull per positive response", ge=0, finite=True),
        "basis": Param("full (toward the item) or tastes (its part in the tastes' span)", choices=("full", "tastes")),
        "trend_rate": Param("exogenous trend: pull of every user's taste toward a shared trend item per step "
                            "(0: off)", ge=0, finite=True),
        "trend_period": Param("steps between jumps of the trend to another item", ge=1, integer=True),
    }

    def __post_init__(self):
        check_parameters(self, "drift")


@dataclass(frozen=True)
class Blocking:
    """A ``block`` response masks the item for that user for good."""

    enabled: bool = True

    parameters: ClassVar[dict[str, Param]] = {
        "enabled": Param("a block hides the item from that user for good"),
    }


@dataclass(frozen=True)
class Patience:
    """Negatives cost patience; at zero the session is terminated."""

    enabled: bool = True
    initial: int = 5

    parameters: ClassVar[dict[str, Param]] = {
        "enabled": Param("negatives cost patience; at zero the session ends"),
        "initial": Param("negatives a user tolerates per session", ge=1),
    }

    def __post_init__(self):
        check_parameters(self, "patience")


@dataclass(frozen=True)
class Returns:
    """After a session ends: return with ``p_return`` (after ``gap`` steps of recovery), else churn."""

    p_return: float = 0.5
    gap: int = 20

    parameters: ClassVar[dict[str, Param]] = {
        "p_return": Param("chance a user comes back after a session (else churns)", ge=0, le=1),
        "gap": Param("steps away before returning", ge=0),
    }

    def __post_init__(self):
        check_parameters(self, "returns")


_TILE = (512, 4096)  # (rows, columns) of the cosine tiles near_duplicates computes at a time


def near_duplicates(x: np.ndarray, cfg: Fatigue) -> tuple[np.ndarray, np.ndarray]:
    """Per item: (n, M) distinct neighbour indices (self first) and fatigue weights.

    Column 0 is the item itself (weight 1); then its most similar other items with cosine
    x_i·x_j ≥ ``cfg.similarity`` (weight: the cosine), most similar first; the remaining
    slots hold other distinct items with weight 0 (they change nothing). ``x`` holds the
    (n, d) unit item vectors; cosines are computed a tile at a time (``_TILE``) and only
    those above the threshold are kept, so memory grows with n, not n² (the work is n²·d).

    >>> x = np.array([[1, 0], [.9, .436], [.1, .995]], dtype=np.float32)
    >>> idx, w = near_duplicates(x, Fatigue(similarity=0.85, max_neighbors=2))
    >>> idx.tolist(), np.round(w, 2).tolist()
    ([[0, 1], [1, 0], [2, 0]], [[1.0, 0.9], [1.0, 0.9], [1.0, 0.0]])
    """
    xf = np.ascontiguousarray(x, dtype=np.float32)
    n = xf.shape[0]
    m = min(cfg.max_neighbors, n)
    k = m - 1  # neighbour slots besides the item itself
    own = np.arange(n)
    real = np.full((n, k), -1, dtype=np.int64)  # neighbours above the threshold (−1: none)
    vals = np.zeros((n, k), dtype=np.float32)
    xt = np.ascontiguousarray(xf.T)
    buf = np.empty((min(n, _TILE[0]), min(n, _TILE[1])), dtype=np.float32)  # one tile, reused
    for lo in range(0, n, _TILE[0]):  # tiles of cosines: memory O(tile), not O(n²)
        hi = min(n, lo + _TILE[0])
        parts = []
        for clo in range(0, n, _TILE[1]):
            chi = min(n, clo + _TILE[1])
            g = np.matmul(xf[lo:hi], xt[:, clo:chi], out=buf[: hi - lo, : chi - clo])
            if clo < hi and lo < chi:  # the diagonal crosses this tile: an item is not its own neighbour
                d = np.arange(max(lo, clo), min(hi, chi))
                g[d - lo, d - clo] = -np.inf
            rows = np.flatnonzero(g.max(axis=1) >= cfg.similarity)  # most tiles have few such rows
            r, c = np.nonzero(g[rows] >= cfg.similarity)
            r = rows[r]
            parts.append((r, c + clo, g[r, c]))
        r, c, v = (np.concatenate(a) for a in zip(*parts))
        order = np.lexsort((-v, r))  # by row, most similar first
        r, c, v = r[order], c[order], v[order]
        rank = np.arange(len(r)) - np.searchsorted(r, r)  # position within the row
        keep = rank < k
        real[lo + r[keep], rank[keep]] = c[keep]
        vals[lo + r[keep], rank[keep]] = v[keep]
    n_real = (real >= 0).sum(1)
    # pads: the first items after i (cyclically) that are not among i's real neighbours
    cand = (own[:, None] + 1 + np.arange(m)[None, :]) % max(n, 1)
    taken = (cand[:, :, None] == real[:, None, :]).any(2)
    pads = np.take_along_axis(cand, np.argsort(taken, axis=1, kind="stable"), axis=1)
    shift = np.clip(np.arange(k)[None, :] - n_real[:, None], 0, None)
    slot_real = np.arange(k)[None, :] < n_real[:, None]
    idx = np.empty((n, m), dtype=np.int64)
    idx[:, 0] = own
    idx[:, 1:] = np.where(slot_real, real, np.take_along_axis(pads, shift, axis=1))
    w = np.ones((n, m), dtype=np.float32)
    w[:, 1:] = np.where(slot_real, vals, 0.0)
    return idx, w


class FatigueState:
    """Dense (users × items) fatigue with lazy geometric decay (one global scale factor).

    Neighbour columns whose weight is 0 for every item are dropped (adding 0 changes nothing).
    Column 0 of the neighbour table is the item itself with weight 1 (see :func:`near_duplicates`).
    """

    def __init__(self, be, n_rows: int, n_items: int, cfg: Fatigue, nbr_idx, nbr_w):
        self.be, self.cfg = be, cfg
        self.f = be.zeros((n_rows, n_items), "float32")
        self.scale = 1.0  # stored = actual · scale
        self.set_neighbors(nbr_idx, nbr_w)

    def set_neighbors(self, nbr_idx, nbr_w) -> None:
        w = np.asarray(nbr_w, dtype=np.float32)
        nz = np.flatnonzero((w != 0).any(0))
        m = int(nz[-1]) + 1 if len(nz) else 1
        self.nbr_idx = self.be.asarray(np.ascontiguousarray(np.asarray(nbr_idx)[:, :m]), "int64")
        self.nbr_w = self.be.asarray(np.ascontiguousarray(w[:, :m]), "float32")
        self.has_nbr = (w[:, 1:m] != 0).any(1)  # numpy: items with a near duplicate

    def values(self, rows, cols):
        return self.be.gather(self.f, rows, cols) * (1.0 / self.scale)

    def rows_dense(self, rows):
        return self.f[rows] * (1.0 / self.scale)

    def tick(self) -> bool:
        """One step of recovery; True when the stored values were rewritten (not just rescaled)."""
        if self.cfg.recovery == 0:
            self.f[:] = 0
            return True
        self.scale /= self.cfg.recovery
        if self.scale > 1e12:
            self.f *= 1.0 / self.scale
            self.scale = 1.0
            return True
        return False

    def expose_single(self, rows, items, flat, raw=None) -> None:
        """One exposure per row: ``items`` (backend, one per row of ``rows``) at flat indices
        ``flat`` = rows·n_items + items; ``raw``: the stored values there, when already read.

        The item itself gets +1 (one scatter); only rows whose item has near duplicates touch
        the neighbour columns.
        """
        be = self.be
        xf = self.f.reshape(-1)
        if raw is None:
            raw = be.take(self.f, flat)
        xf[flat] = raw + self.scale
        if self.nbr_idx.shape[1] > 1:
            sub = self.has_nbr[be.to_numpy(items)].nonzero()[0]
            if len(sub):
                sb = be.asarray(sub, "int64")
                it = items[sb]
                cols = be.take_rows(self.nbr_idx, it)[:, 1:]
                w = be.take_rows(self.nbr_w, it)[:, 1:] * self.scale
                xf[(rows[sb] * self.f.shape[1])[:, None] + cols] += w

    def expose(self, rows, items, accumulate: bool) -> None:
        """Add exposure of ``items`` for ``rows`` (1-d, same length)."""
        if len(rows) == 0:
            return
        be = self.be
        cols = be.take_rows(self.nbr_idx, items)
        w = be.take_rows(self.nbr_w, items) * self.scale
        flat = (rows * self.f.shape[1])[:, None] + cols
        if accumulate:  # an item shown twice in a row's slate adds its exposure twice
            add_at(self.f.reshape(-1), flat.reshape(-1), w.reshape(-1))
        else:
            xf = self.f.reshape(-1)
            xf[flat] += w

    def reset_rows(self, rows) -> None:
        self.f[rows] = 0

    def recover_rows(self, rows, steps: int) -> None:
        self.f[rows] *= self.cfg.recovery ** steps

    def add_items(self, n_new: int) -> None:
        self.f = self.be.cat([self.f, self.be.zeros((self.f.shape[0], n_new), "float32")], axis=1)
