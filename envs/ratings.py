"""Ratings as parallel arrays, the per-user train/test split, and the shrunk bias means.

The shared ground of the taste fits (:mod:`banditsim.envs.fit_ratings`, :mod:`banditsim.envs.text_mf`,
:mod:`banditsim.envs.text_mf_choice`, :mod:`banditsim.envs.fit_baselines`): it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.envs.world_errors import PopulationError


@dataclass(frozen=True)
class Ratings:
    """Ratings as parallel arrays: user row, item row (catalog order), rating (and time, if known)."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    user_ids: tuple[str, ...]
    n_items: int
    time: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def take(self, mask) -> "Ratings":
        """The ratings where ``mask`` is true (all users kept)."""
        time = None if self.time is None else self.time[mask]
        return Ratings(self.user[mask], self.item[mask], self.rating[mask], self.user_ids, self.n_items, time)


def split_ratings(ratings: Ratings, train_fraction: float = 0.8, seed: int | None = 0):
    """Split each user's ratings at random: ``round(train_fraction·n_u)`` to train, rest to test.

    >>> r = Ratings(np.array([0] * 5 + [1] * 5), np.arange(10), np.ones(10), ("a", "b"), 10)
    >>> tr, te = split_ratings(r, 0.8, seed=0)
    >>> len(tr.user), len(te.user)
    (8, 2)
    """
    if not 0 < train_fraction < 1:
        raise PopulationError(f"train_fraction must be in (0, 1), got {train_fraction}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(ratings.user)), ratings.user))
    counts = np.bincount(ratings.user, minlength=ratings.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order)) - starts[ratings.user[order]]
    train = pos < np.round(train_fraction * counts)[ratings.user]
    return ratings.take(train), ratings.take(~train)


def shrunk_means(resid: np.ndarray, idx: np.ndarray, n: int, lam: float) -> np.ndarray:
    """Per-group mean of ``resid`` over groups ``idx`` (n groups), shrunk toward 0 by ``lam`` pseudo-rows.

    >>> shrunk_means(np.array([2.0, 4.0, 3.0]), np.array([0, 0, 1]), 3, 1.0).tolist()
    [2.0, 1.5, 0.0]
    """
    return np.bincount(idx, resid, minlength=n) / (np.bincount(idx, minlength=n) + lam)
