"""The Open Bandit Dataset sample shipped in the obp wheel, loaded and evaluated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.ope import (
    evaluate_bts_from_random,
    ips,
    load_open_bandit_dataset,
    obd_data_dir,
    policy_from_pscores,
)


@pytest.mark.parametrize("policy", ["random", "bts"])
@pytest.mark.parametrize("campaign", ["all", "men", "women"])
def test_loader_matches_pandas_reading(policy, campaign):
    log = load_open_bandit_dataset(policy, campaign)
    folder = obd_data_dir() / policy / campaign
    df = pd.read_csv(folder / f"{campaign}.csv", index_col=0)
    items = pd.read_csv(folder / "item_context.csv", index_col=0)
    assert log.n_actions == len(items) and log.n_rounds == len(df)
    np.testing.assert_array_equal(log.action, df["item_id"].to_numpy())
    np.testing.assert_array_equal(log.reward, df["click"].to_numpy())
    np.testing.assert_array_equal(log.pscore, df["propensity_score"].to_numpy())
    np.testing.assert_array_equal(log.position, df["position"].to_numpy() - 1)
    user = df.loc[:, df.columns.str.contains("user_feature")]
    np.testing.assert_array_equal(log.context, pd.get_dummies(user, drop_first=True).to_numpy(float))
    np.testing.assert_allclose(log.action_context[:, -1], items["item_feature_0"].to_numpy())
    if policy == "random":
        np.testing.assert_allclose(log.pscore, 1.0 / log.n_actions)


def test_bts_policy_from_pscores():
    bts = load_open_bandit_dataset("bts", "all")
    pi = policy_from_pscores(bts)
    assert pi.shape == (bts.n_actions, 3)
    np.testing.assert_allclose(pi.sum(axis=0), 1.0)
    df = pd.DataFrame({"item": bts.action, "pos": bts.position, "p": bts.pscore})
    mean = df.groupby(["pos", "item"])["p"].mean().unstack(0).reindex(range(bts.n_actions))
    expected = (mean / mean.sum(axis=0)).fillna(0.0).to_numpy()
    np.testing.assert_allclose(pi, expected, rtol=1e-12)


def test_evaluate_bts_from_random():
    res = evaluate_bts_from_random("all")
    random_log = load_open_bandit_dataset("random", "all")
    bts_log = load_open_bandit_dataset("bts", "all")
    assert res["on-policy"].value == pytest.approx(bts_log.reward.mean())
    pi = np.broadcast_to(policy_from_pscores(bts_log), (random_log.n_rounds, 80, 3))
    # IPS by hand: the random policy logs each item with propensity 1/80
    by_hand = np.mean(random_log.reward * pi[np.arange(random_log.n_rounds), random_log.action,
                                             random_log.position] * 80)
    assert res["ips"].value == pytest.approx(by_hand, rel=1e-12)
    assert ips(random_log, pi).value == res["ips"].value
    for est in res.values():
        assert 0.0 <= est.value <= 0.05 and est.low < est.value < est.high
    # off-policy and on-policy 95% intervals overlap on this sample
    for name in ("ips", "snips", "dr"):
        assert res[name].low < res["on-policy"].high and res["on-policy"].low < res[name].high
