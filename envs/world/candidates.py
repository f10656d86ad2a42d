"""Every slot's candidate lists: its top-K items by base utility, and what their bound was built from.

The oracle (:mod:`banditsim.envs.world.oracle`) certifies a slot's best items from these K candidates and a
bound on every other item; drift (:mod:`banditsim.envs.world.drift_update`) keeps the candidates' cosines exact
and the bound's ingredients (‖θ − θ_built‖²) current; a block drops the item from the list.
"""

from __future__ import annotations

import numpy as np


# values δ of ‖θ − θ_built‖ at which each slot keeps the bound on its other items (its envelope)
DRIFT_GRID = (0.0, 0.125, 0.25, 0.5)


def others_envelope(be, base, ub, kappa, spread):
    """(rows, len(DRIFT_GRID)) bounds on every non-candidate item's base utility after drift by δ.

    Column k is max_i (base_i + κ·δ_k·spread_i) over the items whose base utility ``base`` is at
    most the K-th candidate's ``ub`` (every non-candidate, and the K-th itself: one more item only
    loosens it), ``spread_i`` = ‖x_i⊥‖, item i's part orthogonal to the catalog's direction u.
    Drift keeps θ·u, so D = θ − θ_built is orthogonal to u and D·x_i ≤ ‖D‖·‖x_i⊥‖: an item's
    utility can rise only by what its own ⊥ part allows, far less than ‖D‖ for most items. Column
    0 (δ = 0) is ``ub``. The envelope is convex in δ (a max of lines), so its chords bound it between
    grid points (:meth:`banditsim.envs.world.oracle.ExactBest._others_bound_now`).
    """
    xp = be.xp
    low = xp.where(base <= ub[:, None], base, -np.inf)
    cols = [ub] + [xp.max(low + (kappa * d)[:, None] * spread[None, :], axis=1) for d in DRIFT_GRID[1:]]
    return xp.stack(cols, axis=1)


def candidate_lists(be, s, kappa, item_bias, k: int, allowed, spread, base=None):
    """Candidate lists from full cosine rows ``s`` (rows, n_items) with taste scales ``kappa``, item
    biases ``item_bias`` and list length ``k`` (``base``: κ·s + b_i when the caller has it already;
    ``allowed``: the rows' masks, or None when every item is allowed; ``spread``: the items' ‖x_i⊥‖,
    see :func:`others_envelope`).

    Returns (top, tops, tib, topb, env): the top-K items by base utility κ·s + b_i, their
    cosines, item biases, base utilities (−inf where not allowed) and the bound on every other
    item's base utility as a function of drift (:func:`others_envelope`; −inf when every item is a
    candidate).
    """
    xp = be.xp
    if base is None:
        base = kappa[:, None] * s + item_bias[None, :]
    top = be.topk_indices(base, k)
    rr = be.arange(base.shape[0])[:, None]
    tops = be.gather(s, rr, top)
    tib = item_bias[top]
    topb = be.gather(base, rr, top)
    ub = xp.min(topb, axis=1) if k < base.shape[1] else be.zeros(base.shape[0], "float32") - np.inf
    env = others_envelope(be, base, ub, kappa, spread)
    if allowed is not None:  # None: every item allowed
        topb = xp.where(be.gather(allowed, rr, top), topb, -np.inf)
    return top, tops, tib, topb, env


class CandidateState:
    """The B slots' candidate lists (backend arrays, one row per slot).

    (B, K): ``items``; ``gram_cols`` their columns in the Gram cache; ``cosines`` θ·x_c, kept exact
    under drift; ``item_bias`` (−inf where blocked); ``base`` κ·θ·x_c + b_c (−inf where blocked);
    ``allowed``. Per slot, from when the list was built: ``others_envelope`` (B, len(DRIFT_GRID)) the
    bound on every other item's base utility after drift (:func:`others_envelope`; column 0 the K-th
    base utility); ``built_cosines`` (B, n_items) θ_built·X; ``built_principal``
    V·θ_built; ``drift_sq`` ‖θ − θ_built‖² (float64: updated incrementally for long); and
    ``built_centre_dot`` u·θ_built (the catalog's direction, see Drift).
    """

    def __init__(self, be, n_slots: int, k: int, n_items: int, n_dirs: int):
        self.be = be
        self.alloc_lists(n_slots, k)
        self.others_envelope = be.zeros((n_slots, len(DRIFT_GRID)), "float32")
        self.built_cosines = be.zeros((n_slots, n_items), "float32")
        self.built_principal = be.zeros((n_slots, n_dirs), "float32")
        self.drift_sq = be.zeros(n_slots, "float64")
        self.built_centre_dot = be.zeros(n_slots, "float32")

    def alloc_lists(self, n_slots: int, k: int) -> None:
        """Fresh (B, K) list arrays for list length ``k`` (K grows when items are added)."""
        be = self.be
        self.items = be.zeros((n_slots, k), "int64")
        self.gram_cols = be.zeros((n_slots, k), "int64")
        self.cosines = be.zeros((n_slots, k), "float32")
        self.item_bias = be.zeros((n_slots, k), "float32")
        self.base = be.zeros((n_slots, k), "float32")
        self.allowed = be.ones((n_slots, k), "bool")

    def start_rows(self, r, t, tables) -> None:
        """Rows ``r`` take the lists of population users ``t`` (fresh people, built with θ_built = θ)."""
        top0, tops0, tib0, topb0, env0, topl0 = tables.pop_candidates
        self.items[r] = top0[t]
        self.gram_cols[r] = topl0[t]
        self.cosines[r] = tops0[t]
        self.item_bias[r] = tib0[t]
        self.base[r] = topb0[t]
        self.allowed[r] = True
        self.others_envelope[r] = env0[t]
        self.built_cosines[r] = tables.pop_cosines[t]
        self.built_principal[r] = tables.pop_principal[t]
        self.drift_sq[r] = 0.0
        self.built_centre_dot[r] = tables.pop_centre_dots[t]

    def set_rows(self, r, lists, gram_cols, s, principal, centre_dot) -> None:
        """Rows ``r`` take fresh ``lists`` (:func:`candidate_lists`) built from cosine rows ``s``,
        with the lists' Gram columns, V·θ and u·θ now."""
        xp = self.be.xp
        top, tops, tib, topb, env = lists
        self.items[r], self.cosines[r], self.base[r], self.others_envelope[r] = top, tops, topb, env
        self.gram_cols[r] = gram_cols
        topa = topb > -np.inf
        self.allowed[r] = topa
        self.item_bias[r] = xp.where(topa, tib, -np.inf)
        self.built_cosines[r] = s
        self.built_principal[r], self.drift_sq[r] = principal, 0.0
        self.built_centre_dot[r] = centre_dot

    def drop(self, rb, ib) -> None:
        """Item ``ib[i]`` leaves row ``rb[i]``'s list (blocked): −inf base utility from now on."""
        xp = self.be.xp
        keep = self.allowed[rb] & (self.items[rb] != ib[:, None])
        self.allowed[rb] = keep
        self.base[rb] = xp.where(keep, self.base[rb], -np.inf)
        self.item_bias[rb] = xp.where(keep, self.item_bias[rb], -np.inf)
