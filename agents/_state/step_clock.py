"""Time for agents that forget: elapsed decision steps, per replica.

Each replica has a clock: the latest decision step of an answer it learned from (−1 before any).
An update call's rows carry their decision steps (``feedback.step``, ``banditsim.agents.types.Feedback``);
the clock of each replica in the call moves to the latest of them, the state learned so far ages
by the steps it moved (``_advance``), and each new row enters with its own age, clock − step.  So
after learning rows of steps s the state is what one sees with weight γ^(T − s) per row (T: the
clock) whatever the calls: N steps' rows in one call (``run.update_every: N``), late answers
(``feedback_delay``; a row older than the clock ages on arrival), or a batch cut into chunks give
the same state (bit for bit where it is integer, as sliding-window counts; within 1e-9 relative
for weighted sums, which round differently).  Effective memory is 1/(1 − γ) decision steps, not
update calls.

Without ``feedback.step`` (a plain ``Feedback``) each call is one step: its rows get the step
after their replica's clock.  Rows without an answer (slate rows with ``position == -1``) teach
nothing and move no clock; a replica that had no answer for k steps ages by k at its next one.
An agent acts on its state as of its clock, the decision step of the newest answer it has: a
production model frozen between retrainings, whose data are aged to its last training step.
"""

from __future__ import annotations

import numpy as np

from banditsim.agents._selection.row_groups import row_groups
from banditsim.agents._validation import check_float
from banditsim.agents.types import checked_steps


def check_gamma(gamma) -> float:
    """The discount factor γ in (0, 1] (1: nothing is forgotten).

    >>> check_gamma(0)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be in (0, 1], got 0
    """
    return check_float("gamma", gamma, 0.0, 1.0, low_open=True)


class StepClock:
    """Mixin: ``update`` picks up ``feedback.step``; ``_start_step(rows.replica)``, called in
    ``_learn`` before the new rows go in, moves the clocks, ages the state through
    ``_advance(replicas, elapsed)`` and returns each row's age in steps."""

    n_replicas: int
    _arrived_steps: np.ndarray | None = None

    @property
    def clock(self) -> np.ndarray:
        """(n_replicas,) int64: each replica's latest decision step learned from (−1: none yet)."""
        if "_clock" not in self.__dict__:
            self._clock = np.full(self.n_replicas, -1, dtype=np.int64)
        return self._clock

    def update(self, context, decision, feedback) -> None:
        """``Agent.update``; the rows' decision steps come from ``feedback.step`` when it is given."""
        step = getattr(feedback, "step", None)  # duck-typed feedback without the field: one step a call
        if step is not None:
            step = checked_steps(step, feedback.reward.shape[0])
            if feedback.position is not None:  # the rows the base class keeps (answered ones)
                step = step[feedback.position >= 0]
        self._arrived_steps = step
        try:
            super().update(context, decision, feedback)
        finally:
            self._arrived_steps = None

    def _start_step(self, replica: np.ndarray) -> np.ndarray:
        """Move the clocks of ``replica``'s replicas, age their state; (B,) int64 age of each row."""
        clock = self.clock
        steps = self._arrived_steps
        if steps is None:
            steps = clock[replica] + 1
        elif steps.shape != replica.shape:
            raise RuntimeError(f"{steps.shape[0]} decision steps for {replica.shape[0]} answered rows")
        reps, group = row_groups(replica)
        latest = np.full(reps.size, -1, dtype=np.int64)
        np.maximum.at(latest, group, steps)
        before = clock[reps]
        after = np.maximum(before, latest)
        moved = after > before
        clock[reps] = after
        if moved.any():
            self._advance(reps[moved], (after - before)[moved])
        return after[group] - steps

    def _advance(self, replicas: np.ndarray, elapsed: np.ndarray) -> None:
        """Age the state of ``replicas`` (distinct, sorted; clocks already moved) by ``elapsed`` (>= 1) steps."""
        raise NotImplementedError
