"""The user-history context: what each slot's person liked lately, as the agents see items.

With ``history_k`` = k > 0 the world appends to every slot's visible features the mean, over the
last k items that person answered positively (click, like, save or share: the one responding
item of a step; for slates the responding position only, never the items examined and passed
over), of those items' vectors as the agents see them (``World.item_vectors``, the space of
``Context.arm_features``), in the coordinates the linear agents reduce items to: centred on the
catalog's mean item and projected on its top ``history_dim`` principal directions (the centre and
directions of the catalog at construction; items added later are projected the same way). The
features then read ``[visible features (d_u), history (m)]``, m = min(history_dim, d).

Before a person's first positive answer the history is the catalog's mean item, i.e. zeros in
these coordinates (the documented prior). A slot that gets a new person starts empty again; a
person who returns for another session keeps theirs. Built only from what was shown and
answered: the true taste is never read. k = 0 switches it off (features exactly as before).

State is a (B, k, m) ring buffer of the projected vectors, a per-slot count and write position,
and running float64 sums, all updated for the answering rows at once (no loop over users).

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(10, 5))
>>> h = UserHistory(x, k=2, dim=3)
>>> h.start(2)
>>> h.record(np.array([True, False]), np.array([4, -1]), x)
>>> h.record(np.array([True, True]), np.array([7, 1]), x)
>>> bool(np.allclose(h.features()[0], h.project(x[[4, 7]]).mean(0), atol=1e-6))
True
>>> h.features()[1].shape
(3,)
"""

from __future__ import annotations

import numpy as np

from banditsim._principal import principal_directions
from banditsim.envs.world_errors import WorldConfigError

__all__ = ["UserHistory", "check_history"]


def check_history(k, dim) -> tuple[int, int]:
    """``(history_k, history_dim)`` as ints, or a :class:`WorldConfigError` naming the bad one."""
    for name, value, low in (("history_k", k, 0), ("history_dim", dim, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise WorldConfigError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return int(k), int(dim)


class UserHistory:
    """Per-slot mean of the last ``k`` positively answered items' projected vectors (see module doc)."""

    def __init__(self, item_vectors: np.ndarray, k: int, dim: int):
        self.k, dim = check_history(k, dim)
        x = np.asarray(item_vectors, dtype=np.float64)
        self.dim = min(dim, x.shape[1]) if self.k else 0
        if not self.k:
            return
        self._centre, basis = principal_directions(x, self.dim)  # the agents' arm_dim reduction too
        self._basis = basis.copy()  # (d, m)
        self._z = self.project(x)  # (n_items, m) every item's coordinates, extended as items are added
        self.bounds(x)

    @property
    def on(self) -> bool:
        """Whether the history is appended to the features (k > 0)."""
        return self.k > 0

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """(n, m) coordinates of item ``vectors`` (n, d): centred, on the principal directions."""
        return (np.asarray(vectors, dtype=np.float64) - self._centre) @ self._basis

    def bounds(self, item_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) float32 per history coordinate over the items (a mean of items, and the prior
        0 = the catalog's mean, lies between them); also kept to clip float rounding."""
        if not self.k:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        z = self.project(item_vectors)
        self._low = np.minimum(z.min(0), 0.0).astype(np.float32)
        self._high = np.maximum(z.max(0), 0.0).astype(np.float32)
        return self._low.copy(), self._high.copy()

    def start(self, n_rows: int) -> None:
        """Empty histories for ``n_rows`` slots."""
        if not self.k:
            return
        self._buf = np.zeros((n_rows * self.k, self.dim))  # slot r's ring: rows r·k … r·k + k − 1
        self._buf3 = self._buf.reshape(n_rows, self.k, self.dim)  # the same memory, per slot
        self._mean = np.zeros((n_rows, self.dim))  # scratch for features()
        self._sum = np.zeros((n_rows, self.dim))
        self._count = np.zeros(n_rows, dtype=np.int64)  # items held (≤ k)
        self._next = np.zeros(n_rows, dtype=np.int64)  # ring position written next

    def reset_rows(self, rows: np.ndarray) -> None:
        """Slots ``rows`` got a new person: their history starts empty."""
        if not self.k or len(rows) == 0:
            return
        self._buf3[rows] = 0.0
        self._sum[rows] = 0.0
        self._count[rows] = 0
        self._next[rows] = 0

    def record(self, positive: np.ndarray, item: np.ndarray, item_vectors: np.ndarray) -> None:
        """Push ``item[r]`` for every slot r where ``positive`` (B,) bool is True (``item`` ≥ 0 there)."""
        if not self.k:
            return
        rows = np.flatnonzero(positive)
        if not len(rows):
            return
        n = item_vectors.shape[0]
        if n > len(self._z):  # items added to the catalog (World.add_items appends them)
            new = self.project(item_vectors[len(self._z):])
            self._z = np.concatenate([self._z, new])
            # they may reach past the bounds: widen them, so that clipping never moves a mean
            self._low = np.minimum(self._low, new.min(0).astype(np.float32))
            self._high = np.maximum(self._high, new.max(0).astype(np.float32))
        z = self._z[item[rows]]
        pos = self._next[rows]
        at = rows * self.k + pos
        self._sum[rows] += z - self._buf[at]
        self._buf[at] = z
        nxt = pos + 1
        nxt[nxt == self.k] = 0
        self._next[rows] = nxt
        self._count[rows] = np.minimum(self._count[rows] + 1, self.k)
        # re-add the window exactly once per wrap, so the running sums never drift from the buffer
        wrap = rows[nxt == 0]
        if len(wrap):
            self._sum[wrap] = self._buf3[wrap].sum(1)

    def features(self) -> np.ndarray:
        """(B, m) float32 history coordinates (0 where a slot has no positive answer yet)."""
        return self._clipped_mean().astype(np.float32)

    def append_to(self, visible: np.ndarray) -> np.ndarray:
        """``[visible, history]`` as a new (B, d_u + m) float32 array (a copy of ``visible`` when off)."""
        if not self.k:
            return visible.copy()
        d_u = visible.shape[1]
        out = np.empty((visible.shape[0], d_u + self.dim), dtype=np.float32)
        out[:, :d_u] = visible
        out[:, d_u:] = self._clipped_mean()
        return out

    def _clipped_mean(self) -> np.ndarray:
        """(B, m) float64 means, clipped to the bounds (a no-op but for float rounding), in scratch."""
        mean = np.divide(self._sum, np.maximum(self._count, 1)[:, None], out=self._mean)
        np.maximum(mean, self._low.astype(np.float64), out=mean)
        return np.minimum(mean, self._high.astype(np.float64), out=mean)
