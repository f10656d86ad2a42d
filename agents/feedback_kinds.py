"""The default vocabulary of feedback kinds and their reward values.

The environment package keeps an identical vocabulary; agents only ever see the
integer index of a kind (``Feedback.kind``) and, optionally, these values.

Examples
--------
>>> dict(zip(KIND_NAMES, KIND_VALUES))["skip"]
-0.1
>>> KIND_NAMES.index("click")
4
"""

from __future__ import annotations

KIND_NAMES: tuple[str, ...] = ("block", "dislike", "skip", "neutral", "click", "like", "save")
"""Names of the default feedback kinds, in index order."""

KIND_VALUES: tuple[float, ...] = (-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0)
"""Reward value of each default feedback kind (same order as ``KIND_NAMES``)."""
