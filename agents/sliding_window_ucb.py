"""Sliding-window UCB (Garivier & Moulines 2011) for drifting tastes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from banditsim.agents._state.step_clock import StepClock
from banditsim.agents._validation import check_float, check_int
from banditsim.agents.base import IndexAgent


MAX_RING_CELLS = 1 << 27
"""Largest ring buffer (window × replicas × arms) per statistic: 2 × 1 GiB of float64."""


class SlidingWindowUCBAgent(StepClock, IndexAgent):
    """UCB1's index computed on the last ``window`` decision steps only: ``mean + c·sqrt(2 ln t / n)``.

    n and mean are each arm's pulls and mean reward over the answers decided in the replica's last
    ``window`` steps (its clock, the decision step of the newest answer learned, and the
    ``window − 1`` before; ``banditsim.agents._state.step_clock``: rows carry their decision steps in
    ``feedback.step``, else each ``update`` call is one step), t the replica's pulls in that
    window; an arm not pulled in the window comes first (index +inf).  The window is in decision
    steps whatever the update cadence: N steps' rows in one call, late answers (one decided
    before the window is dropped on arrival) or a batch cut in chunks give the same counts.  The
    state is a ring buffer of per-step counts and sums, shape (window, n_replicas, n_arms) (16
    bytes per cell), the answers of decision step s in slot s mod window; moving the clock
    empties the slots of the steps it passes, and the window totals are re-summed from the
    buffer (exact, no running subtraction).  With ``window`` at least the number of steps it is
    UCB1.  Deterministic apart from tie-breaking: propensities are exact.

    Examples
    --------
    >>> from banditsim.agents import Feedback
    >>> agent = SlidingWindowUCBAgent(n_arms=2, window=1, random_state=0)
    >>> agent.update(None, np.array([0, 1]), Feedback(reward=[1.0, 0.0]))
    >>> agent.update(None, np.array([1]), Feedback(reward=[1.0]))  # step 1 has left the window
    >>> int(agent.act().actions[0])  # arm 0 not pulled in the window: explored first
    0
    """

    name = "sliding_window_ucb"
    test_params: ClassVar[dict[str, Any]] = {"window": 3}

    def __init__(self, n_arms, *, window: int = 100, c: float = 1.0, **kwargs):
        super().__init__(n_arms, **kwargs)
        self.window = check_int("window", window, minimum=1)
        cells = self.window * self.n_replicas * self.n_arms
        if cells > MAX_RING_CELLS:
            raise ValueError(f"window={self.window} needs a ring buffer of {cells:,} cells per statistic "
                             f"(window × replicas × arms; at most {MAX_RING_CELLS:,}): use a smaller window")
        self.c = check_float("c", c, 0.0)
        shape = (self.window, self.n_replicas, self.n_arms)
        self._ring_counts = np.zeros(shape)
        self._ring_sums = np.zeros(shape)
        self.counts = np.zeros((self.n_replicas, self.n_arms))
        self.sums = np.zeros((self.n_replicas, self.n_arms))

    def _index_parts(self, rows):
        """(window mean, bonus, index), each (B, n_arms); +inf bonus and index for arms not in the window."""
        n, s = self.counts[rows.replica], self.sums[rows.replica]
        t = np.maximum(n.sum(axis=1, keepdims=True), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s / n
            bonus = self.c * np.sqrt(2.0 * np.log(t) / n)
        pulled = n > 0
        return mean, np.where(pulled, bonus, np.inf), np.where(pulled, mean + bonus, np.inf)

    def _advance(self, replicas, elapsed):
        """Empty the slots of the steps the clocks passed (all of them after ``window`` or more)."""
        first = self.clock[replicas] - elapsed + 1  # the first step passed
        offset = (np.arange(self.window)[None, :] - first[:, None]) % self.window
        rep, slot = np.nonzero(offset < np.minimum(elapsed, self.window)[:, None])
        self._ring_counts[slot, replicas[rep]] = 0.0
        self._ring_sums[slot, replicas[rep]] = 0.0

    def _refresh(self, replicas):
        self.counts[replicas] = self._ring_counts[:, replicas].sum(axis=0)
        self.sums[replicas] = self._ring_sums[:, replicas].sum(axis=0)

    def _learn(self, rows, arms, reward, kind):
        age = self._start_step(rows.replica)
        inside = age < self.window  # decided within the window: others arrived too late to count
        replica, arms, reward = rows.replica[inside], arms[inside], reward[inside]
        slot = (self.clock[replica] - age[inside]) % self.window
        np.add.at(self._ring_counts, (slot, replica, arms), 1.0)
        np.add.at(self._ring_sums, (slot, replica, arms), reward)
        self._refresh(np.unique(rows.replica))
