"""Overlap diagnostics, verdicts, never-covering intervals, cross-fitting and the switch rule (issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope import BanditLog, direct_method, doubly_robust, ips, snips, switch_dr
from banditsim.sim.ope._common import cross_fit_folds, cross_fitted_rewards
from banditsim.sim.ope.diagnostics import ESS_MIN, weight_diagnostics
from banditsim.sim.ope.intervals import Estimate, clt_interval, interval_covers


def _deterministic_log(n=2_000, k=4, seed=0):
    """A deterministic logging policy: action = argmax of a fixed score, pscore 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    behaviour = np.eye(k)[(x @ rng.normal(size=(2, k))).argmax(axis=1)]
    action = behaviour.argmax(axis=1)
    log = BanditLog(n_actions=k, action=action, reward=rng.random(n) < 0.3, pscore=np.ones(n), context=x)
    return log, behaviour


def _diag(log, pi, behaviour=None, cluster=None):
    w = pi[np.arange(log.n_rounds), log.action] / log.pscore
    if behaviour is None:
        return weight_diagnostics(w, cluster=cluster)
    seen = behaviour > 0
    return weight_diagnostics(w, support=np.where(seen, pi, 0).sum(1), cluster=cluster,
                              second_moment=np.where(seen, pi**2 / np.where(seen, behaviour, 1), 0).sum(1))


def test_deterministic_logging_supports_only_itself():
    log, behaviour = _deterministic_log()
    same = _diag(log, behaviour, behaviour)
    assert same.verdict == "ok" and same.support == 1.0 and same.ess == log.n_rounds
    eps_greedy = 0.7 * behaviour + 0.3 / 4                        # 22.5% of its mass on unlogged actions
    d = _diag(log, eps_greedy, behaviour)
    assert d.verdict == "no-support" and d.support == pytest.approx(0.775) and d.support_exact
    # without the logging distribution the support is estimated by mean(w): still caught
    est = _diag(log, eps_greedy)
    assert est.verdict == "no-support" and not est.support_exact and est.support == pytest.approx(0.775)


def test_support_just_below_and_at_threshold():
    n = 1_000
    w = np.ones(n)
    assert weight_diagnostics(w, support=np.full(n, 0.989)).verdict == "no-support"
    assert weight_diagnostics(w, support=np.full(n, 0.99), second_moment=np.full(n, 0.99)).verdict == "ok"
    assert weight_diagnostics(np.zeros(n)).verdict == "no-support"      # the target never takes a logged action


def test_one_heavy_row_is_low_ess_and_snips_collapses():
    """The issue's LinUCB case: ESS 1.6 of 6,000 rows, SNIPS 1.000 [1.000, 1.000] with no warning."""
    n = 6_000
    w = np.full(n, 1e-4)
    w[7] = 40.0
    d = weight_diagnostics(w, support=np.ones(n))                      # softmax logging: full support
    assert d.ess < 2 and d.verdict == "low-ess" and d.max_weight == 40.0 and d.p99_weight == pytest.approx(1e-4)
    reward = np.zeros(n)
    reward[7] = 1.0
    pscore = np.full(n, 0.5)
    pscore[7] = 0.025
    log = BanditLog(n_actions=2, action=np.zeros(n, int), reward=reward, pscore=pscore)
    pi = np.stack([w * pscore, 1 - w * pscore], axis=1)[:, :, None]
    est = snips(log, pi)
    assert est.value > 0.98 and est.high - est.low < 0.06        # the number alone looks certain


def test_few_rows_or_users_are_low_ess():
    assert weight_diagnostics(np.ones(int(ESS_MIN) - 1)).verdict == "low-ess"
    assert weight_diagnostics(np.ones(int(ESS_MIN))).verdict == "ok"
    n = 2_000
    assert weight_diagnostics(np.ones(n), cluster=np.arange(n) % 20).verdict == "low-ess"   # 20 users
    assert weight_diagnostics(np.ones(n), cluster=np.arange(n) % 40).verdict == "ok"


def test_unseen_heavy_tail_is_low_ess_though_observed_weights_look_tame():
    """Sharp logging: 0.1% behaviour mass on the target's action in every row; the log never drew it."""
    n, k = 5_000, 2
    behaviour = np.tile([0.999, 0.001], (n, 1))
    target = np.tile([0.5, 0.5], (n, 1))
    log = BanditLog(n_actions=k, action=np.zeros(n, int), reward=np.ones(n), pscore=np.full(n, 0.999))
    d = _diag(log, target, behaviour)
    assert d.ess == pytest.approx(n) and d.support == 1.0                # tame-looking observed weights
    assert d.mean_weight == pytest.approx(0.5005, rel=1e-3)             # ... averaging half their expectation
    assert d.ess_expected < 0.01 * n and d.verdict == "low-ess"


def test_infinite_or_undefined_interval_never_covers():
    assert Estimate(0.5, -np.inf, np.inf, "ips", "clt").covers(0.5) is None
    assert Estimate(0.5, np.nan, 0.7, "ips", "clt").covers(0.5) is None
    assert interval_covers(None, 1.0, 0.5) is None
    v, lo, hi = clt_interval(np.array([0.2, 0.4, 0.9]), cluster=np.zeros(3))   # one user: no spread estimate
    assert (lo, hi) == (-np.inf, np.inf) and interval_covers(lo, hi, v) is None


def test_dm_interval_excludes_model_bias_and_never_covers():
    log, behaviour = _deterministic_log(seed=1)
    q = np.full((log.n_rounds, 4, 1), 0.3)
    dm = direct_method(log, behaviour[:, :, None], estimated_rewards=q)
    assert dm.excludes_model_bias and dm.covers(dm.value) is None and "excludes model bias" in str(dm)
    dr = doubly_robust(log, behaviour[:, :, None], estimated_rewards=q)
    assert not dr.excludes_model_bias and dr.covers(dr.value) is True


def test_cross_fitted_model_never_sees_the_row_it_predicts():
    rng = np.random.default_rng(0)
    n, users = 3_000, 300
    x = rng.normal(size=(n, 2))
    a = rng.integers(0, 3, n)
    user = rng.integers(0, users, n)
    r = rng.random(n)
    log = BanditLog(n_actions=3, action=a, reward=r, pscore=np.full(n, 1 / 3), context=x)
    folds = cross_fit_folds(n, user)
    assert all(np.unique(folds[user == u]).size == 1 for u in range(0, users, 37))   # a user stays in one fold
    q = cross_fitted_rewards(log, user)
    changed = BanditLog(n_actions=3, action=a, reward=np.where(folds == 0, r + 5.0, r), pscore=log.pscore, context=x)
    q2 = cross_fitted_rewards(changed, user)
    np.testing.assert_array_equal(q[folds == 0], q2[folds == 0])     # rows of fold 0 predicted without fold 0
    assert not np.allclose(q[folds == 1], q2[folds == 1])
    pi = np.full((n, 3, 1), 1 / 3)
    assert doubly_robust(log, pi, cluster=user).value == pytest.approx(
        doubly_robust(log, pi, estimated_rewards=q).value, rel=1e-12)   # the default reward model is cross-fitted


def test_switch_rule_keeps_dr_on_tame_weights_and_labels_switching():
    rng = np.random.default_rng(2)
    n = 4_000
    log = BanditLog(n_actions=2, action=rng.integers(0, 2, n), reward=rng.random(n) < 0.4, pscore=np.full(n, 0.5))
    pi = np.full((n, 2, 1), 0.5)
    q = np.full((n, 2, 1), 0.4)
    auto = switch_dr(log, pi, estimated_rewards=q)
    dr = doubly_robust(log, pi, estimated_rewards=q)
    assert auto.method == "switch-dr(tau=inf)" and auto.value == pytest.approx(dr.value, rel=1e-12)
    assert auto.excludes_model_bias and auto.covers(auto.value) is None        # a data-chosen threshold
    fixed = switch_dr(log, pi, tau=np.inf, estimated_rewards=q)
    assert not fixed.excludes_model_bias and fixed.covers(dr.value) is True
    forced = switch_dr(log, pi, tau=0.5, estimated_rewards=q)
    assert forced.excludes_model_bias and forced.covers(forced.value) is None
    with pytest.raises(ValueError, match="tau must be"):
        switch_dr(log, pi, tau="best", estimated_rewards=q)


def test_cluster_sums_leave_the_estimate_unchanged():
    rng = np.random.default_rng(4)
    n = 1_000
    log = BanditLog(n_actions=2, action=rng.integers(0, 2, n), reward=rng.random(n), pscore=np.full(n, 0.5))
    pi = np.tile([[0.8], [0.2]], (n, 1, 1))
    user = rng.integers(0, 50, n)
    for fn in (ips, snips):
        plain, clustered = fn(log, pi), fn(log, pi, cluster=user)
        assert clustered.value == pytest.approx(plain.value, rel=1e-12) and clustered.n_clusters == 50
        boot = fn(log, pi, cluster=user, interval="bootstrap", n_bootstrap=400, random_state=0)
        assert boot.high - boot.low == pytest.approx(clustered.high - clustered.low, rel=0.3)
