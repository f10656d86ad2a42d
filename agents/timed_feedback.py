"""Feedback that says when each answered decision was made: ``TimedFeedback.step``.

The forgetting agents (discounted Beta/Gaussian TS, discounted LinUCB/LinTS, sliding-window UCB)
age what they learned by elapsed *decision* time (``agents._step_clock``).  An answer's age is
the number of steps since its decision, whatever the call that delivered it: rows of several steps
in one update call (``run.update_every``), late answers (``feedback_delay``) and one batch split
into chunks then all give the same state.  The simulator passes every update as a
``TimedFeedback``; every other agent reads it as a plain ``Feedback`` (``step`` is ignored).
Without ``step`` a forgetting agent counts each update call as one step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.types import Feedback


def checked_steps(step, n_rows: int) -> np.ndarray:
    """``step`` as (n_rows,) int64 decision steps, each >= 0; else one ``ValueError``.

    >>> checked_steps([3, 0], 2).tolist()
    [3, 0]
    >>> checked_steps([1.5], 1)
    Traceback (most recent call last):
    ...
    ValueError: feedback.step must be an integer array, got dtype float64
    """
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"feedback.step must be an integer array, got dtype {arr.dtype}")
    arr = arr.reshape(-1)
    if arr.shape != (n_rows,):
        raise ValueError(f"feedback.step must have shape ({n_rows},), got {np.shape(step)}")
    if arr.size and arr.min() < 0:
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"feedback.step must be >= 0, got {int(arr[bad])} in row {bad}")
    return arr.astype(np.int64, copy=False)


@dataclass
class TimedFeedback(Feedback):
    """``Feedback`` plus ``step`` (B,) int: the decision step of each row (the step at which the
    answered item was shown, not the step the answer arrived).

    Examples
    --------
    >>> fb = TimedFeedback(reward=[1.0, 0.0], step=[4, 2])
    >>> fb.step.tolist(), isinstance(fb, Feedback)
    ([4, 2], True)
    >>> TimedFeedback(reward=[1.0], step=[-1])
    Traceback (most recent call last):
    ...
    ValueError: feedback.step must be >= 0, got -1 in row 0
    """

    step: np.ndarray | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step is not None:
            self.step = checked_steps(self.step, self.reward.shape[0])
