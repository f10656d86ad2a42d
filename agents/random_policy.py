"""Uniformly random policy over the allowed items (the usual logging baseline)."""

from __future__ import annotations

import numpy as np

from banditsim.agents._propensity.greedy import uniform_position_probability
from banditsim.agents._selection.ranking import random_slate
from banditsim.agents.base import Agent


class RandomAgent(Agent):
    """Shows a uniformly random slate of distinct allowed items; learns nothing.

    Propensities are exact: 1 / (number of allowed items) at every position.

    Examples
    --------
    >>> from banditsim.agents import Context
    >>> agent = RandomAgent(n_arms=4, random_state=0)
    >>> d = agent.act(Context(mask=np.array([[True, False, True, False]])))
    >>> int(d.actions[0]) in (0, 2), float(d.propensities[0])
    (True, 0.5)
    """

    name = "random"

    def _decide(self, rows):
        k = self.slate_size
        items = random_slate(rows.mask, rows.n_rows, self.n_arms, k, self._rng)
        propensities = uniform_position_probability(rows.mask, rows.n_rows, self.n_arms, k)
        probabilities = None
        if k == 1:
            allowed = np.ones((rows.n_rows, self.n_arms)) if rows.mask is None else rows.mask.astype(np.float64)
            probabilities = allowed / allowed.sum(axis=1, keepdims=True)
        return items, propensities, probabilities

    def _learn(self, rows, arms, reward, kind):
        """A random policy has nothing to learn."""
