"""Bad input raises ValueError with one line naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope import (
    BanditLog,
    RidgeRewardModel,
    SlateLog,
    direct_method,
    doubly_robust,
    from_obp_dict,
    ips,
    snips,
    switch_dr,
)

GOOD = dict(n_actions=3, action=[0, 1, 2, 1], reward=[1.0, 0.0, 1.0, 0.0],
            pscore=[0.5, 0.25, 0.25, 0.5])


def _raises(field, fn, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert field in message and "\n" not in message, message


@pytest.mark.parametrize("field, change", [
    ("reward", dict(reward=[1.0, 0.0, 1.0])),
    ("pscore", dict(pscore=[0.5, 0.25, 0.25])),
    ("pscore", dict(pscore=[0.5, 0.0, 0.25, 0.5])),
    ("pscore", dict(pscore=[0.5, -0.1, 0.25, 0.5])),
    ("pscore", dict(pscore=[0.5, 1.5, 0.25, 0.5])),
    ("reward", dict(reward=[1.0, np.nan, 1.0, 0.0])),
    ("action", dict(action=[0, 1, 3, 1])),
    ("action", dict(action=[0, -1, 2, 1])),
    ("action", dict(action=[0.5, 1, 2, 1])),
    ("position", dict(position=[0, 1])),
    ("context", dict(context=np.zeros((3, 2)))),
    ("action_context", dict(action_context=np.zeros((2, 2)))),
    ("expected_reward", dict(expected_reward=np.zeros((4, 2)))),
    ("n_actions", dict(n_actions=0)),
])
def test_bad_log_fields(field, change):
    _raises(field, BanditLog, **{**GOOD, **change})


def test_good_log_is_accepted():
    log = BanditLog(**GOOD)
    assert log.n_rounds == 4 and log.len_list == 1 and log.reward.dtype == np.float64


@pytest.mark.parametrize("estimator", [ips, snips, direct_method, doubly_robust, switch_dr])
def test_bad_action_dist(estimator):
    log = BanditLog(**GOOD, context=np.eye(4)[:, :2])
    _raises("action_dist", estimator, log, np.full((4, 3, 1), 0.3))     # rows sum to 0.9
    _raises("action_dist", estimator, log, np.full((5, 3, 1), 1 / 3))   # wrong n_rounds
    _raises("action_dist", estimator, log, np.full((4, 2, 1), 0.5))     # wrong n_actions
    bad = np.full((4, 3, 1), 1 / 3)
    bad[0, 0, 0], bad[0, 1, 0] = -0.1, 0.1 + 1 / 3
    _raises("action_dist", estimator, log, bad)                         # negative entry


def test_action_dist_must_cover_positions():
    log = BanditLog(**GOOD, position=[0, 1, 0, 1])
    _raises("action_dist", ips, log, np.full((4, 3, 1), 1 / 3))


def test_bad_estimated_rewards_and_options():
    log = BanditLog(**GOOD)
    pi = np.full((4, 3, 1), 1 / 3)
    _raises("estimated_rewards", doubly_robust, log, pi, estimated_rewards=np.zeros((4, 2, 1)))
    q = np.zeros((4, 3, 1))
    q[1, 1, 0] = np.nan
    _raises("estimated_rewards", direct_method, log, pi, estimated_rewards=q)
    _raises("tau", switch_dr, log, pi, tau=-1.0, estimated_rewards=np.zeros((4, 3, 1)))
    _raises("alpha", ips, log, pi, alpha=1.5)
    _raises("interval", ips, log, pi, interval="jackknife")
    _raises("ridge", RidgeRewardModel(ridge=0.0).fit, log)
    _raises("action_context", RidgeRewardModel(features="action_context").fit, log)


def test_bad_obp_dict_and_slate_log():
    _raises("reward", from_obp_dict, {"n_actions": 2, "action": np.array([0]), "pscore": np.array([1.0])})
    d = dict(n_rounds=5, n_actions=3, action=np.array([0, 1]), reward=np.array([1.0, 0.0]),
             pscore=np.array([0.5, 0.5]), position=None)
    _raises("n_rounds", from_obp_dict, d)
    _raises("position", SlateLog, slate_id=[0, 0], position=[1, 1], reward=[0, 1])
    _raises("pscore_cascade", SlateLog, slate_id=[0, 0], position=[0, 1], reward=[0, 1],
            pscore_cascade=[0.5, 0.0])
