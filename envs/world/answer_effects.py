"""What a step's answers do to the slots: fatigue from what was shown, blocks, and the drift pull.

Order within a step: fatigue recovers one step, then the shown (examined) items add fatigue; a
block removes the item from the slot's mask and candidates; a positive answer pulls the taste
toward the item (:mod:`banditsim.envs.world.drift_update`); then the population-wide trend moves every
active slot.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.feedback_kinds import BLOCK, NEUTRAL
from banditsim.envs.world.refused_rows import HeldFatigue
from banditsim.envs.world.results import StepAnswers
from banditsim.envs.world.rows import true_rows


class AnswerEffects:
    """World methods that apply a step's answers to the slots' state."""

    def _apply_answers(self, ans: StepAnswers, ab, width: int, responded: np.ndarray, idle) -> np.ndarray | None:
        """Fatigue, blocks, drift and trend after answers ``ans`` to actions ``ab`` (backend) of
        ``width`` items per slot; ``idle``: the refused rows (or None).

        Returns the slots that have blocked all but fewer than ``width`` items (None: none).
        """
        if self.config.fatigue.enabled:
            self._expose(ans, ab, idle)
        exhausted = self._block(ans, responded, width) if self.config.blocking.enabled else None
        if self._pull_on:
            dr = true_rows(responded & (ans.kinds > NEUTRAL))
            if len(dr):
                if ans.s_chosen is not None:
                    self._drift(dr, ans.item[dr], ans.s_chosen[self.be.asarray(dr, "int64")], True, a_u=ans.a_u)
                else:
                    self._drift(dr, ans.item[dr])
        if self._trend is not None:
            self._trend_step(idle)
        return exhausted

    def _expose(self, ans: StepAnswers, ab, idle) -> None:
        """One step of fatigue recovery, then the shown items' exposure; refused rows keep theirs."""
        held = HeldFatigue(self._fatigue, idle) if idle is not None else None
        rewritten = self._fatigue.tick()
        if ans.exposed is not None:
            self._fatigue.expose(*ans.exposed, True)
        else:
            self._fatigue.expose_single(self._all_rows, ab, ans.flat, None if rewritten else ans.raw_fat)
        if held is not None:
            held.restore()

    def _block(self, ans: StepAnswers, responded: np.ndarray, width: int) -> np.ndarray | None:
        """Remove blocked items from their slots' masks and candidates; returns the exhausted slots."""
        be = self.be
        bl = true_rows(responded & (ans.kinds == BLOCK))
        if not len(bl):
            return None
        exhausted = None
        rb, ib = be.asarray(bl, "int64"), be.asarray(ans.item[bl], "int64")
        self._allowed[rb, ib] = False
        left = be.to_numpy(be.take_rows(self._allowed, rb).sum(1))
        if (left < width).any():
            exhausted = np.zeros(self.n_users, dtype=bool)
            exhausted[bl[left < width]] = True
        self._candidates.drop(rb, ib)
        return exhausted
