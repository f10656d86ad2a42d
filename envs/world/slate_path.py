"""One slate per slot under the cascade: exact slate values and the cascade's answers.

Every position gets a feedback kind and an examination draw; the slot responds at the first
examined position whose kind is not neutral (:class:`banditsim.envs.slate_choice.CascadeChoice`). The items
examined up to that position (all examined ones when none responds) gain fatigue.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.feedback import kind_probabilities, sample_kinds
from banditsim.envs.feedback_kinds import BLOCK, N_KINDS, NEUTRAL
from banditsim.envs.slate_choice import slate_value
from banditsim.envs.world.results import StepAnswers
from banditsim.envs.world.uniforms import open_uniforms


class SlatePath:
    """World methods for slates."""

    def slate_expected_rewards(self, slates) -> np.ndarray:
        """(B,) exact expected reward of the given (B, k) slates under the cascade model."""
        self._require_started()
        ab = self.be.asarray(self._check_actions(slates, slate=True), "int64")
        return self._slate_values(ab, self._slate_cosines(ab))

    def _slate_values(self, ab, s) -> np.ndarray:
        """:meth:`slate_expected_rewards` of checked (B, k) backend slates ``ab`` with cosines ``s``."""
        be, xp = self.be, self.be.xp
        r2 = be.arange(self.n_users)[:, None] + 0 * ab
        u = self._exact_utility(r2, ab, s)  # float64, as in _exact_values
        cuts, temp = xp.astype(self._cut_points, xp.float64), xp.astype(self._temperature, xp.float64)
        probs = kind_probabilities(u, cuts[:, None, :] + 0 * u[..., None], temp[:, None] + 0 * u)
        blocked = ~be.gather(self._allowed, r2, ab)
        onehot = be.zeros(N_KINDS, "float64")
        onehot[BLOCK] = 1.0
        probs = xp.where(blocked[..., None], onehot + 0 * probs, probs)
        exam = be.asarray(self.config.cascade.examination_probs(ab.shape[1]), "float64")
        return be.to_numpy(slate_value(probs, exam, be.asarray(self.rewards, "float64"))).astype(np.float64)


    def _slate_step(self, a: np.ndarray, ab) -> StepAnswers:
        """Answers to the checked slates ``a`` (numpy (B, k)), ``ab`` (the same on the backend).

        Draws: (B, k) feedback uniforms, then (B, k) examination uniforms.
        """
        be, xp, b, k = self.be, self.be.xp, self.n_users, a.shape[1]
        rows_np = self._all_rows_np
        _, best = self.best_slates(k)
        s_slate = self._slate_cosines(ab)  # the chosen slates' cosines, for both uses below
        e_chosen = self._slate_values(ab, s_slate)
        r2 = self._all_rows[:, None] + 0 * ab
        util = self._utility(r2, ab, s_slate)
        blocked = ~be.gather(self._allowed, r2, ab)
        unif = be.asarray(open_uniforms(self._rng, (b, k)), "float32")
        exam_u = self._rng.random((b, k))
        kall = sample_kinds(util, self._cut_points[:, None, :] + 0 * util[..., None],
                            self._temperature[:, None] + 0 * util, unif)
        kall = be.to_numpy(xp.where(blocked, BLOCK, kall)).astype(np.int64)
        exam = exam_u < self.config.cascade.examination_probs(k)[None, :]
        resp = exam & (kall != NEUTRAL)
        has = resp.any(1)
        first = resp.argmax(1)
        seen = exam & (~has[:, None] | (np.arange(k)[None, :] <= first[:, None]))
        er, ec = np.nonzero(seen)
        return StepAnswers(kinds=np.where(has, kall[rows_np, first], NEUTRAL), position=np.where(has, first, -1),
                           item=np.where(has, a[rows_np, first], -1), e_chosen=be.asarray(e_chosen, "float64"),
                           best=best, exposed=(be.asarray(er, "int64"), be.asarray(a[er, ec], "int64")))
