"""Feedback kinds — the one table every package reads — and the reward map from kind to number.

Each kind is one :class:`FeedbackKind` entry of :data:`FEEDBACK_KINDS`, ordered worst → best:
its name, default reward, group (negative, neutral or positive) and its lower cut point in the
ordinal feedback model (:mod:`envs.feedback`). The kind code is the index in :data:`KINDS`.
Adding a kind is one entry here (codes of the kinds before it stay as they are); the agents'
copy (:mod:`agents.feedback_kinds`, which may not import ``envs``) is checked equal to this
table by a test.

>>> KINDS
('block', 'dislike', 'skip', 'neutral', 'click', 'like', 'save', 'share')
>>> [KINDS[c] for c in POSITIVE_CODES]
['click', 'like', 'save', 'share']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from banditsim.envs.world_errors import FeedbackKindError


@dataclass(frozen=True)
class FeedbackKind:
    """One feedback kind.

    ``cut``: the lower cut point of this kind's latent-response interval, as (threshold,
    offset): ``"neg"``/``"pos"`` for the user's ``tau_neg``/``tau_pos``, and the signed name of
    a :class:`envs.feedback.FeedbackModel` offset field in temperature units (``""`` for none;
    ``"-outer_offset"`` means ``tau − outer_offset·T``). The worst kind has no lower cut (``None``).
    """

    name: str
    default_reward: float
    group: str  # "negative", "neutral" or "positive"
    cut: tuple[str, str] | None


FEEDBACK_KINDS: tuple[FeedbackKind, ...] = (
    FeedbackKind("block", -1.0, "negative", None),
    FeedbackKind("dislike", -0.5, "negative", ("neg", "-outer_offset")),
    FeedbackKind("skip", -0.1, "negative", ("neg", "-inner_offset")),
    FeedbackKind("neutral", 0.0, "neutral", ("neg", "")),
    FeedbackKind("click", 0.5, "positive", ("pos", "")),
    FeedbackKind("like", 1.0, "positive", ("pos", "inner_offset")),
    FeedbackKind("save", 1.0, "positive", ("pos", "outer_offset")),
    FeedbackKind("share", 1.0, "positive", ("pos", "share_offset")),
)
"""The kinds, worst → best. ``share`` is the strongest positive answer; its default reward
equals ``save``'s, so a reward map that leaves it out gives every run the same rewards and
regret as before ``share`` existed (only some ``save`` answers become ``share``)."""

KINDS: tuple[str, ...] = tuple(k.name for k in FEEDBACK_KINDS)
DEFAULT_REWARDS: tuple[float, ...] = tuple(k.default_reward for k in FEEDBACK_KINDS)
N_KINDS: int = len(KINDS)
N_CUTS: int = N_KINDS - 1
NEGATIVE_CODES: tuple[int, ...] = tuple(i for i, k in enumerate(FEEDBACK_KINDS) if k.group == "negative")
POSITIVE_CODES: tuple[int, ...] = tuple(i for i, k in enumerate(FEEDBACK_KINDS) if k.group == "positive")
BLOCK, DISLIKE, SKIP, NEUTRAL, CLICK, LIKE, SAVE, SHARE = (KINDS.index(n) for n in (
    "block", "dislike", "skip", "neutral", "click", "like", "save", "share"))


def kind_code(name: str) -> int:
    """Code of a kind name.

    >>> kind_code("like"), kind_code("share")
    (5, 7)
    """
    try:
        return KINDS.index(name)
    except ValueError:
        raise FeedbackKindError(
            f"unknown feedback kind {name!r}; known kinds: {', '.join(KINDS)}"
        ) from None


def reward_vector(reward_map: Mapping[str, float] | Sequence[float] | None = None) -> np.ndarray:
    """Reward per kind code as float64 (N_KINDS,).

    ``reward_map`` is ``None`` (defaults), a mapping kind name → reward (kinds left out keep
    their default), or a sequence of one number per kind in :data:`KINDS` order.

    >>> reward_vector({"click": 0.2}).tolist()
    [-1.0, -0.5, -0.1, 0.0, 0.2, 1.0, 1.0, 1.0]
    >>> reward_vector({"share": 2}).tolist()[-1]
    2.0
    >>> reward_vector({"retweet": 1})
    Traceback (most recent call last):
    ...
    envs.world_errors.FeedbackKindError: unknown feedback kind 'retweet' in reward map; known kinds: block, dislike, skip, neutral, click, like, save, share
    """
    rewards = np.array(DEFAULT_REWARDS, dtype=np.float64)
    if reward_map is None:
        return rewards
    if isinstance(reward_map, Mapping):
        for name, value in reward_map.items():
            if name not in KINDS:
                raise FeedbackKindError(
                    f"unknown feedback kind {name!r} in reward map; known kinds: {', '.join(KINDS)}"
                )
            rewards[KINDS.index(name)] = _finite(name, value)
        return rewards
    values = list(reward_map)
    if len(values) != len(KINDS):
        raise FeedbackKindError(
            f"reward map sequence needs {len(KINDS)} numbers ({', '.join(KINDS)}), got {len(values)}"
        )
    return np.array([_finite(k, v) for k, v in zip(KINDS, values)], dtype=np.float64)


def _finite(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FeedbackKindError(f"reward for feedback kind {name!r} is not a number: {value!r}") from None
    if not np.isfinite(v):
        raise FeedbackKindError(f"reward for feedback kind {name!r} is not finite: {value!r}")
    return v


def is_monotone(rewards: np.ndarray) -> bool:
    """True when rewards never decrease from the worst kind to the best.

    With a monotone map the expected reward of an item increases with its utility, which
    lets the world find the best item from the highest utility.

    >>> is_monotone(reward_vector()), is_monotone(reward_vector({"block": 2}))
    (True, False)
    """
    return bool(np.all(np.diff(np.asarray(rewards)) >= 0))
