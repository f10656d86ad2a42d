"""Grouping rows of a batch: by an integer key (pairs, replicas) and by identical rows."""

from __future__ import annotations

import numpy as np


def in_order(replica: np.ndarray, n: int) -> bool:
    """True when ``replica`` is exactly 0, 1, …, n − 1 (one row per replica, in order: no grouping needed).

    >>> in_order(np.arange(3), 3), in_order(np.array([0, 2]), 2), in_order(np.array([], dtype=int), 0)
    (True, False, False)
    """
    return bool(n and replica.size == n and replica[0] == 0 and replica[-1] == n - 1
                and (n == 1 or np.all(np.diff(replica) == 1)))


def row_groups(replica: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(replicas, group)``: the distinct replicas of the rows and each row's index into them.

    Rows that are exactly replicas 0..B-1 in order skip the sort.

    >>> row_groups(np.array([2, 0, 2]))
    (array([0, 2]), array([1, 0, 1]))
    """
    if in_order(replica, replica.size):
        return replica, np.arange(replica.size)
    replicas, group = np.unique(replica, return_inverse=True)
    return replicas, group.reshape(-1)


def group_pairs(pair: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Rows sorted by pair id: (order, group of each sorted row, slot within its group, pair ids, width).

    >>> order, group, slot, ids, width = group_pairs(np.array([7, 3, 7]))
    >>> order.tolist(), group.tolist(), slot.tolist(), ids.tolist(), width
    ([1, 0, 2], [0, 1, 1], [0, 0, 1], [3, 7], 2)
    """
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    new = np.empty(pair.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_pair[1:], sorted_pair[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    slot = np.arange(pair.size) - first[group]
    return order, group, slot, sorted_pair[first], int(slot.max()) + 1


def unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse): index of one row per distinct row of ``keys``, and each row's distinct row.

    Rows are grouped by a random projection (one sort of floats), then checked equal to
    their group's first row; only if that fails (a hash collision or NaNs) are rows compared
    bytewise.  Either way identical rows, and only those, share a group.

    >>> first, inverse = unique_rows(np.array([[1.0, 2.0], [0.5, 0.0], [1.0, 2.0]]))
    >>> first.size, bool(inverse[0] == inverse[2]), bool(inverse[0] == inverse[1])
    (2, True, False)
    """
    keys = np.ascontiguousarray(keys, dtype=np.float64)
    h = keys @ _PROJECTION.take(np.arange(keys.shape[1]) % _PROJECTION.size)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if np.array_equal(keys, keys[first][inverse]):
        return first, inverse
    void = keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1])))[:, 0]
    _, first, inverse = np.unique(void, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


_PROJECTION = np.random.default_rng(20240607).standard_normal(64)  # fixed: results never depend on it


def distinct_contexts(replica: np.ndarray, x: np.ndarray, dedupe_from: int):
    """``(replica, x, inverse)`` of the distinct (replica, x) rows, once the batch has ``dedupe_from``
    rows or more (users drawn from a population share contexts); smaller batches pass through.

    >>> r, x, inv = distinct_contexts(np.array([0, 0, 1]), np.array([[1.0], [1.0], [1.0]]), 2)
    >>> len(r), r[inv].tolist(), x[inv].ravel().tolist()
    (2, [0, 0, 1], [1.0, 1.0, 1.0])
    """
    if x.shape[0] < dedupe_from:
        return replica, x, np.arange(x.shape[0])
    first, inverse = unique_rows(np.concatenate([replica[:, None].astype(x.dtype), x], axis=1))
    return replica[first], x[first], inverse

