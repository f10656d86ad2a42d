"""Index agents and the linear posterior against closed forms computed in the test (``agent_references``)."""

from __future__ import annotations

import numpy as np
import pytest
from agent_references import (
    bernoulli_kl_reference,
    check_kl_ucb,
    check_lin_ts,
    check_linucb,
    check_ucb1,
    kl_ucb_index,
    ucb1_index,
)

from banditsim.agents.kl_ucb import bernoulli_kl


@pytest.mark.parametrize("c", [0.0, 0.7, 2.0])
def test_ucb1_index_is_the_closed_form(c):
    check_ucb1(c)


def test_ucb1_reference_by_hand():
    # arm 0: 2 successes in 3 pulls, arm 1: 1 in 1, arm 2 unpulled; t = 4
    got = ucb1_index(np.array([3.0, 1.0, 0.0]), np.array([2.0, 1.0, 0.0]), 1.0)
    assert got[0] == pytest.approx(2 / 3 + np.sqrt(2 * np.log(4) / 3))
    assert got[1] == pytest.approx(1 + np.sqrt(2 * np.log(4)))
    assert got[2] == np.inf


@pytest.mark.parametrize("c", [0.0, 3.0])
def test_kl_ucb_index_is_brents_root(c):
    check_kl_ucb(c)


def test_kl_reference_by_hand():
    assert bernoulli_kl_reference(0.5, 0.75) == pytest.approx(0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25))
    q = kl_ucb_index(np.array([4.0]), np.array([2.0]))[0]  # p̂ = 1/2, level = log 4 / 4
    assert bernoulli_kl_reference(0.5, q) == pytest.approx(np.log(4) / 4, abs=1e-12) and q > 0.5
    for p, q in [(0.2, 0.5), (0.9, 0.95), (0.0, 0.3)]:
        assert float(bernoulli_kl(np.array(p), np.array(q))) == pytest.approx(bernoulli_kl_reference(p, q), abs=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 1.5])
def test_linucb_index_has_its_square_root(alpha):
    check_linucb(alpha)


def test_lin_ts_posterior_and_score_draws():
    check_lin_ts()
