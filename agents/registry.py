"""Name → agent class registry, the one check of agent parameters, ``make_agent`` and ``describe_agents``."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from banditsim.agents.base import Agent

#: Every agent as ``"module:Class"`` under ``banditsim.agents``, in the order ``banditsim list`` shows
#: them. Adding an agent is its module plus one line here.
AGENT_CLASSES = (
    "beta_ts:BetaTSAgent",
    "gaussian_ts:GaussianTSAgent",
    "dirichlet_ts:DirichletTSAgent",
    "ucb1:UCB1Agent",
    "kl_ucb:KLUCBAgent",
    "epsilon_greedy:EpsilonGreedyAgent",
    "random_policy:RandomAgent",
    "linucb:LinUCBAgent",
    "lin_ts:LinTSAgent",
    "logistic_ts:LogisticTSAgent",
    "neural_linear_ts:NeuralLinearTSAgent",
    "discounted_beta_ts:DiscountedBetaTSAgent",
    "discounted_gaussian_ts:DiscountedGaussianTSAgent",
    "sliding_window_ucb:SlidingWindowUCBAgent",
    "discounted_linucb:DiscountedLinUCBAgent",
    "discounted_lin_ts:DiscountedLinTSAgent",
    "private_lin_ts:PrivateLinTSAgent",
    "private_linucb:PrivateLinUCBAgent",
    "private_beta_ts:PrivateBetaTSAgent",
)


def _agent_class(path: str) -> type[Agent]:
    module, name = path.split(":")
    return getattr(importlib.import_module(f"banditsim.agents.{module}"), name)


AGENTS: dict[str, type[Agent]] = {cls.name: cls for cls in map(_agent_class, AGENT_CLASSES)}
"""Name → agent class, built from :data:`AGENT_CLASSES`."""



def agent_params(cls: type[Agent]) -> dict[str, Any]:
    """Keyword parameters (name → default) accepted by an agent class, base ones included."""
    params: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" not in vars(klass) or not issubclass(klass, Agent):
            continue
        for p in inspect.signature(klass.__init__).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                params[p.name] = p.default
    return params


#: parameters the caller fills in (sizes, seed, reward scale): never set from a config
RESERVED_PARAMS = ("n_replicas", "slate_size", "random_state", "kind_values")


def check_agent_params(name: str, params, *, reserved_allowed: bool = False) -> None:
    """Raise ``ValueError`` unless ``name`` is registered and takes every key of ``params``.

    The one check of agent names and parameters: configs call it as is (the reserved
    parameters are the runner's to fill in), :func:`make_agent` with ``reserved_allowed``.

    >>> check_agent_params("ucb1", {"c": 2.0})
    >>> check_agent_params("ucb1", {"random_state": 0})
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter 'random_state' for agent 'ucb1'
    """
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; choose from {', '.join(sorted(AGENTS))}")
    known = agent_params(AGENTS[name])
    for key in params:
        if key not in known or (key in RESERVED_PARAMS and not reserved_allowed):
            raise ValueError(f"unknown parameter {key!r} for agent {name!r}")


def make_agent(name: str, n_arms: int, **params: Any) -> Agent:
    """Build a registered agent by name; unknown names or parameters raise ``ValueError``.

    Examples
    --------
    >>> make_agent("epsilon_greedy", 5, epsilon=0.2).epsilon
    0.2
    >>> make_agent("epsilon_greedy", 5, epsilon=1.5)
    Traceback (most recent call last):
    ...
    ValueError: epsilon must be in [0, 1], got 1.5
    >>> make_agent("beta_ts", 5, temperature=2)
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter 'temperature' for agent 'beta_ts'
    """
    check_agent_params(name, params, reserved_allowed=True)
    return AGENTS[name](n_arms, **params)


def describe_agents() -> dict[str, dict[str, Any]]:
    """Map every registered agent name to its parameters and their defaults.

    >>> describe_agents()["ucb1"]["c"]
    1.0
    """
    return {name: agent_params(cls) for name, cls in sorted(AGENTS.items())}
