"""Exact propensities of a ranking by fixed scores (ties broken uniformly) and of uniform random slates."""

from __future__ import annotations

import numpy as np

from banditsim.agents._selection.ranking import masked_scores


def greedy_position_probability(
    scores: np.ndarray, mask: np.ndarray | None, items: np.ndarray
) -> np.ndarray:
    """P(item j of ``items`` lands at position j) when ranking ``scores`` with random tie-breaks.

    A tie group of g items occupying ranks [start, start+g) is permuted uniformly, so an item
    of that group sits at each of those positions with probability 1/g (0 elsewhere).

    >>> greedy_position_probability(np.array([[1.0, 1.0, 0.0]]), None, np.array([[1, 0]]))
    array([[0.5, 0.5]])
    """
    k = items.shape[1]
    chosen = np.take_along_axis(scores, items, axis=1)
    allowed = None if mask is None else mask[:, None, :]
    greater = scores[:, None, :] > chosen[:, :, None]
    equal = scores[:, None, :] == chosen[:, :, None]
    if allowed is not None:
        greater &= allowed
        equal &= allowed
    n_greater = greater.sum(axis=2)
    n_equal = np.maximum(equal.sum(axis=2), 1)
    pos = np.arange(k)[None, :]
    inside = (n_greater <= pos) & (pos < n_greater + n_equal)
    return np.where(inside, 1.0 / n_equal, 0.0)


def greedy_probabilities(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Single-item distribution (B, n_arms) of the argmax with uniform tie-breaking."""
    s = masked_scores(scores, mask)
    ties = s == s.max(axis=1, keepdims=True)
    if mask is not None:
        ties &= mask
    return ties / ties.sum(axis=1, keepdims=True)


def uniform_position_probability(mask: np.ndarray | None, n_rows: int, n_arms: int, k: int) -> np.ndarray:
    """P(a given allowed item sits at a given position) under a uniform random slate: 1/n_allowed."""
    n_allowed = np.full(n_rows, float(n_arms)) if mask is None else mask.sum(axis=1).astype(np.float64)
    return np.repeat((1.0 / n_allowed)[:, None], k, axis=1)

