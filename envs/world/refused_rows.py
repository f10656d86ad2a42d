"""Rows of a world step that are refused: ``World.step(actions, active=...)``.

A refused row (``active`` False) is shown nothing. Its state is left as it was: session step,
patience, taste, blocks (mask), fatigue (to float32 rounding: the world stores fatigue under one
lazily decaying scale, so a held row is written back rescaled) and person; it does not end its
session. Its :class:`~banditsim.envs.world.StepResult` entries are ``kind`` block, ``reward`` and
``expected_reward_chosen`` the reward map's ``block`` reward, ``position`` and ``item`` −1,
``best_expected_reward`` the best allowed action's value as usual (or the block reward where that is
more), and ``terminated``/``truncated``/``returned``/``churned`` False. This is the rule for a
disallowed item (:mod:`banditsim.envs.action_masks`) at the level of the batched world.

Random numbers: a step with at least one active row draws exactly what a step with every row
active draws (fixed in number and order; a refused row's draws are made and thrown away), so an
active row's answer does not depend on which other rows were refused. A step with no active row
draws nothing and changes nothing (not even :attr:`World.t`), like a refused step of a one-user env.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.feedback_kinds import BLOCK
from banditsim.envs.world.results import StepResult
from banditsim.envs.world_errors import ActionError


def idle_rows(active, n_rows: int) -> np.ndarray | None:
    """Indices (numpy int64) of the refused rows of ``active`` ((n_rows,) bool), or None when
    ``active`` is None or every row is active.

    >>> idle_rows(np.array([True, False, True]), 3).tolist()
    [1]
    >>> idle_rows(None, 3) is None, idle_rows([True, True], 2) is None
    (True, True)
    >>> idle_rows(np.array([1, 0]), 2)
    Traceback (most recent call last):
    ...
    banditsim.envs.world_errors.ActionError: active must be a bool array of shape (2,), got int64 (2,)
    """
    if active is None:
        return None
    m = active.detach().cpu().numpy() if hasattr(active, "detach") else np.asarray(active)
    if m.dtype != bool or m.shape != (n_rows,):
        raise ActionError(f"active must be a bool array of shape ({n_rows},), got {m.dtype} {m.shape}")
    idle = np.flatnonzero(~m)
    return idle if len(idle) else None


def refuse_outputs(idle: np.ndarray, kinds: np.ndarray, position: np.ndarray, item: np.ndarray,
                   e_chosen, r_block: float, be):
    """Write the refused rows' outputs in place (numpy ``kinds``/``position``/``item``, backend
    ``e_chosen``); ``item`` −1 means no row state is touched by the updates that follow."""
    kinds[idle] = BLOCK
    position[idle] = -1
    item[idle] = -1
    e_chosen[be.asarray(idle, "int64")] = r_block


class HeldFatigue:
    """The refused rows' fatigue, held across a step and written back (rescaled) afterwards.

    The world's :class:`~banditsim.envs.dynamics.FatigueState` stores ``actual · scale`` with one scale for
    every row; a step's recovery changes that scale (or rewrites every row), so a held row is
    written back as ``stored · scale_after / scale_before``: the same actual fatigue, to one float32
    rounding.
    """

    def __init__(self, fat, rows_np: np.ndarray):
        self._fatigue = fat
        self._rows = fat.be.asarray(rows_np, "int64")
        self._stored = fat.be.take_rows(fat.f, self._rows)
        self._scale = float(fat.scale)

    def restore(self) -> None:
        """Put the held rows back (after the step's recovery and exposures)."""
        ratio = float(self._fatigue.scale) / self._scale
        self._fatigue.f[self._rows] = self._stored if ratio == 1.0 else self._stored * ratio


def all_refused(world, a: np.ndarray):
    """The :class:`~banditsim.envs.world.StepResult` of a step in which every row is refused: nothing is
    drawn or changed."""
    b = world.n_users
    r_block = float(world.rewards[BLOCK])
    best = world.best_items()[1] if a.ndim == 1 else world.best_slates(a.shape[1])[1]
    no = np.zeros(b, dtype=bool)
    return StepResult(user_ids=world._person_id.copy(), kind=np.full(b, BLOCK, dtype=np.int64),
                      reward=np.full(b, r_block), position=np.full(b, -1, dtype=np.int64),
                      item=np.full(b, -1, dtype=np.int64), expected_reward_chosen=np.full(b, r_block),
                      best_expected_reward=np.maximum(np.asarray(best, dtype=np.float64), r_block),
                      terminated=no, truncated=no.copy(), returned=no.copy(), churned=no.copy(),
                      observation=world._observation())
