"""The one check of agent names and parameters, used by run configs, policy specs and make_agent."""

import pytest

from banditsim.agents.registry import RESERVED_PARAMS, check_agent_params, make_agent
from banditsim.sim.config.policy_spec import PolicySpec
from banditsim.sim.config.run_config import AgentSpec


@pytest.mark.parametrize("reserved", RESERVED_PARAMS)
def test_a_config_may_not_set_a_reserved_parameter(reserved):
    with pytest.raises(ValueError, match=f"unknown parameter '{reserved}' for agent 'epsilon_greedy'"):
        AgentSpec(name="epsilon_greedy", params={reserved: 1})
    with pytest.raises(ValueError, match=f"policy 'eg': unknown parameter '{reserved}' for agent 'epsilon_greedy'"):
        PolicySpec(label="eg", kind="agent", name="epsilon_greedy", params={reserved: 1})


def test_make_agent_takes_the_reserved_parameters_the_runner_fills_in():
    agent = make_agent("epsilon_greedy", 4, n_replicas=3, random_state=0)
    assert agent.n_replicas == 3


@pytest.mark.parametrize("check", [
    lambda: check_agent_params("nosuch", {}),
    lambda: AgentSpec(name="nosuch"),
    lambda: PolicySpec(label="x", kind="agent", name="nosuch"),
    lambda: make_agent("nosuch", 3),
])
def test_an_unknown_agent_is_one_error_listing_the_registered_ones(check):
    with pytest.raises(ValueError, match="unknown agent 'nosuch'; choose from beta_ts, .*, ucb1"):
        check()
