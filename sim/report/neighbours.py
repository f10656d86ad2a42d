"""Nearest neighbours in embedding space: the sanity check people look at first."""

from __future__ import annotations

import numpy as np


def nearest_neighbours(vectors: np.ndarray, rows: np.ndarray, k: int = 3) -> np.ndarray:
    """For each row index in ``rows``, the ``k`` most cosine-similar other rows.

    ``vectors`` must have unit rows. Returns an int array (len(rows), k).

    Examples
    --------
    >>> v = np.eye(3, dtype=np.float32); v[1] = [0.8, 0.6, 0.0]
    >>> nearest_neighbours(v, np.array([0]), k=1).tolist()
    [[1]]
    """
    sims = vectors[rows] @ vectors.T
    sims[np.arange(len(rows)), rows] = -np.inf
    k = min(k, vectors.shape[0] - 1)
    top = np.argpartition(-sims, kth=k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)
