"""``TimedFeedback``: the name ``Feedback`` had when it carried the decision step in a subclass.

``Feedback.step`` (``agents.types``) is each row's decision step; the forgetting agents age what
they learned by it (``agents._step_clock``).  Kept as an alias so older callers keep working:
``TimedFeedback is Feedback``.

>>> fb = TimedFeedback(reward=[1.0, 0.0], step=[4, 2])
>>> fb.step.tolist(), type(fb) is Feedback
([4, 2], True)
"""

from __future__ import annotations

from agents.types import Feedback, checked_steps

TimedFeedback = Feedback

__all__ = ["TimedFeedback", "checked_steps"]
