"""The B slots: who sits in each (a copy of a population user with their own state) and their sessions.

A slot holds one person: the population row they were drawn from, their taste, mask of allowed
items, fatigue, user-history context, candidates (:mod:`banditsim.envs.world.oracle`), patience and session
step. A session ends by patience (negative answers), by ``session_length``, or when the person has
blocked so many items that fewer than one action's worth are left; an ended session returns (the
same person, fatigue recovered by the return gap) or churns (a fresh person takes the slot, for
good when exhausted), so the batch always stays full.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.dynamics import FatigueState
from banditsim.envs.feedback_kinds import N_CUTS, NEUTRAL
from banditsim.envs.taste_rows import TasteRows
from banditsim.envs.world.candidates import CandidateState
from banditsim.envs.world.results import Observation
from banditsim.envs.world.rows import true_rows
from banditsim.envs.world_errors import WorldConfigError


class SessionSlots:
    """World methods for the slots' people and sessions."""

    def reset(self, seed: int | None = None) -> Observation:
        """Start over with B fresh people (re-seeding the generator when ``seed`` is given)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            if self._trend is not None:
                self._trend.reseed(seed)
        be, b = self.be, self.n_users
        self._steps_taken = 0
        self._next_person = 0
        self._pop_index = np.zeros(b, dtype=np.int64)
        self._person_id = np.zeros(b, dtype=np.int64)
        self._patience = np.zeros(b, dtype=np.int64)
        self._session_step = np.zeros(b, dtype=np.int64)
        self._moved = np.zeros(b, dtype=bool)  # θ differs from the population user's θ
        self._tastes = TasteRows(be, b, self._tables.items.shape[1])
        self._allowed = be.ones((b, self.n_items), "bool")
        self._candidates = CandidateState(be, b, self._tables.n_candidates, self.n_items,
                                          self._tables.principal_dirs.shape[1])
        self._kappa = be.zeros(b, "float32")
        self._user_bias = be.zeros(b, "float32")
        self._temperature = be.ones(b, "float32")
        self._cut_points = be.zeros((b, N_CUTS), "float32")
        self._scaled_cut_points = be.zeros((N_CUTS, b), "float32")  # cut points / temperature (feedback.scaled_cuts)
        self._inv_temperature = be.ones(b, "float32")  # 1 / temperature
        self._features = np.zeros((b, self.population.features.shape[1]), dtype=np.float32)
        self._history.start(b)
        self._row_offsets = self._all_rows * self.n_items  # row offsets into flattened (B, n_items) arrays
        self._fatigue = FatigueState(be, b, self.n_items, self.config.fatigue, *self._tables.neighbours)
        self._spawn(np.arange(b))
        if self._trend is not None:
            self._trend.start(self.n_items)
        self._started = True
        return self._observation()

    def _spawn(self, rows: np.ndarray) -> None:
        """Fresh people from the population in ``rows``."""
        if len(rows) == 0:
            return
        be = self.be
        tm = self._rng.integers(self.population.n_users, size=len(rows))
        self._pop_index[rows] = tm
        self._person_id[rows] = self._next_person + np.arange(len(rows))
        self._next_person += len(rows)
        self._moved[rows] = False
        r, t = be.asarray(rows, "int64"), be.asarray(tm, "int64")
        tables = self._tables
        self._tastes.set_rows(r, tables.pop_theta[t])
        self._allowed[r] = True
        self._candidates.start_rows(r, t, tables)
        self._kappa[r] = tables.pop_kappa[t]
        self._user_bias[r] = tables.pop_user_bias[t]
        self._temperature[r] = tables.pop_temperature[t]
        self._cut_points[r] = tables.pop_cuts[t]
        self._scaled_cut_points[:, r] = tables.pop_scaled_cuts[:, t]
        self._inv_temperature[r] = tables.pop_inv_temperature[t]
        self._features[rows] = self.population.features[tm]
        self._history.reset_rows(rows)
        self._fatigue.reset_rows(r)
        self._new_session(rows)

    def _new_session(self, rows: np.ndarray) -> None:
        self._patience[rows] = int(self.config.patience.initial)
        self._session_step[rows] = 0

    def _observation(self) -> Observation:
        mask = self.be.to_numpy(self._allowed)
        if self.be.name == "numpy":
            mask = mask.view()
            mask.flags.writeable = False
        return Observation(user_ids=self._person_id.copy(), population_index=self._pop_index.copy(),
                           features=self._history.append_to(self._features), mask=mask,
                           session_step=self._session_step.copy(), patience=self._patience.copy())

    def _require_started(self) -> None:
        if not self._started:
            raise WorldConfigError("call reset() before step() or expected_rewards()")


    def _end_sessions(self, kinds: np.ndarray, item: np.ndarray, responded: np.ndarray, idle,
                      exhausted, return_uniforms) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Patience and session steps after the answers ``kinds``/``item``; ended sessions return or
        churn. ``idle``: refused rows (their session step does not advance); ``exhausted``: slots
        that leave for good; ``return_uniforms``: the return draws when already made.

        Returns (terminated, truncated, returned, churned), (B,) bool each.
        """
        cfg, b = self.config, self.n_users
        if cfg.patience.enabled:
            self._patience -= responded & (kinds < NEUTRAL)
        self._session_step += 1
        if idle is not None:
            self._session_step[idle] -= 1
        terminated = (self._patience <= 0) if cfg.patience.enabled else np.zeros(b, dtype=bool)
        if exhausted is not None:  # nothing left to show them: the session ends and they leave
            terminated = terminated | exhausted
        if cfg.session_length:
            truncated = ~terminated & (self._session_step >= cfg.session_length)
        else:
            truncated = np.zeros(b, dtype=bool)
        ended = terminated | truncated
        ret_u = self._rng.random(b) if return_uniforms is None else return_uniforms
        returned = ended & (ret_u < cfg.returns.p_return)
        if exhausted is not None:
            returned &= ~exhausted
        churned = ended & ~returned
        ret_rows = true_rows(returned)
        if len(ret_rows):
            if cfg.fatigue.enabled:
                self._fatigue.recover_rows(self.be.asarray(ret_rows, "int64"), cfg.returns.gap)
            self._new_session(ret_rows)
        # before new people reset it
        self._history.record(responded & (kinds > NEUTRAL), item, self._catalog_vectors)
        self._spawn(true_rows(churned))
        return terminated, truncated, returned, churned
