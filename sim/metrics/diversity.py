"""Diversity from item embeddings: intra-list distance of a slate and of a whole session.

Both are the mean over pairs of shown items of ``1 − cosine`` between their embeddings, computed
without a pair loop: for unit vectors, Σ_{i≠j} x_i·x_j = |Σx|² − Σ|x|².
"""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float64."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def mean_pair_distance(vec_sum: np.ndarray, sq_sum: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean 1 − cosine over the n(n−1) ordered pairs of n unit vectors from their sum and Σ|x|²
    (NaN where n < 2).

    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> mean_pair_distance(x.sum(0)[None], np.array([2.0]), np.array([2])).tolist()
    [1.0]
    """
    n = np.asarray(n, dtype=np.float64)
    cross = (vec_sum * vec_sum).sum(-1) - sq_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, 1.0 - cross / (n * (n - 1)), np.nan)


def intra_list_distance(slates: np.ndarray, unit_items: np.ndarray) -> np.ndarray:
    """(B,) mean 1 − cosine between the items of each slate (NaN for a slate of one item).

    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> intra_list_distance(np.array([[0, 1], [0, 2], [0, 0]]), x).tolist()
    [1.0, 2.0, 0.0]
    """
    v = unit_items[slates]
    return mean_pair_distance(v.sum(1), (v * v).sum((1, 2)), np.full(len(slates), slates.shape[1]))
