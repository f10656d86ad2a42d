"""Thompson and ε-greedy propensities against references from scipy.stats, never the agent's sampler."""

from __future__ import annotations

import pytest
from agent_references import THOMPSON, check_epsilon_greedy_masked, check_epsilon_greedy_slates, check_thompson_propensities


@pytest.mark.parametrize("name", THOMPSON)
@pytest.mark.parametrize("slate_size", [1, 2])
def test_thompson_propensities_match_scipy_posteriors(name, slate_size):
    check_thompson_propensities(name, slate_size)


@pytest.mark.parametrize("eps", [0.0, 0.3, 1.0])
def test_epsilon_greedy_masked_propensities_are_the_closed_form(eps):
    check_epsilon_greedy_masked(eps)


@pytest.mark.parametrize("eps", [0.0, 0.4])
def test_epsilon_greedy_slate_propensities_are_the_closed_form(eps):
    check_epsilon_greedy_slates(eps)
