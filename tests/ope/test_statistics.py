"""Statistical properties on synthetic logs with a known truth, over 200 seeds each."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope import (
    RidgeRewardModel,
    doubly_robust,
    independent_ips,
    ips,
    reward_interaction_ips,
    snips,
    softmax_target_policy,
    synthetic_log,
    true_policy_value,
)

N_SEEDS = 200
N_ROUNDS = 1_000


def _run(seed: int):
    """One replicate: fit the DR reward model on an independent half, evaluate on the other."""
    full = synthetic_log(2 * N_ROUNDS, 5, dim_context=3, behavior_temperature=2.0,
                         random_state=seed)
    train, log = full.take(np.arange(N_ROUNDS)), full.take(np.arange(N_ROUNDS, 2 * N_ROUNDS))
    pi = softmax_target_policy(log, temperature=0.3)
    model = RidgeRewardModel().fit(train)
    truth = true_policy_value(log, pi)
    return truth, {"ips": ips(log, pi), "snips": snips(log, pi),
                   "dr": doubly_robust(log, pi, reward_model=model)}


@pytest.fixture(scope="module")
def replicates():
    rows = [_run(seed) for seed in range(N_SEEDS)]
    truth = np.array([t for t, _ in rows])
    out = {}
    for name in ("ips", "snips", "dr"):
        est = [e[name] for _, e in rows]
        out[name] = (np.array([e.value for e in est]) - truth,
                     np.array([e.low for e in est]) - truth,
                     np.array([e.high for e in est]) - truth)
    return out


@pytest.mark.parametrize("name", ["ips", "dr"])
def test_unbiased(replicates, name):
    err = replicates[name][0]
    se = err.std(ddof=1) / np.sqrt(len(err))
    assert abs(err.mean()) < 2 * se, f"{name}: mean error {err.mean():.5f}, se {se:.5f}"


@pytest.mark.parametrize("name", ["snips", "dr"])
def test_lower_variance_than_ips(replicates, name):
    assert replicates[name][0].var() < replicates["ips"][0].var()


@pytest.mark.parametrize("name", ["ips", "snips", "dr"])
def test_interval_coverage(replicates, name):
    _, low, high = replicates[name]
    coverage = np.mean((low <= 0) & (0 <= high))
    assert 0.90 <= coverage <= 0.99, f"{name}: coverage {coverage:.3f}"


@pytest.mark.parametrize("estimator, reward_model", [
    (independent_ips, "independent"), (reward_interaction_ips, "independent"),
    (reward_interaction_ips, "cascade"),
])
def test_slate_estimators_unbiased_and_covering(slate_data, estimator, reward_model):
    errs, covered = [], []
    for seed in range(N_SEEDS):
        log, pe_ip, pe_cascade, truth = slate_data(1_000, 5, 3, reward_model, seed)
        target = pe_ip if estimator is independent_ips else pe_cascade
        est = estimator(log, target)
        errs.append(est.value - truth)
        covered.append(est.low <= truth <= est.high)
    errs = np.array(errs)
    assert abs(errs.mean()) < 2 * errs.std(ddof=1) / np.sqrt(N_SEEDS)
    assert 0.90 <= np.mean(covered) <= 0.99


def test_iips_biased_when_rewards_interact(slate_data):
    """Under a cascade reward model IIPS misses the interaction, RIPS does not."""
    log, pe_ip, pe_cascade, truth = slate_data(200_000, 5, 3, "cascade", seed=3)
    iips_est = independent_ips(log, pe_ip)
    rips_est = reward_interaction_ips(log, pe_cascade)
    assert not (iips_est.low <= truth <= iips_est.high)
    assert rips_est.low <= truth <= rips_est.high
