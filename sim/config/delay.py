"""The ``feedback_delay`` config section: how many steps each kind of answer takes to reach the agent.

A delay is drawn per answer from its feedback kind's distribution (a kind without its own
entry uses ``default``), in whole steps:

* ``fixed``: always ``steps``;
* ``geometric``: P(d = k) = p (1 − p)^k for k = 0, 1, 2, ... with p = 1 / (1 + ``mean``), so
  its mean is ``mean`` (``mean: 0`` is no delay);
* ``lognormal``: a log-normal time with median ``median`` and log-scale ``sigma``, rounded to
  the nearest step.

An answer with delay d to a decision at step t arrives at step t + d: the agent learns from it
after acting at that step (d = 0: learning before the next step, as without delays). The
sampler itself is :mod:`banditsim.sim.run.feedback_delay`.

Examples
--------
>>> s = FeedbackDelaySection.model_validate({"save": {"dist": "lognormal", "median": 20, "sigma": 1}})
>>> s.spec_for("save").dist, s.spec_for("click").dist, s.is_zero()
('lognormal', 'fixed', False)
>>> FeedbackDelaySection().is_zero()
True
"""

from __future__ import annotations

import difflib
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from banditsim.envs.feedback_kinds import KINDS as KIND_NAMES  # a kind's code is its index here

MAX_DELAY = 1_000_000_000  # steps; larger than any horizon a run can take
DISTRIBUTIONS = ("fixed", "geometric", "lognormal")
_PARAMS = {"fixed": ("steps",), "geometric": ("mean",), "lognormal": ("median", "sigma")}


class _Section(BaseModel):
    """A config section: unknown keys are errors (the same rules as ``banditsim.sim.config.section.Section``)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class DelaySpec(_Section):
    """One kind's delay distribution, in steps."""

    dist: Literal["fixed", "geometric", "lognormal"] = Field(
        "fixed", description="fixed (steps), geometric (mean) or lognormal (median, sigma); in steps")
    steps: Optional[int] = Field(None, ge=0, le=MAX_DELAY, description="dist fixed: the delay in steps")
    mean: Optional[float] = Field(None, ge=0, le=MAX_DELAY, allow_inf_nan=False,
                                  description="dist geometric: mean delay in steps (0, 1, 2, ... steps)")
    median: Optional[float] = Field(None, gt=0, le=MAX_DELAY, allow_inf_nan=False,
                                    description="dist lognormal: median delay in steps")
    sigma: Optional[float] = Field(None, gt=0, le=10, allow_inf_nan=False,
                                   description="dist lognormal: standard deviation of the log delay")

    @model_validator(mode="after")
    def _params_of_dist(self):
        wanted = _PARAMS[self.dist]
        extra = [k for k in ("steps", "mean", "median", "sigma") if k not in wanted and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"'{extra[0]}' does not apply to dist '{self.dist}' (it takes "
                             f"{', '.join(repr(k) for k in wanted)})")
        missing = [k for k in wanted if getattr(self, k) is None]
        if missing:
            need = " and ".join(f"'{k}'" for k in wanted)
            raise ValueError(f"dist '{self.dist}' needs {need} (missing '{missing[0]}')")
        return self

    def is_zero(self) -> bool:
        """True when every draw is 0 steps."""
        return (self.dist == "fixed" and self.steps == 0) or (self.dist == "geometric" and self.mean == 0)


def _no_delay() -> DelaySpec:
    return DelaySpec(dist="fixed", steps=0)


_KIND_HELP = "delay of {} answers (null: the default's)"


class _DelayKinds(_Section):
    """Delay per feedback kind; ``default`` for kinds without their own entry (fields: below)."""

    @model_validator(mode="before")
    @classmethod
    def _known_kinds(cls, value):
        if isinstance(value, dict):
            names = ("default",) + KIND_NAMES
            for key in value:
                if key not in names:
                    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                    raise ValueError(f"unknown feedback kind {key!r}{hint} (kinds: {', '.join(names)})")
        return value

    def spec_for(self, kind: str) -> DelaySpec:
        """The delay distribution of feedback kind ``kind``."""
        return getattr(self, kind) or self.default

    def is_zero(self) -> bool:
        """True when every kind's delay is always 0 (the run behaves exactly as without delays)."""
        return all(self.spec_for(k).is_zero() for k in KIND_NAMES)


#: one optional entry per kind of :data:`banditsim.envs.feedback_kinds.KINDS` (a new kind gets its key too)
FeedbackDelaySection = create_model(
    "FeedbackDelaySection", __base__=_DelayKinds, __module__=__name__,
    default=(DelaySpec, Field(default_factory=_no_delay, description="delay of kinds without their own entry")),
    **{kind: (Optional[DelaySpec], Field(None, description=_KIND_HELP.format(kind))) for kind in KIND_NAMES})
