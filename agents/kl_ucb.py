"""KL-UCB for Bernoulli rewards (Garivier & Cappé 2011), vectorised bisection."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.arm_stats import ArmStats, per_row, unit_interval
from banditsim.agents._validation import check_float, check_int, check_range
from banditsim.agents.base import IndexAgent


def bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(Bernoulli(p) || Bernoulli(q)), elementwise, safe at 0 and 1.

    >>> round(float(bernoulli_kl(np.array(0.5), np.array(0.5))), 12)
    0.0
    """
    eps = 1e-12
    p = np.clip(p, eps, 1 - eps)
    q = np.clip(q, eps, 1 - eps)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def kl_upper_bound(p: np.ndarray, level: np.ndarray, n_iter: int = 32) -> np.ndarray:
    """Largest q in [p, 1] with kl(p, q) <= level, by vectorised bisection.

    >>> q = kl_upper_bound(np.array([0.2]), np.array([0.1]))
    >>> bool(abs(bernoulli_kl(np.array([0.2]), q)[0] - 0.1) < 1e-6)
    True
    """
    lo = np.array(p, dtype=np.float64, copy=True)
    hi = np.ones_like(lo)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        above = bernoulli_kl(p, mid) > level
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return lo


class KLUCBAgent(IndexAgent):
    """Ranks arms by max{q : n·kl(p̂, q) ≤ log t + c·log log t} on rewards mapped to [0, 1].

    Rewards are mapped from ``reward_range`` to [0, 1] (clipped), so negative rewards
    count as failures.  Unpulled arms have index +inf.

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = KLUCBAgent(n_arms=2, random_state=0)
    >>> agent.update(None, np.array([0, 1, 0, 1]), Feedback(reward=[1.0, 0.0, 1.0, 0.0]))
    >>> int(agent.act().actions[0])
    0
    """

    name = "kl_ucb"
    test_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, n_arms, *, c: float = 0.0, reward_range=(0.0, 1.0), n_bisection: int = 32, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.c = check_float("c", c, 0.0)
        self.reward_range = check_range("reward_range", reward_range)
        self.n_bisection = check_int("n_bisection", n_bisection, minimum=1)
        self._stats = ArmStats(self.n_replicas, self.n_arms)

    def _index_parts(self, rows):
        """(mean on [0, 1], upper bound − mean, upper bound); +inf for arms never pulled."""
        n = per_row(self._stats.counts, rows.replica)
        t = np.maximum(n.sum(axis=1, keepdims=True), 1.0)
        log_t = np.log(t)
        budget = log_t + self.c * np.log(np.maximum(log_t, 1.0))
        safe_n = np.maximum(n, 1.0)
        p = np.clip(per_row(self._stats.sums, rows.replica) / safe_n, 0.0, 1.0)
        index = np.where(n > 0, kl_upper_bound(p, budget / safe_n, self.n_bisection), np.inf)
        return p, index - p, index

    def _learn(self, rows, arms, reward, kind):
        self._stats.add(rows.replica, arms, unit_interval(reward, self.reward_range))
