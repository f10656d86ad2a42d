"""Single-item Thompson decisions whose Monte-Carlo propensities are drawn only when read.

Each replica has n = max(rows, W) slots (full posterior draws); row b acts on its own slot
and estimates its propensity from the winners of its window of W = n_propensity_draws + 1
slots (its own, then the next ones, cyclically; ``banditsim.agents._thompson.slots``).  The slots the rows
act on are drawn at once, and the others, from the replica's posterior frozen when the agent acted
(``draw(n, rng)``) and from a separate random stream, the first time
``Decision.propensities`` (or ``probabilities``) is read. Runs that never read them
(benchmarks, unlogged steps) draw half as many variates or fewer, and reading them or not
never changes the actions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banditsim.agents._selection.ranking import argmax_random_ties, checked_scores
from banditsim.agents._thompson.slots import decide_from_winners, window

_CHUNK = 1 << 22  # scores drawn at a time when only each slot's winner is kept


def _winners(draw, rng: np.random.Generator, n: int, n_groups: int, n_arms: int) -> np.ndarray:
    """(n, G) winners of n fresh slots per replica, drawn in chunks of ≤ ``_CHUNK`` scores."""
    step = max(1, _CHUNK // max(1, n_groups * n_arms))
    parts = [argmax_random_ties(checked_scores(draw(min(step, n - lo), rng)), rng) for lo in range(0, n, step)]
    return np.concatenate(parts) if parts else np.empty((0, n_groups), dtype=np.int64)


def decide_frozen(draw: Callable[[int, np.random.Generator], np.ndarray], rng: np.random.Generator,
                  propensity_rng: Callable[[], np.random.Generator], groups: tuple, mask: np.ndarray | None,
                  n_arms: int, width: int):
    """Items (B, 1) now; propensities (B, 1) and probabilities as functions (see the module
    docstring). ``groups`` is ``(replicas, group, slot, n)`` from ``slots.slot_layout``.

    >>> draw = lambda n, rng: np.tile([[[0.1, 0.9, 0.5]]], (n, 1, 1))
    >>> groups = (np.array([0]), np.array([0, 0]), np.array([0, 1]), 3)
    >>> items, prop, probs = decide_frozen(draw, np.random.default_rng(0), lambda: np.random.default_rng(1),
    ...                                    groups, np.array([[True, True, True], [True, False, True]]), 3, 3)
    >>> items.tolist(), prop().tolist()
    ([[1], [2]], [[1.0], [1.0]])
    """
    replicas, group, slot, n = groups
    n_act = int(slot.max()) + 1  # slots the rows act on: drawn now
    if mask is None:
        act = _winners(draw, rng, n_act, replicas.size, n_arms)  # (n_act, G)
        items = act[slot, group][:, None]
    else:
        pool_act = checked_scores(draw(n_act, rng))  # (n_act, G, n_arms): masks differ by row, keep the scores
        items = argmax_random_ties(np.where(mask, pool_act[slot, group], -np.inf), rng)[:, None]
    cache: list = []

    def decided():
        if not cache:
            ids = window(group, slot, n, width)  # slot ids g·n + s
            if mask is None:
                best = np.concatenate([act, _winners(draw, propensity_rng(), n - n_act, replicas.size, n_arms)])
                winner = best.T.reshape(-1)[ids]
            else:
                pool = np.concatenate([pool_act, checked_scores(draw(n - n_act, propensity_rng()))])
                scores = pool[ids % n, ids // n]  # (B, W, n_arms)
                winner = argmax_random_ties(np.where(mask[:, None, :], scores, -np.inf), propensity_rng())
            winner[:, 0] = items[:, 0]  # the realised draws (ties were broken when acting)
            cache.append(decide_from_winners(winner, n_arms))
        return cache[0]

    return items, lambda: decided()[1], lambda: decided()[2]()
