"""Configuration of the batched world."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Sequence

from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.feedback import FeedbackModel
from banditsim.envs.parameters import Param, check_parameters
from banditsim.envs.slate_choice import CascadeChoice


@dataclass(frozen=True)
class WorldConfig:
    """Every world parameter; defaults switch all dynamics on.

    ``reward_map``: kind name → reward (see :func:`banditsim.envs.feedback_kinds.reward_vector`).
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

    # the parts (fatigue … cascade) check themselves; reward_map is checked where it is turned into
    # a reward vector (banditsim.envs.feedback_kinds.reward_vector)
    parameters: ClassVar[dict[str, Param]] = {
        "session_length": Param("steps per session (null: sessions end by patience only)", ge=1, optional=True),
        "backend": Param("numpy or torch", choices=("numpy", "torch")),
        "candidates": Param("top-utility items kept per user to find the best item exactly without scanning "
                            "the catalog", ge=1),
        "history_k": Param("user-history context: mean of the last k positively answered items' embeddings "
                           "appended to the user features (0: off; README 'User-history context'; "
                           "envs/user_history.py)", integer=True, ge=0, le=10_000),
        "history_dim": Param("principal directions of the catalog the history is kept on", integer=True, ge=1),
    }

    def __post_init__(self):
        check_parameters(self)
