"""Per-(replica, arm) sufficient statistics shared by the context-free policies."""

from __future__ import annotations

import numpy as np

from banditsim.agents._selection.row_groups import in_order
from banditsim.agents._validation import check_range


def per_row(table: np.ndarray, replica: np.ndarray) -> np.ndarray:
    """``table[replica]`` without the copy when the rows are exactly replicas 0..R-1 in order.

    >>> t = np.zeros((3, 2))
    >>> per_row(t, np.arange(3)) is t, per_row(t, np.array([2, 0])).shape
    (True, (2, 2))
    """
    if in_order(replica, table.shape[0]):
        return table
    return table[replica]


class ArmStats:
    """Pull counts and reward sums, shape (n_replicas, n_arms), updated with scatter-adds.

    >>> s = ArmStats(n_replicas=2, n_arms=3)
    >>> s.add(np.array([0, 0, 1]), np.array([2, 2, 0]), np.array([1.0, 0.0, -1.0]))
    >>> s.counts.tolist(), s.sums.tolist()
    ([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])
    """

    def __init__(self, n_replicas: int, n_arms: int) -> None:
        self.counts = np.zeros((n_replicas, n_arms))
        self.sums = np.zeros((n_replicas, n_arms))

    def add(self, replica: np.ndarray, arms: np.ndarray, values: np.ndarray) -> None:
        """Add one pull with reward ``values[i]`` to (replica[i], arms[i]) for every row."""
        np.add.at(self.counts, (replica, arms), 1.0)
        np.add.at(self.sums, (replica, arms), values)

    def means(self, replica: np.ndarray, default: float = 0.0) -> np.ndarray:
        """Empirical means (B, n_arms) for the given rows' replicas (``default`` where unpulled)."""
        n, s = per_row(self.counts, replica), per_row(self.sums, replica)
        return np.where(n > 0, s / np.maximum(n, 1.0), default)


def unit_interval(reward: np.ndarray, reward_range: tuple[float, float]) -> np.ndarray:
    """Map rewards from ``reward_range`` onto [0, 1] (values outside are clipped).

    >>> unit_interval(np.array([-1.0, 0.0, 1.0, 3.0]), (-1.0, 1.0)).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    low, high = reward_range
    return np.clip((reward - low) / (high - low), 0.0, 1.0)


__all__ = ["ArmStats", "check_range", "per_row", "unit_interval"]
