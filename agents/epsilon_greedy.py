"""ε-greedy on empirical mean rewards."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._propensity.greedy import greedy_position_probability, uniform_position_probability
from banditsim.agents._selection.ranking import pick_among_ties, random_slate, top_k
from banditsim.agents._selection.row_groups import row_groups
from banditsim.agents._state import one_row
from banditsim.agents._state.arm_stats import ArmStats
from banditsim.agents._validation import check_float
from banditsim.agents.base import Agent


class EpsilonGreedyAgent(Agent):
    """With probability ``epsilon`` show a uniformly random slate, else the top-k empirical means.

    Propensities are exact: ε / n_allowed + (1 − ε) · P_greedy(item at position), where the
    greedy ranking breaks ties uniformly at random.  Unpulled arms score ``initial_value``.
    Single items without a mask cost O(n_replicas·n_arms + B) per call: the argmax ties are
    found once per replica, and the (B, n_arms) ``probabilities`` are built only if read.

    Examples
    --------
    >>> from banditsim.agents import Context, Feedback
    >>> agent = EpsilonGreedyAgent(n_arms=3, epsilon=0.3, random_state=0)
    >>> agent.update(None, np.array([1]), Feedback(reward=[1.0]))
    >>> d = agent.act()
    >>> d.probabilities.round(2).tolist()
    [[0.1, 0.8, 0.1]]
    """

    name = "epsilon_greedy"
    test_params: ClassVar[dict[str, Any]] = {"epsilon": 0.2}
    _means: np.ndarray | None = None
    """(n_replicas, n_arms): the one-row path's empirical means (``_replica_means``); None: none kept."""
    _means_kept: np.ndarray | None = None
    """(n_replicas,) bool: the rows of ``_means`` that are current."""
    _means_initial: float = 0.0
    """The ``initial_value`` that ``_means`` were computed with."""

    def __init__(self, n_arms, *, epsilon: float = 0.1, initial_value: float = 0.0, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.epsilon = check_float("epsilon", epsilon, 0.0, 1.0)
        self.initial_value = check_float("initial_value", initial_value)
        self._stats = ArmStats(self.n_replicas, self.n_arms)

    def _decide(self, rows):
        if self.slate_size > 1:
            return self._decide_slate(rows)
        if rows.n_rows == 1 and one_row.ENABLED:
            return self._decide_one(rows.replica.item(), rows.mask)
        n, eps, mask = rows.n_rows, self.epsilon, rows.mask
        replicas, group = row_groups(rows.replica)
        means = self._stats.means(replicas, self.initial_value)  # (G, n_arms)
        explore = self._rng.random(n) < eps
        u = self._rng.random(n)
        if mask is None:
            best = means.max(axis=1)
            ties = means == best[:, None]
            items, n_ties = pick_among_ties(ties, group, u)
            tie_group = group
            n_allowed = np.full(n, float(self.n_arms))
        else:  # masked argmax per row: O(B·n_arms), like the mask itself
            scores = np.where(mask, means[group], -np.inf)
            best = scores.max(axis=1)
            ties = scores == best[:, None]
            tie_group = np.arange(n)
            items, n_ties = pick_among_ties(ties, tie_group, u)
            n_allowed = mask.sum(axis=1).astype(np.float64)
        if explore.any():
            idx = np.flatnonzero(explore)
            sub = None if mask is None else mask[idx]
            items[idx] = random_slate(sub, idx.size, self.n_arms, 1, self._rng)[:, 0]
        is_best = means[group, items] == best[tie_group] if mask is None else ties[tie_group, items]
        propensities = eps / n_allowed + (1.0 - eps) * is_best / n_ties[tie_group]
        if self.explain:
            self._why = _why(means[group, items][:, None], explore[:, None])

        def probabilities():
            allowed = 1.0 if mask is None else mask
            return eps * allowed / n_allowed[:, None] + (1.0 - eps) * ties[tie_group] / n_ties[tie_group, None]

        return items[:, None], propensities[:, None], probabilities

    def _decide_one(self, r: int, mask: np.ndarray | None):
        """``_decide`` for one row: the same draws, the same arithmetic (ties and propensity in
        Python scalars) on the kept means of ``_replica_means``, in a handful of calls."""
        eps, rng, n_arms = self.epsilon, self._rng, self.n_arms
        means = self._replica_means(r)
        explore = rng.random() < eps  # the same two uniforms as random(1) twice
        u = rng.random()
        row = means if mask is None else np.where(mask[0], means, -np.inf)
        first = int(row.argmax())
        best = row.item(first)  # row.max(), NaN included (argmax stops at the first NaN)
        if best == best and int(row[::-1].argmax()) == n_arms - 1 - first:  # first max is the last: no tie
            positions, n_ties, item = [first], 1, first
        else:
            positions = (row == best).nonzero()[0]
            n_ties = positions.size
            item = int(positions[min(int(u * n_ties), n_ties - 1)])
        if explore:
            item = int(random_slate(mask, 1, n_arms, 1, rng)[0, 0])
        n_allowed = float(n_arms) if mask is None else float(np.count_nonzero(mask))
        propensity = eps / n_allowed + (1.0 - eps) * (row.item(item) == best) / n_ties
        if self.explain:
            self._why = _why(means[[[item]]], np.array([[explore]]))

        def probabilities():
            ties = np.zeros(n_arms, dtype=bool)
            ties[positions] = True
            allowed = 1.0 if mask is None else mask
            return eps * allowed / n_allowed + (1.0 - eps) * ties[None, :] / n_ties

        return np.array([[item]]), np.array([[propensity]]), probabilities

    def _replica_means(self, r: int) -> np.ndarray:
        """Replica ``r``'s empirical means (n_arms,), bit for bit ``ArmStats.means``. Kept between
        calls: a one-row update rewrites its one entry, a batched update drops the replicas it
        touches, a new ``initial_value`` drops them all; dropped ones are recomputed here."""
        if self._means is None or self._means_initial != self.initial_value:
            self._means = np.empty((self.n_replicas, self.n_arms))
            self._means_kept = np.zeros(self.n_replicas, dtype=bool)
            self._means_initial = self.initial_value
        if not self._means_kept[r]:
            counts, sums = self._stats.counts[r], self._stats.sums[r]
            self._means[r] = np.where(counts > 0, sums / np.maximum(counts, 1.0), self.initial_value)
            self._means_kept[r] = True
        return self._means[r]

    def _decide_slate(self, rows):
        n, k = rows.n_rows, self.slate_size
        means = self._stats.means(rows.replica, self.initial_value)
        items = top_k(means, rows.mask, k, self._rng)
        explore = self._rng.random(n) < self.epsilon
        if explore.any():
            idx = np.flatnonzero(explore)
            sub = None if rows.mask is None else rows.mask[idx]
            items[idx] = random_slate(sub, idx.size, self.n_arms, k, self._rng)
        if self.explain:
            self._why = _why(means[np.arange(n)[:, None], items], np.repeat(explore[:, None], k, axis=1))
        p_random = uniform_position_probability(rows.mask, n, self.n_arms, k)
        p_greedy = greedy_position_probability(means, rows.mask, items)
        return items, self.epsilon * p_random + (1.0 - self.epsilon) * p_greedy, None

    def _learn(self, rows, arms, reward, kind):
        if arms.size == 1 and one_row.ENABLED:  # the two scatter-adds of ArmStats.add, for one pair
            r, k = rows.replica.item(), arms.item()
            counts, sums = self._stats.counts, self._stats.sums
            c = counts[r, k] = counts.item(r, k) + 1.0  # float64 sums in Python floats: the same roundings
            s = sums[r, k] = sums.item(r, k) + reward.item()
            if self._means is not None:  # ArmStats.means for the one entry that changed
                self._means[r, k] = s / max(c, 1.0) if c > 0 else self._means_initial
            return
        self._stats.add(rows.replica, arms, reward)
        if self._means_kept is not None:
            self._means_kept[rows.replica] = False


def _why(mean: np.ndarray, explore: np.ndarray) -> dict[str, np.ndarray]:
    """ε-greedy's explanation: the chosen item's empirical mean and whether it was the random pick."""
    return {"exploit": mean.astype(np.float64), "explore": np.full(mean.shape, np.nan), "random": explore}
