"""The ``world`` config's parts, built from the world's own parameter declarations.

Each part of the world (``Fatigue``, ``Drift`` … ``CascadeChoice``, ``WorldConfig``) declares its
fields' defaults, ranges and help text once, in its ``parameters`` table
(:mod:`banditsim.envs.parameters`). Here every declared field becomes a pydantic field with the
same default, bounds (so a bad value is a config error naming its key) and description (the
``banditsim config`` comment); a section then builds the world's object with :meth:`to_envs`,
which also runs the object's own cross-field checks (``inner_offset < outer_offset``).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Literal, Optional

from pydantic import Field, create_model, field_validator, model_validator

from banditsim._device import DEVICES
from banditsim.agents._validation import MAX_ABS_REWARD  # one bound (1e6) for reward maps and the agents' input
from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.feedback import FeedbackModel
from banditsim.envs.feedback_kinds import DEFAULT_REWARDS, KINDS
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import WorldConfigError
from banditsim.sim.config.section import Section


def declared_field(cls, name: str, **override):
    """``(annotation, Field)`` of ``cls``'s declared parameter ``name``; ``override`` replaces the
    declared default (``default=``) or description, or adds config-only Field arguments."""
    param = cls.parameters[name]
    description = override.pop("description", param.doc)
    hint = typing.get_type_hints(cls)[name]
    if param.choices is not None:
        hint = Literal[param.choices]
    elif param.optional:
        hint = Optional[hint]
    default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
    bounds = {k: getattr(param, k) for k in ("ge", "gt", "le", "lt") if getattr(param, k) is not None}
    if param.finite:
        bounds["allow_inf_nan"] = False
    return hint, Field(override.pop("default", default), description=description, **bounds, **override)


class EnvsSection(Section):
    """A config section built from one world part's declaration; :meth:`to_envs` builds that part."""

    envs_class: typing.ClassVar[type]

    def to_envs(self):
        """The world's own object with these values."""
        return self.envs_class(**self.model_dump())

    @model_validator(mode="after")
    def _envs_accepts(self):
        try:
            self.to_envs()
        except WorldConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


def section_for(cls, name: str) -> type[EnvsSection]:
    """The config section ``name`` of world part ``cls``: one field per entry of its ``parameters`` table."""
    model = create_model(name, __base__=EnvsSection,
                         **{key: declared_field(cls, key) for key in cls.parameters})
    model.envs_class = cls
    return model


FatigueSection = section_for(Fatigue, "FatigueSection")
DriftSection = section_for(Drift, "DriftSection")
BlockingSection = section_for(Blocking, "BlockingSection")
PatienceSection = section_for(Patience, "PatienceSection")
ReturnsSection = section_for(Returns, "ReturnsSection")
FeedbackSection = section_for(FeedbackModel, "FeedbackSection")
CascadeSection = section_for(CascadeChoice, "CascadeSection")

#: the world's parts: ``world.<key>`` section → the WorldConfig field it builds
PARTS = {"fatigue": FatigueSection, "drift": DriftSection, "blocking": BlockingSection, "patience": PatienceSection,
         "returns": ReturnsSection, "feedback": FeedbackSection, "cascade": CascadeSection}


class _WorldKeys(Section):
    """The ``world`` keys that are the run's, not :class:`WorldConfig`'s, and the reward map's check."""

    n_users: int = Field(64, ge=1, le=1_000_000, description="users stepping at once (B)")
    slate_size: int = Field(1, ge=1, description="items shown per step (1: a single recommendation)")

    @field_validator("reward_map", check_fields=False)
    @classmethod
    def _known_kinds(cls, value: dict[str, float]):
        for kind, reward in value.items():
            if kind not in KINDS:
                raise ValueError(f"unknown feedback kind {kind!r}; known kinds: {', '.join(KINDS)}")
            if not math.isfinite(reward):
                raise ValueError(f"reward of {kind!r} must be finite, got {reward}")
            if abs(reward) > MAX_ABS_REWARD:
                raise ValueError(f"reward of {kind!r} must be between -{MAX_ABS_REWARD:g} and "
                                 f"{MAX_ABS_REWARD:g} (larger rewards overflow the metrics), got {reward:g}")
        return {k: value.get(k, d) for k, d in zip(KINDS, DEFAULT_REWARDS)}

    def to_envs(self) -> WorldConfig:
        """The world's own :class:`WorldConfig` (``device`` only with backend torch)."""
        return WorldConfig(**{key: getattr(self, key).to_envs() for key in PARTS},
                           **{key: getattr(self, key) for key in WorldConfig.parameters},
                           reward_map=dict(self.reward_map), device=self.device if self.backend == "torch" else None)


#: the ``world`` section: every WorldConfig key (declared there) plus the run's n_users and slate_size
WorldSection = create_model(
    "WorldSection", __base__=_WorldKeys,
    session_length=declared_field(WorldConfig, "session_length"),
    backend=declared_field(WorldConfig, "backend"),
    device=(Literal[DEVICES], Field("cpu", description="cpu or cuda (backend torch)")),
    **{key: (section, Field(default_factory=section)) for key, section in PARTS.items()},
    history_k=declared_field(WorldConfig, "history_k", default=10, description=(
        "user-history context: mean of the last k positively answered items' embeddings appended to the user "
        "features (0: off; default 10, README 'User-history context'; envs/user_history.py)")),
    history_dim=declared_field(WorldConfig, "history_dim"),
    reward_map=(dict[str, float], Field(default_factory=lambda: dict(zip(KINDS, DEFAULT_REWARDS)),
                                        description="reward of each feedback kind")),
    candidates=declared_field(WorldConfig, "candidates"),
)
