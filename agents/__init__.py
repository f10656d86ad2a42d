"""Bandit agents: context-free and contextual policies behind one batched protocol.

``act(context) -> Decision`` and ``update(context, decision, feedback)``; build them by
name with ``make_agent`` and list them with ``describe_agents``.

Examples
--------
>>> import numpy as np
>>> agent = make_agent("beta_ts", n_arms=3, n_replicas=2, random_state=0, n_propensity_draws=32)
>>> ctx = Context(replica=np.array([0, 1]))
>>> decision = agent.act(ctx)
>>> decision.actions.shape, decision.propensities.shape
((2,), (2,))
>>> agent.update(ctx, decision, Feedback(reward=np.array([1.0, 0.0])))
"""

from banditsim.agents.base import Agent
from banditsim.agents.registry import AGENTS, describe_agents, make_agent
from banditsim.agents.types import Context, Decision, Feedback
from banditsim.feedback_kinds import DEFAULT_REWARDS as KIND_VALUES, KINDS as KIND_NAMES  # the one kind table

__all__ = [
    "AGENTS",
    "KIND_NAMES",
    "KIND_VALUES",
    "Agent",
    "Context",
    "Decision",
    "Feedback",
    "describe_agents",
    "make_agent",
]
