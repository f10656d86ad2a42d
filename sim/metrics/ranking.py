"""Ranking quality against the world's exact truth (pure, vectorised over user rows).

``values`` is a (B, n) array of exact expected rewards (:meth:`banditsim.envs.world.World.expected_rewards`)
with the items a row may not be shown set to ``-inf``. Relevance for NDCG is the exact expected
reward shifted by the reward map's minimum, ``gain = E − r_min ≥ 0`` (expected rewards can be
negative; shifting keeps every item's gain non-negative and the order unchanged; an item at the
worst possible value gains 0). DCG uses linear gains and the discount ``1/log2(position + 2)``;
a repeated item gains nothing after its first position, so NDCG ≤ 1 and the ideal slate scores 1.
"""

from __future__ import annotations

import numpy as np

RECALL_POOL = 10
"""recall@k is the share of the user's true top-``RECALL_POOL`` items the slate contains (with
precision@k against the true top-k, recall@k against the top-k would be the same number)."""


def true_top(values: np.ndarray, k: int) -> np.ndarray:
    """(B, k) indices of each row's k highest values, best first (argpartition, then a sort of k).

    >>> true_top(np.array([[0.1, 0.9, 0.5, -np.inf]]), 2).tolist()
    [[1, 2]]
    """
    k = min(k, values.shape[1])
    part = np.argpartition(-values, k - 1, axis=1)[:, :k] if k < values.shape[1] else np.tile(
        np.arange(values.shape[1]), (values.shape[0], 1))
    order = np.argsort(-np.take_along_axis(values, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def _contains(slates: np.ndarray, items: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(B,) number of distinct ``items`` (B, m) present in ``slates`` (B, k)."""
    hit = (items[:, :, None] == slates[:, None, :]).any(2)
    if valid is not None:
        hit &= valid
    return hit.sum(1)


def precision_at_k(slates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the user's true top-k (k = slate size) that the slate shows, per row.

    >>> v = np.array([[0.9, 0.8, 0.1, 0.0]])
    >>> precision_at_k(np.array([[0, 2]]), v).tolist(), precision_at_k(np.array([[1, 0]]), v).tolist()
    ([0.5], [1.0])
    """
    k = slates.shape[1]
    top = true_top(values, k)
    valid = np.take_along_axis(values, top, 1) > -np.inf
    return _contains(slates, top, valid) / np.maximum(valid.sum(1), 1)


def recall_at_k(slates: np.ndarray, values: np.ndarray, pool: int = RECALL_POOL) -> np.ndarray:
    """Share of the user's true top-``pool`` items that the slate shows, per row.

    >>> v = np.arange(12.0)[::-1][None]   # item 0 best, …, item 11 worst
    >>> recall_at_k(np.array([[0, 11]]), v).tolist()
    [0.1]
    """
    top = true_top(values, pool)
    valid = np.take_along_axis(values, top, 1) > -np.inf
    return _contains(slates, top, valid) / np.maximum(valid.sum(1), 1)


def _first_occurrence(slates: np.ndarray) -> np.ndarray:
    """(B, k) True where the item has not appeared earlier in its slate."""
    k = slates.shape[1]
    same = slates[:, :, None] == slates[:, None, :]
    earlier = np.tril(np.ones((k, k), dtype=bool), -1)
    return ~(same & earlier).any(2)


def ndcg_at_k(slates: np.ndarray, values: np.ndarray, r_min: float) -> np.ndarray:
    """NDCG@k of each slate against the user's true top-k (relevance = exact expected reward − r_min).

    NaN for a row whose ideal DCG is 0 (every allowed item at the worst possible value).

    >>> v = np.array([[1.0, 0.5, 0.0, -1.0]])
    >>> ndcg_at_k(np.array([[0, 1]]), v, -1.0).tolist()   # the ideal slate
    [1.0]
    >>> round(float(ndcg_at_k(np.array([[1, 0]]), v, -1.0)[0]), 6)   # reversed: (1.5 + 2/log2 3) / (2 + 1.5/log2 3)
    0.937369
    """
    k = slates.shape[1]
    disc = 1.0 / np.log2(np.arange(k) + 2.0)
    gains = np.take_along_axis(values, slates, 1) - r_min
    gains = np.where(np.isfinite(gains) & _first_occurrence(slates), np.maximum(gains, 0.0), 0.0)
    dcg = gains @ disc
    top = true_top(values, k)
    ideal = np.take_along_axis(values, top, 1) - r_min
    ideal = np.where(np.isfinite(ideal), np.maximum(ideal, 0.0), 0.0)
    idcg = ideal @ disc[: ideal.shape[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), np.nan)


def rank_percentile(chosen: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Percentile of the chosen item's true rank among the row's allowed items: 1 = best, 0 = worst.

    (items worth less + half the other items worth the same) / (allowed items − 1); 0 for an item the
    row may not be shown (the world answers it with block); NaN with one allowed item.

    >>> v = np.array([[0.3, 0.9, 0.1, -np.inf, 0.5]])
    >>> rank_percentile(np.array([1]), v).tolist(), rank_percentile(np.array([2]), v).tolist()
    ([1.0], [0.0])
    >>> rank_percentile(np.array([0]), v).tolist(), rank_percentile(np.array([3]), v).tolist()
    ([0.3333333333333333], [0.0])
    """
    mine = np.take_along_axis(values, chosen[:, None], 1)
    allowed = values > -np.inf
    below = ((values < mine) & allowed).sum(1)
    ties = ((values == mine) & allowed).sum(1) - 1
    n = allowed.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(mine[:, 0] > -np.inf, (below + 0.5 * ties) / np.maximum(n - 1, 1), 0.0)
        return np.where(n > 1, pct, np.nan)


def hit_at_1(regret: np.ndarray, best: np.ndarray) -> np.ndarray:
    """1.0 where the chosen item is the exact best (regret 0 up to float rounding), else 0.0.

    >>> hit_at_1(np.array([0.0, 1e-15, 0.2]), np.array([1.0, 1.0, 1.0])).tolist()
    [1.0, 1.0, 0.0]
    """
    return (regret <= 1e-12 * np.maximum(1.0, np.abs(best))).astype(np.float64)
