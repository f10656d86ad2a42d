"""Config of one frozen policy for the OPE experiment and the A/B test (pydantic, extra keys forbidden).

Two kinds:

- ``agent``: a registered agent (``name``, ``params``), trained on the warm-up rows, then frozen.
- ``ridge``: a ridge model of reward on (visible user features ⊗ item embedding, PCA-reduced)
  fitted on the warm-up rows; greedy (``temperature: 0``) or softmax over its predictions,
  mixed with ``epsilon`` of uniform exploration over the allowed items.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from banditsim.sim.config.run_config import Section

class PolicySpec(Section):
    """One policy. ``label`` names it in tables and plots.

    Examples
    --------
    >>> PolicySpec(label="greedy", kind="ridge").temperature
    0.0
    >>> PolicySpec(label="eg", kind="agent", name="epsilon_greedy", params={"epsilon": 0.2}).name
    'epsilon_greedy'
    """

    label: str = Field(min_length=1)
    kind: Literal["agent", "ridge"] = "agent"
    name: str | None = Field(None, description="registered agent name (kind agent)")
    params: dict[str, Any] = Field(default_factory=dict, description="agent parameters (kind agent)")
    temperature: float = Field(0.0, ge=0, description="ridge: 0 = greedy, > 0 = softmax temperature")
    epsilon: float = Field(0.0, ge=0, le=1, description="ridge: share of uniform exploration")
    ridge: float = Field(1.0, gt=0, description="ridge: L2 penalty of the reward model")

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "agent":
            from banditsim.agents.registry import check_agent_params

            if self.name is None:
                raise ValueError(f"policy {self.label!r}: kind 'agent' needs 'name'")
            try:
                check_agent_params(self.name, self.params)
            except ValueError as exc:
                raise ValueError(f"policy {self.label!r}: {exc}") from None
        elif self.name is not None or self.params:
            raise ValueError(f"policy {self.label!r}: 'name' and 'params' are for kind 'agent' only")
        return self


def unique_labels(specs: list[PolicySpec]) -> list[PolicySpec]:
    """Raise ``ValueError`` if two policies share a label; return ``specs``."""
    labels = [s.label for s in specs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"policy labels must be unique; repeated: {', '.join(dupes)}")
    return specs
