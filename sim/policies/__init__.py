"""Frozen policies for the experiments that compare policies (``banditsim ope`` and ``banditsim
abtest``): each is built from a :class:`~banditsim.sim.config.policy_spec.PolicySpec`, trained on
rows of a uniform warm-up, and never learns afterwards, so its action distribution is a fixed
function of (features, mask). It stands on sim/config/ and the agents; offline/ and abtest/ use it."""

from banditsim.sim.policies.frozen import (
    AgentPolicy,
    PolicyError,
    RidgePolicy,
    build_policy,
    exact_probabilities,
    item_features,
)
from banditsim.sim.policies.warmup import WarmupRows, collect_warmup

__all__ = ["AgentPolicy", "PolicyError", "RidgePolicy", "WarmupRows", "build_policy", "collect_warmup",
           "exact_probabilities", "item_features"]
