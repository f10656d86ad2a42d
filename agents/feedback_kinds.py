"""The default vocabulary of feedback kinds and their reward values.

The one definition is ``envs.feedback_kinds.FEEDBACK_KINDS``; ``agents`` may not import
``envs`` (ARCHITECTURE.md: agents never see the world), so this is a copy, and
``tests/agents/test_kind_table.py`` fails when it differs from the envs table. Agents only
ever see the integer index of a kind (``Feedback.kind``) and, optionally, these values.

Examples
--------
>>> dict(zip(KIND_NAMES, KIND_VALUES))["skip"]
-0.1
>>> KIND_NAMES.index("click")
4
"""

from __future__ import annotations

KIND_NAMES: tuple[str, ...] = ("block", "dislike", "skip", "neutral", "click", "like", "save", "share")
"""Names of the default feedback kinds, in index order."""

KIND_VALUES: tuple[float, ...] = (-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0, 1.0)
"""Reward value of each default feedback kind (same order as ``KIND_NAMES``)."""
