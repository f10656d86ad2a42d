"""Vectorised slate selection and propensity helpers shared by the policies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _masked(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return scores if mask is None else np.where(mask, scores, -np.inf)


def top_k(scores: np.ndarray, mask: np.ndarray | None, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (B, k) of the k best allowed items per row; ties broken uniformly at random.

    >>> top_k(np.array([[0.1, 0.9, 0.5]]), None, 2, np.random.default_rng(0))
    array([[1, 2]])
    """
    if np.isnan(scores).any():
        raise FloatingPointError("agent produced NaN scores")
    n_rows, n_arms = scores.shape
    if k == 1:
        s = _masked(scores, mask)
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
    s = _masked(scores, mask)
    ties = s == s.max(axis=1, keepdims=True)
    if mask is not None:
        ties &= mask
    return ties / ties.sum(axis=1, keepdims=True)


def uniform_position_probability(mask: np.ndarray | None, n_rows: int, n_arms: int, k: int) -> np.ndarray:
    """P(a given allowed item sits at a given position) under a uniform random slate: 1/n_allowed."""
    n_allowed = np.full(n_rows, float(n_arms)) if mask is None else mask.sum(axis=1).astype(np.float64)
    return np.repeat((1.0 / n_allowed)[:, None], k, axis=1)


def random_slate(mask: np.ndarray | None, n_rows: int, n_arms: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random ordered slate (B, k) of distinct allowed items."""
    keys = rng.random((n_rows, n_arms))
    if mask is not None:
        keys = np.where(mask, keys, -1.0)
    if k == 1:
        return np.argmax(keys, axis=1)[:, None]
    return np.argsort(-keys, axis=1, kind="stable")[:, :k]


def monte_carlo_propensities(
    draw: Callable[[int], np.ndarray],
    items: np.ndarray,
    mask: np.ndarray | None,
    n_draws: int,
    n_arms: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Estimate P(item at its position) from ``n_draws`` fresh score draws (vectorised).

    The realised draw is counted as one hit, so the estimate (1 + hits) / (1 + n_draws)
    always lies in (0, 1].  For single items the full distribution is returned too.
    """
    n_rows, k = items.shape
    hits = np.zeros((n_rows, k))
    counts = np.zeros(n_rows * n_arms) if k == 1 else None
    chunk = max(1, min(n_draws, (1 << 21) // max(1, n_rows * n_arms * k)))
    done = 0
    row_offset = np.arange(n_rows) * n_arms
    while done < n_draws:
        n = min(chunk, n_draws - done)
        scores = draw(n)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if k == 1:
            best = scores.argmax(axis=2)
            hits[:, 0] += (best == items[:, 0]).sum(axis=0)
            counts += np.bincount((best + row_offset).ravel(), minlength=n_rows * n_arms)
        else:
            chosen = np.take_along_axis(scores, np.broadcast_to(items, (n, n_rows, k)), axis=2)
            rank = (scores[:, :, None, :] > chosen[..., None]).sum(axis=3)
            hits += (rank == np.arange(k)).sum(axis=0)
        done += n
    propensities = (1.0 + hits) / (1.0 + n_draws)
    probabilities = None
    if k == 1:
        counts = counts.reshape(n_rows, n_arms)
        counts[np.arange(n_rows), items[:, 0]] += 1.0
        probabilities = counts / (1.0 + n_draws)
    return propensities, probabilities
