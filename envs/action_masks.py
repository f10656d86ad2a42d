"""Allowed-item masks in the conventions RL libraries read, and the rule for a disallowed item.

An item is *disallowed* for a user once that user has blocked it (``Observation.mask`` False);
a returning person keeps their blocks, so an item blocked in an earlier session stays disallowed.

The rule, the same in ``Recommend-v0``, ``Slate-v0`` and the vector env (each of its B slots
alone): a step that shows a slot a disallowed item, alone or anywhere in a slate, is *refused* for
that slot. The slot earns the penalty, the reward map's ``block`` reward (−1 by default), and
nothing about it changes: its person, session step, patience, taste, blocks and fatigue are as they
were, ``terminated`` and ``truncated`` are False and the observation is the same; ``info`` says
``disallowed`` True, ``kind`` ``"block"``, ``expected_reward`` the penalty, ``regret`` exact against
the best allowed action, ``item``/``position`` the first disallowed item of the action. A refused step
does not count towards ``max_steps``: a policy that keeps choosing a disallowed item never ends its
episode, so bound it with ``gymnasium.wrappers.TimeLimit`` (or mask it). In the vector env the
other slots step as usual, in the same batched world step (``World.step(actions, active=...)``).

Random numbers (:mod:`banditsim.envs.world.refused_rows`): a step in which nothing is shown (a refused single-env
step, or a vector step refused in every slot) draws nothing, so what follows is exactly what would
have followed without it. A vector step in which some slots act draws what a step with every slot
acting draws (a refused slot's draws are thrown away), so an acting slot's answer does not depend on
which other slots were refused.

Malformed actions (wrong shape, non-integral, out of range) are errors (:class:`ActionError`), not
refusals. Mask-aware learners (sb3-contrib ``MaskablePPO``,
``action_space.sample(mask=info["action_mask"])``) never meet the rule.
"""

from __future__ import annotations

import numpy as np


def disallowed(actions, mask: np.ndarray) -> np.ndarray | None:
    """(B, k) bool: which entries of ``actions`` ((B,) or (B, k) item indices) ``mask`` (B, n_items)
    disallows, or None when ``actions`` is not a well-formed batch of in-range integral indices
    (the world's own validation then reports it).

    >>> disallowed(np.array([1, 1]), np.array([[True, False], [True, True]])).tolist()
    [[True], [False]]
    >>> disallowed(np.array([5, 0]), np.array([[True, False], [True, True]])) is None
    True
    """
    a = actions.detach().cpu().numpy() if hasattr(actions, "detach") else np.asarray(actions)
    if a.ndim not in (1, 2) or a.shape[0] != mask.shape[0] or a.size == 0:
        return None
    if a.dtype.kind == "f":
        if not (np.all(np.isfinite(a)) and np.all(a == np.round(a))):
            return None
    elif a.dtype.kind not in "iu":
        return None
    a = a.astype(np.int64).reshape(a.shape[0], -1)
    if a.min() < 0 or a.max() >= mask.shape[1]:
        return None
    return ~mask[np.arange(a.shape[0])[:, None], a]


def first_disallowed(actions, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, item) per row of the first disallowed entry of ``actions`` ((B,) or (B, k)), given
    ``bad`` (B, k) from :func:`disallowed`; (−1, −1) for rows with none.

    >>> bad = np.array([[False, True, True], [False, False, False]])
    >>> [p.tolist() for p in first_disallowed(np.array([[4, 5, 6], [1, 2, 3]]), bad)]
    [[1, -1], [5, -1]]
    """
    a = actions.detach().cpu().numpy() if hasattr(actions, "detach") else np.asarray(actions)
    a = a.astype(np.int64).reshape(bad.shape)
    has = bad.any(1)
    pos = np.where(has, bad.argmax(1), -1)
    item = np.where(has, a[np.arange(len(a)), np.maximum(pos, 0)], -1)
    return pos, item


def flat_masks(mask: np.ndarray, slate_size: int | None) -> np.ndarray:
    """``action_masks()`` in sb3-contrib's layout: (…, n) for one item, the mask repeated per
    slate position (…, k·n) for a ``MultiDiscrete`` slate.

    >>> flat_masks(np.array([True, False]), 2).tolist()
    [True, False, True, False]
    """
    m = np.asarray(mask, dtype=bool)
    return m.copy() if slate_size is None else np.tile(m, slate_size)


def info_mask(mask: np.ndarray, slate_size: int | None):
    """``info["action_mask"]`` as ``action_space.sample(mask=…)`` takes it: int8 (n,) for one
    item, a tuple of ``slate_size`` int8 (n,) arrays for a slate.

    >>> info_mask(np.array([True, False]), None).tolist()
    [1, 0]
    >>> len(info_mask(np.array([True, False]), 3))
    3
    """
    m = np.asarray(mask, dtype=np.int8)
    return m.copy() if slate_size is None else tuple(m.copy() for _ in range(slate_size))


def batched_info_mask(mask: np.ndarray, slate_size: int | None) -> np.ndarray:
    """Vector-env ``info["action_mask"]``: int8 (B, n), or (B, k, n) for slates."""
    m = np.asarray(mask, dtype=np.int8)
    if slate_size is None:
        return m.copy()
    return np.repeat(m[:, None, :], slate_size, axis=1)
