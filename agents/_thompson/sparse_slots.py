"""Single-item Thompson decisions and pooled Monte-Carlo propensities from sparse slot draws.

A "slot" is one full posterior draw of every arm of a replica.  The lazy samplers
(``agents._thompson.beta_exceedance``) report only the arms of each slot that exceed the replica's
threshold, with their exact values; every other arm is known to lie below it.  The
(masked) winner of a slot is therefore its best allowed exceeding arm, or — when it has
none — the argmax of a completion of the slot drawn on demand (``complete``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_COMPLETE_CELLS = 1 << 16  # slot × arm draws completed at a time (bounds the memory of big catalogs)


def slot_winners(
    n_slots: int,
    key: np.ndarray,
    arm: np.ndarray,
    value: np.ndarray,
    slot_ids: np.ndarray,
    mask: np.ndarray | None,
    complete: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Winner of every slot in ``slot_ids`` (B, W) for the row that reads it.

    ``key``/``arm``/``value`` list the exceedances: slot id in [0, n_slots), arm, draw.
    ``mask`` (B, n_arms) restricts row b to its allowed arms.  ``complete(slots)`` returns
    the (len(slots), n_arms) draws of those slots (exceeding arms included), used only where
    a row has no allowed exceeding arm.

    Examples
    --------
    >>> key, arm, value = np.array([0, 0, 1]), np.array([2, 0, 1]), np.array([0.9, 0.8, 0.7])
    >>> full = lambda s: np.array([[0.8, 0.1, 0.9], [0.2, 0.7, 0.3], [0.1, 0.2, 0.3]])[s]
    >>> slot_winners(3, key, arm, value, np.array([[0, 1, 2]]), None, full).tolist()
    [[2, 1, 2]]
    >>> slot_winners(3, key, arm, value, np.array([[0, 1]]), np.array([[True, False, False]]), full).tolist()
    [[0, 0]]
    """
    best = np.full(n_slots, -np.inf)
    np.maximum.at(best, key, value)
    top = np.full(n_slots, -1, dtype=np.int64)
    is_top = value == best[key]
    top[key[is_top]] = arm[is_top]
    winner = top[slot_ids]
    if mask is None:
        bb, ww = np.nonzero(winner < 0)
    else:
        rows = np.arange(slot_ids.shape[0])[:, None]
        bb, ww = np.nonzero((winner < 0) | ~mask[rows, np.maximum(winner, 0)])
    if bb.size == 0:
        return winner
    if mask is not None:  # the best exceedance is masked out: try the others, best first
        order = np.lexsort((-value, key))
        key, arm = key[order], arm[order]
        counts = np.bincount(key, minlength=n_slots)
        start = np.cumsum(counts) - counts
        table = np.full((n_slots, max(int(counts.max(initial=0)), 1)), -1, dtype=np.int64)
        table[key, np.arange(key.size) - start[key]] = arm
        cand = table[slot_ids[bb, ww]]  # (n_bad, width), best first
        allowed = (cand >= 0) & mask[bb[:, None], np.maximum(cand, 0)]
        found = allowed.any(axis=1)
        winner[bb[found], ww[found]] = cand[found, allowed[found].argmax(axis=1)]
        bb, ww = bb[~found], ww[~found]
        if bb.size == 0:
            return winner
    need, where = np.unique(slot_ids[bb, ww], return_inverse=True)
    where = where.reshape(-1)
    order = np.argsort(where, kind="stable")  # the (row, slot) pairs of each completed slot, together
    bounds = np.searchsorted(where[order], np.arange(need.size + 1))
    lo, step = 0, 1  # one slot first, to learn n_arms; then as many as _COMPLETE_CELLS allow
    while lo < need.size:
        hi = min(need.size, lo + step)
        draws = complete(need[lo:hi])  # (hi − lo, n_arms): memory O(_COMPLETE_CELLS), not O(slots × arms)
        pick = order[bounds[lo]:bounds[hi]]
        rows_draws = draws[where[pick] - lo]
        if mask is not None:
            rows_draws = np.where(mask[bb[pick]], rows_draws, -np.inf)
        winner[bb[pick], ww[pick]] = np.argmax(rows_draws, axis=1)
        lo, step = hi, max(1, _COMPLETE_CELLS // draws.shape[1])
    return winner


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
