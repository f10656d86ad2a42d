"""Ranking scores with uniformly random tie-breaks, and uniformly random slates."""

from __future__ import annotations

import numpy as np


def checked_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` itself; a NaN anywhere (a broken posterior) raises ``FloatingPointError``."""
    if np.isnan(scores).any():
        raise FloatingPointError("agent produced NaN scores")
    return scores


def masked_scores(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``scores`` with the arms ``mask`` leaves out at −inf."""
    return scores if mask is None else np.where(mask, scores, -np.inf)


def top_k(scores: np.ndarray, mask: np.ndarray | None, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (B, k) of the k best allowed items per row; ties broken uniformly at random.

    >>> top_k(np.array([[0.1, 0.9, 0.5]]), None, 2, np.random.default_rng(0))
    array([[1, 2]])
    """
    n_rows, n_arms = checked_scores(scores).shape
    if k == 1:
        s = masked_scores(scores, mask)
        best = s.max(axis=1, keepdims=True)
        ties = s == best
        if mask is not None:
            ties &= mask
        noise = rng.random((n_rows, n_arms), dtype=np.float32)
        return np.argmax(np.where(ties, noise, np.float32(-1.0)), axis=1)[:, None]
    allowed = np.ones_like(scores, dtype=bool) if mask is None else mask
    noise = rng.random((n_rows, n_arms))
    order = np.lexsort((noise, -scores, ~allowed), axis=-1)
    return order[:, :k]


def top1_one_row(scores: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> tuple[int, int]:
    """``top_k(scores, mask, 1, rng)`` for one row (scores (1, n_arms)) and its number of tied best
    allowed items, whose inverse is ``greedy_position_probability`` there: the same random draw and
    the same item, in a handful of calls instead of two dozen.

    >>> top1_one_row(np.array([[0.1, 0.9, 0.5]]), None, np.random.default_rng(0))
    (1, 1)
    """
    row = scores[0]
    top = row.max()
    if top != top:  # a NaN anywhere makes the max NaN
        raise FloatingPointError("agent produced NaN scores")
    if mask is None:
        ties = row == top
    else:
        allowed = mask[0]
        row = np.where(allowed, row, -np.inf)
        ties = row == row.max()
        ties &= allowed
    noise = rng.random((1, row.size), dtype=np.float32)[0]  # drawn as top_k draws it, tie or not
    n_ties = int(np.count_nonzero(ties))
    if n_ties == 1:
        return int(ties.argmax()), 1
    return int(np.argmax(np.where(ties, noise, np.float32(-1.0)))), n_ties


def random_slate(mask: np.ndarray | None, n_rows: int, n_arms: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random ordered slate (B, k) of distinct allowed items."""
    keys = rng.random((n_rows, n_arms))
    if mask is not None:
        keys = np.where(mask, keys, -1.0)
    if k == 1:
        return np.argmax(keys, axis=1)[:, None]
    return np.argsort(-keys, axis=1, kind="stable")[:, :k]


def pick_among_ties(ties: np.ndarray, group: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row b, the ``floor(u[b] * n)``-th True of ``ties[group[b]]`` (n = its number of Trues).

    With ``u`` uniform in [0, 1) this picks uniformly among the tied items; cost O(G·n_arms + B),
    not O(B·n_arms) when many rows share a row of ``ties``.  Returns (items, n_ties per group).

    Examples
    --------
    >>> ties = np.array([[True, False, True], [False, True, False]])
    >>> items, n = pick_among_ties(ties, np.array([0, 0, 1]), np.array([0.2, 0.7, 0.9]))
    >>> items.tolist(), n.tolist()
    ([0, 2, 1], [2, 1])
    """
    n_arms = ties.shape[1]
    n_ties = ties.sum(axis=1)
    positions = np.flatnonzero(ties)  # sorted: group g's ties lie in [g*n_arms, (g+1)*n_arms)
    start = np.cumsum(n_ties) - n_ties
    counts = n_ties[group]
    j = np.minimum((u * counts).astype(np.int64), counts - 1)
    return positions[start[group] + j] - group * n_arms, n_ties


def argmax_random_ties(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Argmax over the last axis, ties broken uniformly at random (only tied rows pay for it).

    >>> argmax_random_ties(np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]]), np.random.default_rng(0)).tolist()
    [1, 0]
    """
    best = scores.argmax(axis=-1)
    ties = scores == np.take_along_axis(scores, best[..., None], axis=-1)
    multi = np.flatnonzero(ties.sum(axis=-1) > 1)
    if multi.size:
        flat = ties.reshape(-1, ties.shape[-1])[multi]
        picked, _ = pick_among_ties(flat, np.arange(multi.size), rng.random(multi.size))
        best.reshape(-1)[multi] = picked
    return best

