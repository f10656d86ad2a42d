"""Single-item Thompson decisions from sparse slot draws.

A "slot" is one full posterior draw of every arm of a replica.  The lazy samplers
(``banditsim.agents._thompson.beta_exceedance``) report only the arms of each slot that exceed the replica's
threshold, with their exact values; every other arm is known to lie below it.  The
(masked) winner of a slot is therefore its best allowed exceeding arm, or — when it has
none — the argmax of a completion of the slot drawn on demand (``complete``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banditsim.agents._thompson.slots import decide_from_winners, window

_COMPLETE_CELLS = 1 << 16  # slot × arm draws completed at a time (bounds the memory of big catalogs)
_TOP = 8  # draws of a completed slot ranked for the rows that read it (masks leave most arms allowed)


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
    winner = _best_exceedance(n_slots, key, arm, value)[slot_ids]
    if mask is None:
        bb, ww = np.nonzero(winner < 0)
    else:
        rows = np.arange(slot_ids.shape[0])[:, None]
        bb, ww = np.nonzero((winner < 0) | ~mask[rows, np.maximum(winner, 0)])
    if bb.size and mask is not None:  # the best exceedance is masked out: try the others, best first
        bb, ww = _next_allowed(winner, bb, ww, n_slots, key, arm, value, slot_ids, mask)
    if bb.size:
        _complete(winner, bb, ww, slot_ids, mask, complete)
    return winner


def decide_sparse(lazy, rng: np.random.Generator, layout: tuple, mask: np.ndarray | None, n_arms: int, width: int):
    """Items (B, 1), propensities (B, 1) and probabilities from slots of which ``lazy`` (a
    ``beta_exceedance.ExceedancePool`` or ``dirichlet_exceedance.DirichletExceedance``) draws only
    the arms that can win; ``layout`` is ``slots.slot_layout``'s.  Same distribution as full draws."""
    replicas, group, slot, n = layout
    g, s, arm, value, complete = lazy.draw(replicas, n, rng)
    winner = slot_winners(replicas.size * n, g * n + s, arm, value, window(group, slot, n, width), mask, complete)
    return decide_from_winners(winner, n_arms)


def _best_exceedance(n_slots: int, key: np.ndarray, arm: np.ndarray, value: np.ndarray) -> np.ndarray:
    """(n_slots,) the arm of each slot's largest exceedance (−1: the slot has none)."""
    best = np.full(n_slots, -np.inf)
    np.maximum.at(best, key, value)
    top = np.full(n_slots, -1, dtype=np.int64)
    is_top = value == best[key]
    top[key[is_top]] = arm[is_top]
    return top


def _next_allowed(winner, bb, ww, n_slots, key, arm, value, slot_ids, mask):
    """Give the (row, slot) pairs ``bb, ww`` their best allowed exceedance where they have one;
    returns the pairs still without a winner."""
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
    return bb[~found], ww[~found]


def _complete(winner, bb, ww, slot_ids, mask, complete) -> None:
    """Winners of the (row, slot) pairs ``bb, ww`` from completed draws of their slots, in chunks."""
    need, where = np.unique(slot_ids[bb, ww], return_inverse=True)
    where = where.reshape(-1)
    order = np.argsort(where, kind="stable")  # the (row, slot) pairs of each completed slot, together
    bounds = np.searchsorted(where[order], np.arange(need.size + 1))
    lo, step = 0, 1  # one slot first, to learn n_arms; then as many as _COMPLETE_CELLS allow
    while lo < need.size:
        hi = min(need.size, lo + step)
        draws = complete(need[lo:hi])  # (hi − lo, n_arms): memory O(_COMPLETE_CELLS), not O(slots × arms)
        pick = order[bounds[lo]:bounds[hi]]
        winner[bb[pick], ww[pick]] = allowed_argmax(draws, where[pick] - lo, None if mask is None else mask,
                                                    bb[pick])
        lo, step = hi, max(1, _COMPLETE_CELLS // draws.shape[1])


def allowed_argmax(draws: np.ndarray, slot: np.ndarray, mask: np.ndarray | None, row: np.ndarray) -> np.ndarray:
    """``argmax(where(mask[row[i]], draws[slot[i]], −inf))`` for each pair i, without a
    (pairs, n_arms) copy: many rows read the same slot, so each slot's ``_TOP`` largest draws are
    ranked once (value down, then arm up: argmax's tie rule) and a row takes the first it allows.
    A pair whose pick does not lie strictly above every unranked draw (its allowed arms are all
    unranked, it ties with an unranked draw, or its best is −inf) is computed in full.

    >>> draws = np.array([[0.2, 0.9, 0.5], [0.7, 0.7, 0.1]])
    >>> mask = np.array([[True, False, True], [False, True, True]])
    >>> allowed_argmax(draws, np.array([0, 0, 1, 1]), mask, np.array([0, 1, 0, 1])).tolist()
    [2, 1, 0, 1]
    """
    if mask is None:
        return draws.argmax(axis=1)[slot]
    n_arms = draws.shape[1]
    top = min(_TOP, n_arms)
    cand = np.argpartition(draws, n_arms - top, axis=1)[:, n_arms - top:]
    vals = np.take_along_axis(draws, cand, axis=1)
    rank = np.lexsort((cand, -vals), axis=1)
    cand, vals = np.take_along_axis(cand, rank, axis=1), np.take_along_axis(vals, rank, axis=1)
    allowed = mask[row[:, None], cand[slot]]  # (pairs, top)
    first = allowed.argmax(axis=1)
    out = cand[slot, first]
    # every unranked draw is <= the slot's last ranked one; an allowed best of -inf is argmax's own case
    floor = vals[slot, -1] if top < n_arms else -np.inf
    sure = allowed[np.arange(slot.size), first] & (vals[slot, first] > floor)
    redo = np.flatnonzero(~sure)
    if redo.size:
        out[redo] = np.where(mask[row[redo]], draws[slot[redo]], -np.inf).argmax(axis=1)
    return out
