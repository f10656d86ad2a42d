"""Configuration of the batched world."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.feedback import FeedbackModel
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.user_history import check_history
from banditsim.envs.world_errors import WorldConfigError


@dataclass(frozen=True)
class WorldConfig:
    """Every world parameter; defaults switch all dynamics on.

    ``reward_map``: kind name → reward (see :func:`envs.feedback_kinds.reward_vector`).
    ``session_length``: steps after which a session is truncated (``None``: no limit).
    ``backend``/``device``: ``"numpy"`` or ``"torch"`` (``device`` ``"cpu"`` or ``"cuda"``).
    ``candidates``: size of the per-user top-utility candidate list used to find the best
    item exactly without scanning the catalog (a full scan is the fallback).

    >>> WorldConfig(drift=Drift(enabled=False)).drift.enabled
    False
    """

    fatigue: Fatigue = field(default_factory=Fatigue)
    drift: Drift = field(default_factory=Drift)
    blocking: Blocking = field(default_factory=Blocking)
    patience: Patience = field(default_factory=Patience)
    returns: Returns = field(default_factory=Returns)
    feedback: FeedbackModel = field(default_factory=FeedbackModel)
    cascade: CascadeChoice = field(default_factory=CascadeChoice)
    reward_map: Mapping[str, float] | Sequence[float] | None = None
    session_length: int | None = None
    backend: str = "numpy"
    device: str | None = None
    candidates: int = 32
    history_k: int = 0
    history_dim: int = 16

    def __post_init__(self):
        if self.session_length is not None and int(self.session_length) < 1:
            raise WorldConfigError(f"session_length must be ≥ 1 or None, got {self.session_length}")
        if int(self.candidates) < 1:
            raise WorldConfigError(f"candidates must be ≥ 1, got {self.candidates}")
        check_history(self.history_k, self.history_dim)
