"""Every slot's candidate lists: its top-K items by base utility, and what their bound was built from.

The oracle (:mod:`banditsim.envs.world.oracle`) certifies a slot's best items from these K candidates and a
bound on every other item; drift (:mod:`banditsim.envs.world.drift_update`) keeps the candidates' cosines exact
and the bound's ingredients (‖θ − θ_built‖²) current; a block drops the item from the list.
"""

from __future__ import annotations

import numpy as np


def candidate_lists(be, s, kappa, item_bias, k: int, allowed, base=None):
    """Candidate lists from full cosine rows ``s`` (rows, n_items) with taste scales ``kappa``, item
    biases ``item_bias`` and list length ``k`` (``base``: κ·s + b_i when the caller has it already;
    ``allowed``: the rows' masks, or None when every item is allowed).

    Returns (top, tops, tib, topb, ub): the top-K items by base utility κ·s + b_i, their
    cosines, item biases, base utilities (−inf where not allowed) and the K-th largest
    base utility, a bound on every other item's base utility.
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
    if allowed is not None:  # None: every item allowed
        topb = xp.where(be.gather(allowed, rr, top), topb, -np.inf)
    return top, tops, tib, topb, ub


class CandidateState:
    """The B slots' candidate lists (backend arrays, one row per slot).

    (B, K): ``items``; ``gram_cols`` their columns in the Gram cache; ``cosines`` θ·x_c, kept exact
    under drift; ``item_bias`` (−inf where blocked); ``base`` κ·θ·x_c + b_c (−inf where blocked);
    ``allowed``. Per slot, from when the list was built: ``others_bound`` the K-th base utility (a
    bound on every other item's); ``built_cosines`` (B, n_items) θ_built·X; ``built_principal``
    V·θ_built; ``drift_sq`` ‖θ − θ_built‖² (float64: updated incrementally for long); and
    ``built_centre_dot`` u·θ_built (the catalog's direction, see Drift).
    """

    def __init__(self, be, n_slots: int, k: int, n_items: int, n_dirs: int):
        self.be = be
        self.alloc_lists(n_slots, k)
        self.others_bound = be.zeros(n_slots, "float32")
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
        top0, tops0, tib0, topb0, ub0, topl0 = tables.pop_candidates
        self.items[r] = top0[t]
        self.gram_cols[r] = topl0[t]
        self.cosines[r] = tops0[t]
        self.item_bias[r] = tib0[t]
        self.base[r] = topb0[t]
        self.allowed[r] = True
        self.others_bound[r] = ub0[t]
        self.built_cosines[r] = tables.pop_cosines[t]
        self.built_principal[r] = tables.pop_principal[t]
        self.drift_sq[r] = 0.0
        self.built_centre_dot[r] = tables.pop_centre_dots[t]

    def set_rows(self, r, lists, gram_cols, s, principal, centre_dot) -> None:
        """Rows ``r`` take fresh ``lists`` (:func:`candidate_lists`) built from cosine rows ``s``,
        with the lists' Gram columns, V·θ and u·θ now."""
        xp = self.be.xp
        top, tops, tib, topb, ub = lists
        self.items[r], self.cosines[r], self.base[r], self.others_bound[r] = top, tops, topb, ub
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
