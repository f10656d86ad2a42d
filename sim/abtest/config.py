"""Config of ``banditsim abtest`` (pydantic, extra keys forbidden; every default written out).

``ABTestConfig()`` is the built-in MovieLens test: uniformly random recommendations (control)
against a personalised ridge softmax (treatment) trained on warm-up data and frozen.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, model_validator

from banditsim.sim.metrics import ab_metric_names
from banditsim.sim.config.run_config import experiment_name
from banditsim.sim.config.section import Section
from banditsim.sim.config.world_source import WorldSource
from banditsim.sim.config.files import load_section_config
from banditsim.sim.config.policy_spec import PolicySpec, unique_labels


class ABTestSection(Section):
    users_per_arm: int = Field(1000, ge=2, le=10_000_000, description="users per arm in the observed test")
    horizon: int = Field(10, ge=1, description="steps each user is followed")
    warmup_steps: int = Field(10, ge=1, description="uniform-policy steps both policies train on")
    warmup_users: int = Field(500, ge=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    primary_metric: str = Field("reward", description="one of the A/B metrics (sim.metrics: those with an ab name)")
    guardrails: list[str] = Field(default_factory=lambda: ["negative_rate", "session_end_rate"],
                                  description="A/B metrics whose significant worsening blocks shipping")
    power_tests: int = Field(200, ge=0, le=1_000_000, description="simulated tests per power point (0: skip)")
    power_multipliers: list[float] = Field(default_factory=lambda: [0.5, 0.75, 1.0, 1.5],
                                           min_length=1, description="power points: multiples of the sized n")
    max_slots: int = Field(20_000, ge=2, description="users simulated at once")
    max_check_users: int = Field(4_000_000, ge=2, description="skip the power check above this many users")
    users_per_day: int | None = Field(None, ge=1, description="new users per arm per day (gives days)")
    item_dims: int = Field(16, ge=1, le=1024)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _positive(self):
        if any(m <= 0 for m in self.power_multipliers):
            raise ValueError("power_multipliers must all be > 0")
        names = ab_metric_names()  # the registry's A/B metrics now, including any registered after import
        for key, name in [("primary_metric", self.primary_metric), *(("guardrails", g) for g in self.guardrails)]:
            if name not in names:
                raise ValueError(f"{key}: unknown A/B metric {name!r}; choose from {', '.join(names)}")
        return self


class ABTestConfig(WorldSource):
    """An A/B test between two frozen policies, with sizing and a simulated power check.

    >>> ABTestConfig().control.label, ABTestConfig().treatment.label
    ('random', 'personalised')
    """

    name: str = "abtest-movielens"
    control: PolicySpec = Field(default_factory=lambda: PolicySpec(label="random", kind="agent", name="random"))
    treatment: PolicySpec = Field(default_factory=lambda: PolicySpec(
        label="personalised", kind="ridge", temperature=0.05, epsilon=0.1))
    test: ABTestSection = Field(default_factory=ABTestSection)

    @model_validator(mode="after")
    def _consistent(self):
        unique_labels([self.control, self.treatment])
        if "n_users" in self.world.model_fields_set:
            raise ValueError("world.n_users is set by the test: use test.users_per_arm")
        if self.world.slate_size != 1:
            raise ValueError("the A/B test shows single items: world.slate_size must be 1")
        self.name = experiment_name("abtest", self)  # never 'abtest-movielens' on your own world
        return self


def load_abtest_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> ABTestConfig:
    """The A/B config of ``path`` (default: the built-in MovieLens test)."""
    return load_section_config(ABTestConfig, path, overrides)


__all__ = ["ABTestConfig", "ABTestSection", "load_abtest_config"]
