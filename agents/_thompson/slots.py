"""Which slots each row acts on and reads, and the propensity estimate from their winners.

A "slot" is one full posterior draw of every arm of a replica.  A replica's rows share its n
slots, n = max(rows of the replica, width): row b acts on its own slot and reads the next
width − 1 (cyclically) for its Monte-Carlo propensity, so every row of a call uses distinct
draws for its estimate and rows of one replica share them.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._selection.row_groups import group_pairs, row_groups


def slot_layout(replica: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(replicas, group, slot, n)``: the distinct replicas, each row's index into them, its
    slot among its replica's rows (in row order), and the slots drawn per replica, max(rows, width).

    >>> replicas, group, slot, n = slot_layout(np.array([4, 2, 4, 4]), 3)
    >>> replicas.tolist(), group.tolist(), slot.tolist(), n
    ([2, 4], [1, 0, 1, 1], [0, 0, 1, 2], 3)
    """
    replicas, group = row_groups(replica)
    if replicas.size == replica.size:
        return replicas, group, np.zeros(replica.size, dtype=np.int64), width
    order, sorted_group, sorted_slot, _, most = group_pairs(replica)
    group, slot = np.empty_like(sorted_group), np.empty_like(sorted_slot)
    group[order], slot[order] = sorted_group, sorted_slot
    return replicas, group, slot, max(most, width)


def window(group: np.ndarray, slot: np.ndarray, n_slots: int, width: int) -> np.ndarray:
    """Slot ids (B, width) read by each row: its own slot, then the next width − 1 (cyclic)
    slots of its replica ``group`` (slot ids are group·n_slots + slot)."""
    return group[:, None] * n_slots + (slot[:, None] + np.arange(width)[None, :]) % n_slots


def decide_from_winners(winner: np.ndarray, n_arms: int):
    """Items (B, 1), propensities (B, 1) and lazy probabilities from the window winners (B, W).

    Column 0 is the row's own (realised) draw; the estimate (own hit + hits among the other
    W − 1 draws) / W always lies in (0, 1], as in ``monte_carlo_propensities``.
    """
    n_rows, width = winner.shape
    items = winner[:, :1]
    propensities = (winner == items).sum(axis=1, keepdims=True) / width

    def probabilities():
        flat = (winner + (np.arange(n_rows) * n_arms)[:, None]).ravel()
        return np.bincount(flat, minlength=n_rows * n_arms).reshape(n_rows, n_arms) / width

    return items, propensities, probabilities
