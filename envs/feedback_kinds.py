"""Feedback kinds (ordered worst → best) and the reward map from kind to number.

The kind code is the index in :data:`KINDS`. The agents package keeps an identical
default tuple; :data:`DEFAULT_REWARDS` is the reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from envs.world_errors import FeedbackKindError

KINDS: tuple[str, ...] = ("block", "dislike", "skip", "neutral", "click", "like", "save")
DEFAULT_REWARDS: tuple[float, ...] = (-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0)
BLOCK, DISLIKE, SKIP, NEUTRAL, CLICK, LIKE, SAVE = range(7)
NEGATIVE_CODES: tuple[int, ...] = (BLOCK, DISLIKE, SKIP)
POSITIVE_CODES: tuple[int, ...] = (CLICK, LIKE, SAVE)


def kind_code(name: str) -> int:
    """Code of a kind name.

    >>> kind_code("like")
    5
    """
    try:
        return KINDS.index(name)
    except ValueError:
        raise FeedbackKindError(
            f"unknown feedback kind {name!r}; known kinds: {', '.join(KINDS)}"
        ) from None


def reward_vector(reward_map: Mapping[str, float] | Sequence[float] | None = None) -> np.ndarray:
    """Reward per kind code as float64 (7,).

    ``reward_map`` is ``None`` (defaults), a mapping kind name → reward (kinds left out keep
    their default), or a sequence of 7 numbers in :data:`KINDS` order.

    >>> reward_vector({"click": 0.2}).tolist()
    [-1.0, -0.5, -0.1, 0.0, 0.2, 1.0, 1.0]
    >>> reward_vector({"share": 1})
    Traceback (most recent call last):
    ...
    envs.world_errors.FeedbackKindError: unknown feedback kind 'share' in reward map; known kinds: block, dislike, skip, neutral, click, like, save
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
    """True when rewards never decrease from ``block`` to ``save``.

    With a monotone map the expected reward of an item increases with its utility, which
    lets the world find the best item from the highest utility.

    >>> is_monotone(reward_vector()), is_monotone(reward_vector({"block": 2}))
    (True, False)
    """
    return bool(np.all(np.diff(np.asarray(rewards)) >= 0))
