"""Thompson decisions (slates included) from one pool of slots that a replica's rows share.

Every replica draws n = max(rows of the replica, n_draws + 1) full slots at once; row b ranks its
own slot (``slots.slot_layout``) and estimates its propensities from the next n_draws slots
(``banditsim.agents._propensity.monte_carlo.pooled_propensities``).  Costs O(n × replicas × arms) memory,
so the caller keeps big pools on the per-row path.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banditsim.agents._propensity.monte_carlo import pooled_propensities
from banditsim.agents._selection.ranking import checked_scores, top_k


def decide_pooled(draw: Callable[[int, np.random.Generator], np.ndarray], rng: np.random.Generator,
                  layout: tuple, mask: np.ndarray | None, slate_size: int, n_draws: int):
    """Items (B, k), propensities (B, k) and probabilities (B, n_arms) or None (slates).

    ``draw(n, rng)`` returns (n, len(replicas), n_arms) score draws of ``layout``'s replicas.

    >>> draw = lambda n, rng: np.tile([[[0.1, 0.9, 0.5]]], (n, 1, 1))
    >>> layout = (np.array([0]), np.array([0, 0]), np.array([0, 1]), 3)
    >>> items, prop, _ = decide_pooled(draw, np.random.default_rng(0), layout, None, 2, 2)
    >>> items.tolist(), prop.tolist()
    ([[1, 2], [1, 2]], [[1.0, 1.0], [1.0, 1.0]])
    """
    replicas, group, slot, n = layout
    pool = checked_scores(draw(n, rng))
    items = top_k(pool[slot, group], mask, slate_size, rng)
    propensities, probabilities = pooled_propensities(pool, group, slot, items, mask, n_draws)
    return items, propensities, probabilities
