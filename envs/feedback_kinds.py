"""The world's side of the feedback kinds: the reward map from kind to number, and kind lookups.

The kinds themselves are one table, :data:`banditsim.feedback_kinds.FEEDBACK_KINDS` (a leaf that
agents read too); its names are re-exported here for the world's modules.

>>> KINDS[BLOCK], KINDS[SHARE]
('block', 'share')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from banditsim.envs.world_errors import FeedbackKindError
from banditsim.feedback_kinds import (  # noqa: F401 (the table's names, for the world's modules)
    BLOCK,
    CLICK,
    CUT_OFFSETS,
    DEFAULT_REWARDS,
    DISLIKE,
    FEEDBACK_KINDS,
    KINDS,
    LIKE,
    N_CUTS,
    N_KINDS,
    NEGATIVE_CODES,
    NEUTRAL,
    POSITIVE_CODES,
    SAVE,
    SHARE,
    SKIP,
    FeedbackKind,
)


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
    banditsim.envs.world_errors.FeedbackKindError: unknown feedback kind 'retweet' in reward map; known kinds: block, dislike, skip, neutral, click, like, save, share
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
