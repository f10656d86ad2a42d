"""Greedy choice among argmax ties without a (B, n_arms) pass per row when rows share a replica."""

from __future__ import annotations

import numpy as np


def row_groups(replica: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(replicas, group)``: the distinct replicas of the rows and each row's index into them.

    Rows that are exactly replicas 0..B-1 in order skip the sort.

    >>> row_groups(np.array([2, 0, 2]))
    (array([0, 2]), array([1, 0, 1]))
    """
    n = replica.size
    if n and replica[0] == 0 and replica[-1] == n - 1 and (n == 1 or np.all(np.diff(replica) == 1)):
        return replica, np.arange(n)
    replicas, group = np.unique(replica, return_inverse=True)
    return replicas, group.reshape(-1)


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
