"""UCB1 (Auer, Cesa-Bianchi & Fischer 2002)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.arm_stats import ArmStats, per_row
from banditsim.agents._validation import check_float
from banditsim.agents.base import IndexAgent


class UCB1Agent(IndexAgent):
    """Ranks arms by ``mean + c * sqrt(2 ln t / n)``; unpulled arms first (index +inf).

    ``t`` is the replica's total number of pulls.  Deterministic apart from uniform
    tie-breaking, so propensities are exact (1, or 1/g inside a tie group of g items).

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = UCB1Agent(n_arms=2, random_state=0)
    >>> agent.update(None, np.array([0, 1]), Feedback(reward=[1.0, 0.0]))  # both pulled once
    >>> d = agent.act()
    >>> int(d.actions[0]), float(d.propensities[0])
    (0, 1.0)
    """

    name = "ucb1"
    test_params: ClassVar[dict[str, Any]] = {"c": 1.0}

    def __init__(self, n_arms, *, c: float = 1.0, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.c = check_float("c", c, 0.0)
        self._stats = ArmStats(self.n_replicas, self.n_arms)

    def _index_parts(self, rows):
        """(mean, bonus, index): the index is the empirical mean plus the confidence bonus."""
        n = per_row(self._stats.counts, rows.replica)
        t = np.maximum(n.sum(axis=1, keepdims=True), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = per_row(self._stats.sums, rows.replica) / n
            bonus = self.c * np.sqrt(2.0 * np.log(t) / n)
            index = mean + bonus
        return mean, np.where(n > 0, bonus, np.inf), np.where(n > 0, index, np.inf)

    def _learn(self, rows, arms, reward, kind):
        self._stats.add(rows.replica, arms, reward)
