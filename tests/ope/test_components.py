"""Reward model, intervals, cascade propensities and DM/DR/switch-DR identities."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope import (
    RidgeRewardModel,
    bootstrap_interval,
    cascade_pscore,
    clt_interval,
    direct_method,
    doubly_robust,
    ips,
    snips,
    softmax_target_policy,
    switch_dr,
    synthetic_log,
)


@pytest.fixture(scope="module")
def data():
    log = synthetic_log(20_000, 6, dim_context=4, len_list=2, random_state=3)
    return log, softmax_target_policy(log, temperature=0.3)


def test_onehot_ridge_recovers_linear_rewards():
    rng = np.random.default_rng(0)
    n, d, k = 30_000, 3, 4
    x = rng.normal(size=(n, d))
    a = rng.integers(0, k, n)
    pos = rng.integers(0, 2, n)
    beta = rng.normal(size=(2, k, d))
    r = np.einsum("nd,nd->n", x, beta[pos, a]) + 0.3 * pos
    from banditsim.sim.ope import BanditLog
    log = BanditLog(n_actions=k, action=a, reward=r, pscore=np.full(n, 1 / k), position=pos, context=x)
    q = RidgeRewardModel(ridge=1e-8).fit(log).predict(x)
    truth = np.einsum("nd,pkd->nkp", x, beta) + 0.3 * np.arange(2)
    np.testing.assert_allclose(q, truth, atol=1e-6)
    at_pos = RidgeRewardModel(ridge=1e-8).fit(log).predict_at_position(x, pos)
    np.testing.assert_allclose(at_pos, truth[np.arange(n), :, pos], atol=1e-6)


def test_action_context_ridge_generalises_to_actions(data):
    log, _ = data
    rng = np.random.default_rng(1)
    w = rng.normal(size=(log.context.shape[1] + 1, log.action_context.shape[1] + 1))
    z = np.hstack([np.ones((log.n_rounds, 1)), log.context])
    e = np.hstack([np.ones((log.n_actions, 1)), log.action_context])
    truth = z @ w @ e.T
    noiseless = type(log)(n_actions=log.n_actions, action=log.action,
                          reward=truth[np.arange(log.n_rounds), log.action], pscore=log.pscore,
                          context=log.context, action_context=log.action_context)
    q = RidgeRewardModel(features="action_context", ridge=1e-8).fit(noiseless).predict(log.context)
    np.testing.assert_allclose(q[:, :, 0], truth, atol=1e-6)


def test_dr_identities(data):
    log, pi = data
    q = RidgeRewardModel().fit(log).predict(log.context)
    dr = doubly_robust(log, pi, estimated_rewards=q).value
    assert switch_dr(log, pi, tau=np.inf, estimated_rewards=q).value == pytest.approx(dr, rel=1e-12)
    assert switch_dr(log, pi, tau=0.0, estimated_rewards=q).value == pytest.approx(
        direct_method(log, pi, estimated_rewards=q).value, rel=1e-12)
    # with q_hat = 0 DR is IPS
    assert doubly_robust(log, pi, estimated_rewards=np.zeros_like(q)).value == pytest.approx(
        ips(log, pi).value, rel=1e-12)
    # with the true q, DM is the ground truth
    true_q = np.repeat(log.expected_reward[:, :, None], 2, axis=2)
    dm = direct_method(log, pi, estimated_rewards=true_q)
    expected = np.einsum("ij,ij->i", pi[np.arange(log.n_rounds), :, log.position],
                         log.expected_reward).mean()
    assert dm.value == pytest.approx(expected, rel=1e-12)


def test_bootstrap_agrees_with_clt(data):
    log, pi = data
    for fn in (ips, snips):
        clt = fn(log, pi)
        boot = fn(log, pi, interval="bootstrap", n_bootstrap=400, random_state=0)
        assert boot.value == pytest.approx(clt.value, rel=1e-12)
        assert boot.interval_kind == "bootstrap" and clt.interval_kind == "clt"
        assert (boot.high - boot.low) == pytest.approx(clt.high - clt.low, rel=0.2)
    again = ips(log, pi, interval="bootstrap", n_bootstrap=400, random_state=0)
    assert again == ips(log, pi, interval="bootstrap", n_bootstrap=400, random_state=0)


def test_clt_interval_formula():
    x = np.random.default_rng(2).normal(3.0, 2.0, size=10_000)
    v, lo, hi = clt_interval(x)
    se = x.std(ddof=1) / 100
    assert v == pytest.approx(x.mean()) and hi - v == pytest.approx(1.959964 * se, rel=1e-5)
    v_b, lo_b, hi_b = bootstrap_interval(x, random_state=1)
    assert lo_b < v_b < hi_b and abs((hi_b - lo_b) - (hi - lo)) < 0.2 * (hi - lo)


def test_cascade_pscore_matches_reference():
    rng = np.random.default_rng(4)
    n_slates, k = 50, 4
    slate_id = np.repeat(rng.permutation(1000)[:n_slates], k)
    position = np.tile(np.arange(k), n_slates)
    shuffle = rng.permutation(n_slates * k)
    p = rng.uniform(0.1, 1.0, n_slates * k)
    got = cascade_pscore(slate_id[shuffle], position[shuffle], p[shuffle])
    expected = np.cumprod(p.reshape(n_slates, k), axis=1).ravel()[shuffle]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
