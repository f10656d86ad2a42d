"""Config of ``banditsim ope`` (pydantic, extra keys forbidden; every default written out).

``OPEConfig()`` is the built-in MovieLens experiment: users fitted from real ratings, a
softmax logging policy over a ridge model, three target policies.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from banditsim.sim.config.run_config import experiment_name
from banditsim.sim.config.section import Section
from banditsim.sim.config.world_sections import WorldSection
from banditsim.sim.config.world_source import WorldSource
from banditsim.sim.config.files import load_section_config
from banditsim.sim.config.policy_spec import PolicySpec, unique_labels
from banditsim.sim.ope.registry import ESTIMATORS, get_estimator


def _default_world() -> WorldSection:
    return WorldSection(n_users=400)


def _default_logging() -> PolicySpec:
    return PolicySpec(label="logging-softmax", kind="ridge", temperature=0.05, epsilon=0.1)


def _default_targets() -> list[PolicySpec]:
    return [
        PolicySpec(label="greedy-ridge", kind="ridge", temperature=0.0, ridge=10.0),
        PolicySpec(label="sharp-softmax", kind="ridge", temperature=0.02, epsilon=0.05),
        PolicySpec(label="epsilon-greedy", kind="agent", name="epsilon_greedy", params={"epsilon": 0.2}),
    ]


class OPEExperimentSection(Section):
    warmup_steps: int = Field(10, ge=1, description="steps of the uniform policy the models train on")
    log_steps: int = Field(40, ge=1, description="steps the frozen logging policy logs")
    max_rows: int = Field(40_000, ge=10, le=5_000_000, description="logged rows kept (cap)")
    estimators: list[str] = Field(default_factory=lambda: list(ESTIMATORS), min_length=1)
    switch_tau: float | Literal["auto"] = Field(
        "auto", description="switch-DR importance-weight threshold (>= 0), or 'auto': the estimated-MSE "
        "rule of sim.ope.switch_dr")
    interval: Literal["clt", "bootstrap"] = "clt"
    alpha: float = Field(0.05, gt=0, lt=1)
    item_dims: int = Field(16, ge=1, le=1024, description="PCA dims of item embeddings in ridge models")
    reward_model_ridge: float = Field(1.0, gt=0, description="L2 penalty of the DM/DR reward model")
    seed: int = Field(0, ge=0)

    @field_validator("estimators")
    @classmethod
    def _registered(cls, names: list[str]) -> list[str]:
        for name in names:  # the choices are the registry's (banditsim.sim.ope.registry)
            get_estimator(name)
        return names

    @model_validator(mode="after")
    def _tau(self):
        if self.switch_tau != "auto" and not self.switch_tau >= 0:
            raise ValueError(f"switch_tau must be a number >= 0 or 'auto', got {self.switch_tau!r}")
        return self


class OPEConfig(WorldSource):
    """Ground-truth OPE experiment.

    Examples
    --------
    >>> cfg = OPEConfig()
    >>> cfg.logging.label, [t.label for t in cfg.targets]
    ('logging-softmax', ['greedy-ridge', 'sharp-softmax', 'epsilon-greedy'])
    """

    name: str = "ope-movielens"
    world: WorldSection = Field(default_factory=_default_world)
    logging: PolicySpec = Field(default_factory=_default_logging)
    targets: list[PolicySpec] = Field(default_factory=_default_targets, min_length=1)
    experiment: OPEExperimentSection = Field(default_factory=OPEExperimentSection)

    @model_validator(mode="after")
    def _consistent(self):
        unique_labels([self.logging, *self.targets])
        if self.world.slate_size != 1:
            from banditsim.sim.policies.frozen import PolicyError
            from banditsim.sim.offline.slate_experiment import check_slate_policies

            try:
                check_slate_policies(self.logging, self.targets)
            except PolicyError as exc:
                raise ValueError(str(exc)) from None
        self.name = experiment_name("ope", self)  # never 'ope-movielens' on your own world
        return self


def load_ope_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> OPEConfig:
    """The OPE config of ``path`` (default: the built-in MovieLens experiment)."""
    return load_section_config(OPEConfig, path, overrides)

