"""What a world step returns: the observation of the current users and the step's outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.envs.feedback_kinds import KINDS


@dataclass(frozen=True)
class Observation:
    """What the world shows about the B current users (numpy arrays).

    ``user_ids`` (B,) int64 person ids (unique per person, kept when a person returns);
    ``population_index`` (B,) row of the population user each person was drawn from;
    ``features`` (B, d_u) float32 visible features (then the user-history context when
    ``history_k`` > 0, :mod:`banditsim.envs.user_history`); ``mask`` (B, n_items) bool allowed items
    (False = blocked; a read-only view, valid until the next step); ``session_step`` (B,)
    steps taken in the current session; ``patience`` (B,) patience left.
    """

    user_ids: np.ndarray
    population_index: np.ndarray
    features: np.ndarray
    mask: np.ndarray
    session_step: np.ndarray
    patience: np.ndarray


@dataclass(frozen=True)
class StepResult:
    """Outcome of one world step (numpy arrays, one entry per slot).

    ``user_ids`` who answered; ``kind`` (B,) int feedback code (:data:`banditsim.envs.feedback_kinds.KINDS`);
    ``reward`` (B,) from the reward map; ``position`` (B,) slate position that responded
    (−1: none; always 0 for single items); ``item`` (B,) item that responded (−1: none);
    ``expected_reward_chosen`` (B,) exact expected reward of the action taken;
    ``best_expected_reward`` (B,) exact best single item, or for slates the greedy slate
    (see :meth:`World.best_slates`), or the action taken where that is worth more (a greedy slate
    can be beaten under the cascade; single items only by a float near-tie), so regret ≥ 0;
    ``terminated`` (B,) session ended by patience;
    ``truncated`` (B,) session hit ``session_length``; ``returned``/``churned`` (B,) what
    happened to ended sessions; ``observation`` the next observation.
    """

    user_ids: np.ndarray
    kind: np.ndarray
    reward: np.ndarray
    position: np.ndarray
    item: np.ndarray
    expected_reward_chosen: np.ndarray
    best_expected_reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    returned: np.ndarray
    churned: np.ndarray
    observation: Observation

    @property
    def kind_names(self) -> list[str]:
        """Kind names per slot."""
        return [KINDS[k] for k in self.kind]

    @property
    def regret(self) -> np.ndarray:
        """Exact per-slot regret of this step."""
        return self.best_expected_reward - self.expected_reward_chosen


@dataclass
class StepAnswers:
    """The answers of one step's single-item or slate path, before the state updates (internal).

    ``kinds``/``position``/``item`` (B,) numpy as in :class:`StepResult`; ``e_chosen`` (B,) backend
    float64 exact value of the action; ``best`` (B,) numpy best value; ``return_uniforms`` the
    session-return draws when the path drew them with its own (None: drawn at the session's end);
    ``flat``/``raw_fat`` the single items' flat (row, item) indices and the stored fatigue read
    there; ``exposed`` the slates' examined (rows, items); ``s_chosen``/``a_u`` the chosen items'
    cosines and every slot's θ·u, reused by the drift (None for slates).
    """

    kinds: np.ndarray
    position: np.ndarray
    item: np.ndarray
    e_chosen: object
    best: np.ndarray
    return_uniforms: np.ndarray | None = None
    flat: object = None
    raw_fat: object = None
    exposed: tuple | None = None
    s_chosen: object = None
    a_u: object = None
