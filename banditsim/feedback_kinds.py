"""Feedback kinds: the one table the world (``banditsim.envs``), the agents (``banditsim.agents``) and
the experiments (``banditsim.sim``) read.

A leaf module: it imports none of the three, so agents, which may not see the world, read the same
table as the world. Each kind is one :class:`FeedbackKind` entry of :data:`FEEDBACK_KINDS`, ordered
worst → best: its name, default reward, group (negative, neutral or positive), its lower cut point
in the ordinal feedback model (:mod:`envs.feedback`) and its score in an implicit interaction log
(:mod:`envs.ratings_log`). The kind code is the index in :data:`KINDS`. Adding a kind is one entry
here (codes of the kinds before it stay as they are); reward maps, feedback rates, delays and log
columns follow from the table.

>>> KINDS
('block', 'dislike', 'skip', 'neutral', 'click', 'like', 'save', 'share')
>>> [KINDS[c] for c in POSITIVE_CODES]
['click', 'like', 'save', 'share']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedbackKind:
    """One feedback kind.

    ``cut``: the lower cut point of this kind's latent-response interval, as (threshold,
    offset): ``"neg"``/``"pos"`` for the user's ``tau_neg``/``tau_pos``, and the signed name of
    a :class:`envs.feedback.FeedbackModel` offset field in temperature units (``""`` for none;
    ``"-outer_offset"`` means ``tau − outer_offset·T``). The worst kind has no lower cut (``None``).
    ``log_score``: the kind's score when a user's implicit log names it (:mod:`envs.ratings_log`).
    """

    name: str
    default_reward: float
    group: str  # "negative", "neutral" or "positive"
    cut: tuple[str, str] | None
    log_score: float


FEEDBACK_KINDS: tuple[FeedbackKind, ...] = (
    FeedbackKind("block", -1.0, "negative", None, -3.0),
    FeedbackKind("dislike", -0.5, "negative", ("neg", "-outer_offset"), -2.0),
    FeedbackKind("skip", -0.1, "negative", ("neg", "-inner_offset"), -1.0),
    FeedbackKind("neutral", 0.0, "neutral", ("neg", ""), 0.0),
    FeedbackKind("click", 0.5, "positive", ("pos", ""), 1.0),
    FeedbackKind("like", 1.0, "positive", ("pos", "inner_offset"), 2.0),
    FeedbackKind("save", 1.0, "positive", ("pos", "outer_offset"), 3.0),
    FeedbackKind("share", 1.0, "positive", ("pos", "share_offset"), 3.0),
)
"""The kinds, worst → best. ``share`` is the strongest positive answer; its default reward and log
score equal ``save``'s, so a reward map that leaves it out gives every run the same rewards and
regret as before ``share`` existed (only some ``save`` answers become ``share``)."""

KINDS: tuple[str, ...] = tuple(k.name for k in FEEDBACK_KINDS)
DEFAULT_REWARDS: tuple[float, ...] = tuple(k.default_reward for k in FEEDBACK_KINDS)
N_KINDS: int = len(KINDS)
N_CUTS: int = N_KINDS - 1
NEGATIVE_CODES: tuple[int, ...] = tuple(i for i, k in enumerate(FEEDBACK_KINDS) if k.group == "negative")
POSITIVE_CODES: tuple[int, ...] = tuple(i for i, k in enumerate(FEEDBACK_KINDS) if k.group == "positive")
BLOCK, DISLIKE, SKIP, NEUTRAL, CLICK, LIKE, SAVE, SHARE = (KINDS.index(n) for n in (
    "block", "dislike", "skip", "neutral", "click", "like", "save", "share"))
