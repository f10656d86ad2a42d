"""Allowed-item masks in the conventions RL libraries read, and the rule for a disallowed item.

An item is *disallowed* for a user once that user has blocked it (``Observation.mask`` False).

The rule (``Recommend-v0`` and ``Slate-v0``): a step that shows a disallowed item, alone or
anywhere in a slate, earns the penalty — the reward map's ``block`` reward (−1 by default) —
and changes nothing: the world, the session (its step count and patience), the user and the
random stream are as they were, the observation is the same, ``terminated`` and ``truncated``
are False, and ``info["disallowed"]`` is True (``kind`` ``"block"``, ``expected_reward`` the
penalty, ``regret`` exact against the best allowed action). Such a step does not count towards
``max_steps``: a policy that keeps choosing a disallowed item never ends its episode, so bound
it with ``gymnasium.wrappers.TimeLimit`` (or mask it).

The vector env (B users stepping one batched world, :class:`envs.vector_env.BanditVectorEnv`)
cannot leave one slot untouched while the others step, so there a step that shows any slot a
disallowed item raises :class:`ActionError` before anything changes; mask-aware learners
(sb3-contrib ``MaskablePPO``, ``action_space.sample(mask=info["action_mask"])``) never hit either.
"""

from __future__ import annotations

import numpy as np

from envs.world_errors import ActionError

HOW_TO_MASK = ("choose among venv.action_masks() or info['action_mask'] (MaskablePPO does), "
               "or build the world with WorldConfig(blocking=Blocking(enabled=False))")


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


def check_allowed(actions, mask: np.ndarray) -> None:
    """The vector env's rule: raise :class:`ActionError` when any slot shows a disallowed item.

    >>> check_allowed(np.array([0, 1]), np.array([[True, False], [True, True]]))
    >>> check_allowed(np.array([1, 1]), np.array([[True, False], [True, True]]))
    Traceback (most recent call last):
    ...
    envs.world_errors.ActionError: item 1 is blocked for slot 0 (the user blocked it): ...
    """
    bad = disallowed(actions, mask)
    if bad is not None and bad.any():
        r, c = np.argwhere(bad)[0]
        a = actions.detach().cpu().numpy() if hasattr(actions, "detach") else np.asarray(actions)
        item = a.reshape(bad.shape)[r, c]
        raise ActionError(f"item {int(item)} is blocked for slot {r} (the user blocked it): {HOW_TO_MASK}")


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
