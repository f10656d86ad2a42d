"""Time for agents that forget: every ``update`` call is one step of the replicas it teaches.

An agent has no clock of its own; the discounted and sliding-window agents count time in
``update`` calls. A call is one time step for every replica with an answered row in it; rows
without an answer (slate rows with ``position == -1``) teach nothing, so a replica whose rows
were all unanswered does not age in that call. The simulator makes one call per step (with
``run.update_every: N``, one call per retraining, so a batch of N steps ages the statistics as
one step).
"""

from __future__ import annotations

import numpy as np

from agents._validation import check_float


def check_gamma(gamma) -> float:
    """The discount factor γ in (0, 1] (1: nothing is forgotten).

    >>> check_gamma(0)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be in (0, 1], got 0
    """
    return check_float("gamma", gamma, 0.0, 1.0, low_open=True)


class StepClock:
    """Mixin: ``_start_step(rows.replica)``, called at the top of ``_learn`` (before the new rows go
    in), ages the distinct replicas of the call by one step through ``_advance``."""

    def _start_step(self, replica: np.ndarray) -> np.ndarray:
        reps = np.unique(replica)
        self._advance(reps)
        return reps

    def _advance(self, replicas: np.ndarray) -> None:
        """Age the state of ``replicas`` (distinct, sorted) by one step."""
        raise NotImplementedError
