"""Feedback kinds: the one table the world (``banditsim.envs``), the agents (``banditsim.agents``) and
the experiments (``banditsim.sim``) read.

A leaf module: it imports none of the three, so agents, which may not see the world, read the same
table as the world. Each kind is one :class:`FeedbackKind` entry of :data:`FEEDBACK_KINDS`, ordered
worst → best: its name, default reward, group (negative, neutral or positive), its lower cut point
in the ordinal feedback model (:mod:`banditsim.envs.feedback`) and its score in an implicit interaction log
(:mod:`banditsim.envs.ratings_log`). The kind code is the index in :data:`KINDS`. Adding a kind is one entry
here (codes of the kinds before it stay as they are); reward maps, feedback rates, delays and log
columns follow from the table. A kind whose cut point needs an offset of its own declares it in
its entry (``offset_default``, ``offset_help``): the offset field of ``FeedbackModel``, its
``world.feedback`` config key and its place in the cut-point ordering follow too.

>>> KINDS
('block', 'dislike', 'skip', 'neutral', 'click', 'like', 'save', 'share')
>>> [KINDS[c] for c in POSITIVE_CODES]
['click', 'like', 'save', 'share']
>>> [(k.name, k.offset_name, k.offset_default) for k in CUT_OFFSETS]
[('like', 'inner_offset', 1.0), ('save', 'outer_offset', 2.0), ('share', 'share_offset', 3.0)]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedbackKind:
    """One feedback kind.

    ``cut``: the lower cut point of this kind's latent-response interval, as (threshold,
    offset): ``"neg"``/``"pos"`` for the user's ``tau_neg``/``tau_pos``, and the signed name of
    a :class:`banditsim.envs.feedback.FeedbackModel` offset field in temperature units (``""`` for none;
    ``"-outer_offset"`` means ``tau − outer_offset·T``). The worst kind has no lower cut (``None``).
    ``log_score``: the kind's score when a user's implicit log names it (:mod:`banditsim.envs.ratings_log`).
    ``offset_default``/``offset_help``: given by the one kind that declares its cut's offset, they
    make that offset a field of ``FeedbackModel`` and a ``world.feedback`` config key, with this
    default and help text; a kind that reuses an offset declared by another leaves them out.
    """

    name: str
    default_reward: float
    group: str  # "negative", "neutral" or "positive"
    cut: tuple[str, str] | None
    log_score: float
    offset_default: float | None = None
    offset_help: str = ""

    @property
    def offset_name(self) -> str:
        """The unsigned name of the offset this kind's cut point uses (``""`` for none)."""
        return self.cut[1].lstrip("-") if self.cut else ""


FEEDBACK_KINDS: tuple[FeedbackKind, ...] = (
    FeedbackKind("block", -1.0, "negative", None, -3.0),
    FeedbackKind("dislike", -0.5, "negative", ("neg", "-outer_offset"), -2.0),
    FeedbackKind("skip", -0.1, "negative", ("neg", "-inner_offset"), -1.0),
    FeedbackKind("neutral", 0.0, "neutral", ("neg", ""), 0.0),
    FeedbackKind("click", 0.5, "positive", ("pos", ""), 1.0),
    FeedbackKind("like", 1.0, "positive", ("pos", "inner_offset"), 2.0, offset_default=1.0,
                 offset_help="temperatures between skip/dislike and click/like cut points"),
    FeedbackKind("save", 1.0, "positive", ("pos", "outer_offset"), 3.0, offset_default=2.0,
                 offset_help="temperatures between dislike/block and like/save cut points"),
    FeedbackKind("share", 1.0, "positive", ("pos", "share_offset"), 3.0, offset_default=3.0,
                 offset_help="temperatures between positive threshold and the share cut point "
                             "(above save's outer_offset)"),
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

CUT_OFFSETS: tuple[FeedbackKind, ...] = tuple(k for k in FEEDBACK_KINDS if k.offset_default is not None)
"""The kinds that declare an offset, in table order: ``FeedbackModel``'s fields are their offsets."""


def _check_offsets_declared() -> None:
    """Every offset a cut point names is declared by some kind's entry."""
    declared = [k.offset_name for k in CUT_OFFSETS]
    for kind in FEEDBACK_KINDS:
        if kind.offset_name and kind.offset_name not in declared:
            raise ValueError(f"feedback kind {kind.name!r} cuts at {kind.offset_name!r}, which no kind "
                             "declares (give the entry offset_default and offset_help)")


_check_offsets_declared()
