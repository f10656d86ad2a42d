"""One item per slot: its exact value, the best item's, and the feedback drawn for it."""

from __future__ import annotations

import numpy as np

from banditsim.envs.feedback import sample_kinds_scaled
from banditsim.envs.feedback_kinds import BLOCK
from banditsim.envs.world.results import StepAnswers
from banditsim.envs.world.uniforms import EPS


class SinglePath:
    """World method for a step that shows one item per slot."""

    def _single_step(self, a: np.ndarray, ab) -> StepAnswers:
        """Answers to the checked items ``a`` (numpy (B,)), ``ab`` (the same on the backend).

        With monotone rewards the best item comes from the oracle, and its cosines and the chosen
        item's are computed in one pass, as are their exact values. Draws: B feedback uniforms and
        then B session-return uniforms, in one call (the same stream as two).
        """
        be, xp, b = self.be, self.be.xp, self.n_users
        rows = self._all_rows
        a_u = None  # θ·u of every slot, when computed with the cosines (see _cosine_items_many)
        if self._monotone:
            top = self._best_candidates(1)[0][:, 0]
            (s_chosen, s_top), a_u = self._cosine_items_many([ab, top])
        else:
            s_chosen = self._cosine_items(ab)
        flat = self._row_offsets + ab
        util, raw_fat = self._chosen_utility(ab, flat, s_chosen)
        blocked = ~be.take(self._allowed, flat)
        y = util * self._inv_temperature  # utility in temperature units (float32: the feedback draw)
        if self._monotone:
            raw2 = None if raw_fat is None else be.cat([be.take(self._fatigue.f, self._row_offsets + top), raw_fat])
            e2 = self._exact_values(be.cat([rows, rows]), be.cat([top, ab]), be.cat([s_top, s_chosen]), raw2)
            best, e_chosen = be.to_numpy(e2[:b]), e2[b:]
        else:
            _, best = self.best_items()
            e_chosen = self._exact_values(rows, ab, s_chosen, raw_fat)
        e_chosen = xp.where(blocked, float(self.rewards[BLOCK]), e_chosen)
        u2 = self._rng.random(2 * b)
        unif = be.asarray(np.clip(u2[:b], EPS, 1 - EPS), "float32")
        kinds = sample_kinds_scaled(y, self._scaled_cut_points, unif)
        kinds = be.to_numpy(xp.where(blocked, BLOCK, kinds)).astype(np.int64)
        return StepAnswers(kinds=kinds, position=np.zeros(b, dtype=np.int64), item=a.copy(), e_chosen=e_chosen,
                           best=best, return_uniforms=u2[b:], flat=flat, raw_fat=raw_fat,
                           s_chosen=s_chosen, a_u=a_u)
