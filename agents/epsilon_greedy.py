"""ε-greedy on empirical mean rewards."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from agents._selection import (
    greedy_position_probability,
    greedy_probabilities,
    random_slate,
    top_k,
    uniform_position_probability,
)
from agents._stats import ArmStats
from agents._validation import check_float
from agents.base import Agent


class EpsilonGreedyAgent(Agent):
    """With probability ``epsilon`` show a uniformly random slate, else the top-k empirical means.

    Propensities are exact: ε / n_allowed + (1 − ε) · P_greedy(item at position), where the
    greedy ranking breaks ties uniformly at random.  Unpulled arms score ``initial_value``.

    Examples
    --------
    >>> from agents import Context, Feedback
    >>> agent = EpsilonGreedyAgent(n_arms=3, epsilon=0.3, random_state=0)
    >>> agent.update(None, np.array([1]), Feedback(reward=[1.0]))
    >>> d = agent.act()
    >>> d.probabilities.round(2).tolist()
    [[0.1, 0.8, 0.1]]
    """

    name = "epsilon_greedy"
    test_params: ClassVar[dict[str, Any]] = {"epsilon": 0.2}

    def __init__(self, n_arms, *, epsilon: float = 0.1, initial_value: float = 0.0, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.epsilon = check_float("epsilon", epsilon, 0.0, 1.0)
        self.initial_value = check_float("initial_value", initial_value)
        self._stats = ArmStats(self.n_replicas, self.n_arms)

    def _decide(self, rows):
        n, k = rows.n_rows, self.slate_size
        means = self._stats.means(rows.replica, self.initial_value)
        items = top_k(means, rows.mask, k, self._rng)
        explore = self._rng.random(n) < self.epsilon
        if explore.any():
            random_items = random_slate(rows.mask, n, self.n_arms, k, self._rng)
            items = np.where(explore[:, None], random_items, items)
        p_random = uniform_position_probability(rows.mask, n, self.n_arms, k)
        p_greedy = greedy_position_probability(means, rows.mask, items)
        propensities = self.epsilon * p_random + (1.0 - self.epsilon) * p_greedy
        probabilities = None
        if k == 1:
            allowed = np.ones((n, self.n_arms)) if rows.mask is None else rows.mask.astype(np.float64)
            probabilities = self.epsilon * allowed / allowed.sum(axis=1, keepdims=True) + (
                1.0 - self.epsilon
            ) * greedy_probabilities(means, rows.mask)
        return items, propensities, probabilities

    def _learn(self, rows, arms, reward, kind):
        self._stats.add(rows.replica, arms, reward)
