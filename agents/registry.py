"""Name → agent class registry, the one check of agent parameters, ``make_agent`` and ``describe_agents``."""

from __future__ import annotations

import inspect
from typing import Any

from banditsim.agents.base import Agent
from banditsim.agents.beta_ts import BetaTSAgent
from banditsim.agents.dirichlet_ts import DirichletTSAgent
from banditsim.agents.epsilon_greedy import EpsilonGreedyAgent
from banditsim.agents.gaussian_ts import GaussianTSAgent
from banditsim.agents.kl_ucb import KLUCBAgent
from banditsim.agents.random_policy import RandomAgent
from banditsim.agents.ucb1 import UCB1Agent

AGENTS: dict[str, type[Agent]] = {
    cls.name: cls
    for cls in (
        BetaTSAgent,
        GaussianTSAgent,
        DirichletTSAgent,
        UCB1Agent,
        KLUCBAgent,
        EpsilonGreedyAgent,
        RandomAgent,
    )
}


def _register_optional() -> None:
    from banditsim.agents.lin_ts import LinTSAgent
    from banditsim.agents.linucb import LinUCBAgent
    from banditsim.agents.logistic_ts import LogisticTSAgent
    from banditsim.agents.neural_linear_ts import NeuralLinearTSAgent

    for cls in (LinUCBAgent, LinTSAgent, LogisticTSAgent, NeuralLinearTSAgent):
        AGENTS[cls.name] = cls
    _register_drift_and_private()


def _register_drift_and_private() -> None:
    """Agents for drifting tastes and differentially private agents (issue #21)."""
    from banditsim.agents.discounted_beta_ts import DiscountedBetaTSAgent
    from banditsim.agents.discounted_gaussian_ts import DiscountedGaussianTSAgent
    from banditsim.agents.discounted_lin_ts import DiscountedLinTSAgent
    from banditsim.agents.discounted_linucb import DiscountedLinUCBAgent
    from banditsim.agents.private_beta_ts import PrivateBetaTSAgent
    from banditsim.agents.private_lin_ts import PrivateLinTSAgent
    from banditsim.agents.private_linucb import PrivateLinUCBAgent
    from banditsim.agents.sliding_window_ucb import SlidingWindowUCBAgent

    for cls in (DiscountedBetaTSAgent, DiscountedGaussianTSAgent, SlidingWindowUCBAgent, DiscountedLinUCBAgent,
                DiscountedLinTSAgent, PrivateLinTSAgent, PrivateLinUCBAgent, PrivateBetaTSAgent):
        AGENTS[cls.name] = cls


_register_optional()


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
