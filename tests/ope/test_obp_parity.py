"""Our estimators against Open Bandit Pipeline 0.4.1 on the same logs (a test dependency).

obp is imported unconditionally: CI installs it (``pip install --no-deps obp==0.4.1``
plus pandas and seaborn), so these tests always run.
"""

from __future__ import annotations

import numpy as np
import pytest
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
    SlateIndependentIPS,
    SlateRewardInteractionIPS,
    SwitchDoublyRobust,
)

from banditsim.sim.ope import (
    RidgeRewardModel,
    direct_method,
    doubly_robust,
    from_obp_dict,
    independent_ips,
    ips,
    reward_interaction_ips,
    snips,
    softmax_target_policy,
    switch_dr,
    synthetic_log,
    to_obp_dict,
)

RTOL = 1e-6


@pytest.fixture(params=[1, 3], ids=["len_list=1", "len_list=3"])
def case(request):
    log = synthetic_log(5_000, 8, dim_context=4, len_list=request.param, random_state=11)
    action_dist = softmax_target_policy(log, temperature=0.3)
    q_hat = RidgeRewardModel().fit(log).predict(log.context)
    return log, action_dist, q_hat


def _obp_kwargs(log, action_dist, q_hat):
    fb = to_obp_dict(log)
    return dict(reward=fb["reward"], action=fb["action"], position=fb["position"],
                pscore=fb["pscore"], action_dist=action_dist,
                estimated_rewards_by_reg_model=q_hat)


def test_ips_snips_match_obp(case):
    log, action_dist, q_hat = case
    kw = _obp_kwargs(log, action_dist, q_hat)
    expected_ips = InverseProbabilityWeighting().estimate_policy_value(**kw)
    expected_snips = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**kw)
    assert ips(log, action_dist).value == pytest.approx(expected_ips, rel=RTOL)
    assert snips(log, action_dist).value == pytest.approx(expected_snips, rel=RTOL)


def test_dm_dr_match_obp(case):
    log, action_dist, q_hat = case
    kw = _obp_kwargs(log, action_dist, q_hat)
    expected_dm = DirectMethod().estimate_policy_value(**kw)
    expected_dr = DoublyRobust().estimate_policy_value(**kw)
    assert direct_method(log, action_dist, estimated_rewards=q_hat).value == pytest.approx(
        expected_dm, rel=RTOL)
    assert doubly_robust(log, action_dist, estimated_rewards=q_hat).value == pytest.approx(
        expected_dr, rel=RTOL)
    # the fitted model passed directly gives the same numbers as its predictions
    model = RidgeRewardModel().fit(log)
    assert doubly_robust(log, action_dist, reward_model=model).value == pytest.approx(
        expected_dr, rel=RTOL)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 3.0, np.inf])
def test_switch_dr_matches_obp(case, tau):
    log, action_dist, q_hat = case
    kw = _obp_kwargs(log, action_dist, q_hat)
    expected = SwitchDoublyRobust(tau=tau).estimate_policy_value(**kw)
    got = switch_dr(log, action_dist, tau=tau, estimated_rewards=q_hat).value
    assert got == pytest.approx(expected, rel=RTOL)
    w = action_dist[np.arange(log.n_rounds), log.action, log.position] / log.pscore
    if 0 < tau < np.inf:  # both branches of the switch are exercised
        assert (w <= tau).any() and (w > tau).any()


def test_obp_dict_round_trip(case):
    log, _, _ = case
    back = from_obp_dict(to_obp_dict(log))
    for field in ("action", "position", "reward", "pscore", "context", "action_context",
                  "expected_reward"):
        np.testing.assert_array_equal(getattr(back, field), getattr(log, field))
    assert back.n_actions == log.n_actions


@pytest.mark.parametrize("reward_model", ["independent", "cascade"])
def test_slate_estimators_match_obp(slate_data, reward_model):
    log, pe_ip, pe_cascade, _ = slate_data(2_000, 6, 3, reward_model, seed=5)
    expected_iips = SlateIndependentIPS(len_list=3).estimate_policy_value(
        slate_id=log.slate_id, reward=log.reward, position=log.position,
        pscore_item_position=log.pscore_item_position,
        evaluation_policy_pscore_item_position=pe_ip)
    expected_rips = SlateRewardInteractionIPS(len_list=3).estimate_policy_value(
        slate_id=log.slate_id, reward=log.reward, position=log.position,
        pscore_cascade=log.pscore_cascade, evaluation_policy_pscore_cascade=pe_cascade)
    assert independent_ips(log, pe_ip).value == pytest.approx(expected_iips, rel=RTOL)
    assert reward_interaction_ips(log, pe_cascade).value == pytest.approx(expected_rips, rel=RTOL)
