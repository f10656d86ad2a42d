"""Catalog-level views of what was shown: coverage, Gini of exposure, novelty, group exposure shares."""

from __future__ import annotations

import numpy as np


def coverage(shown: np.ndarray) -> float:
    """Share of the catalog's items shown at least once (``shown``: exposure count per item).

    >>> coverage(np.array([3, 0, 1, 0]))
    0.5
    """
    return float((np.asarray(shown) > 0).mean())


def gini(exposure: np.ndarray) -> float:
    """Gini coefficient of exposure over items: 0 when every item is shown equally, (n−1)/n
    when one item gets everything; NaN when nothing was shown.

    >>> gini(np.array([5, 5, 5, 5])), gini(np.array([0, 0, 0, 8]))
    (0.0, 0.75)
    >>> round(gini(np.array([1, 2, 3, 4])), 6)
    0.25
    """
    x = np.sort(np.asarray(exposure, dtype=np.float64))
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(2.0 * (i * x).sum() / (n * total) - (n + 1.0) / n)


def ratings_popularity(counts: np.ndarray) -> np.ndarray:
    """Popularity of each item from its rating count, add-one smoothed so unrated items are finite:
    ``(c + 1) / (Σc + n)``.

    >>> ratings_popularity(np.array([2, 0])).tolist()
    [0.75, 0.25]
    """
    c = np.asarray(counts, dtype=np.float64)
    return (c + 1.0) / (c.sum() + c.size)


def novelty(items: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Mean −log2 popularity of the items shown per row (``items`` (B,) or (B, k)).

    Uniform popularity over n items gives log2 n:

    >>> novelty(np.array([[0, 3]]), np.full(8, 1 / 8)).tolist()
    [3.0]
    """
    items = np.asarray(items)
    items = items[:, None] if items.ndim == 1 else items
    return (-np.log2(popularity[items])).mean(1)


def group_shares(shown: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exposure share, catalog share) of each item group.

    ``membership`` (n_items, G) bool; a group's exposure share is the share of all exposures that
    went to its items, its catalog share the share of items in it (with overlapping groups, such
    as genres, shares add up to more than 1).

    >>> m = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype=bool)
    >>> [s.tolist() for s in group_shares(np.array([6, 2, 2, 0]), m)]
    [[0.8, 0.4], [0.5, 0.75]]
    """
    shown = np.asarray(shown, dtype=np.float64)
    m = np.asarray(membership, dtype=np.float64)
    total = shown.sum()
    expo = shown @ m / total if total > 0 else np.full(m.shape[1], np.nan)
    return expo, m.mean(0)


def popularity_deciles(popularity: np.ndarray) -> np.ndarray:
    """(n_items, 10) membership of popularity deciles (0 = least popular tenth), ties by item order.

    >>> popularity_deciles(np.arange(20.0)).sum(0).tolist()
    [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    """
    n = len(popularity)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(popularity, kind="stable")] = np.arange(n)
    decile = np.minimum(rank * 10 // max(n, 1), 9)
    return decile[:, None] == np.arange(10)[None, :]
