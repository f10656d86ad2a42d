"""The Open Bandit Dataset sample shipped in the obp wheel: loading it, Bernoulli TS with the
ZOZOTOWN prior (read from the installed obp), and obp's relative value of 1.198."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import integrate, stats
from scipy.integrate import trapezoid

from banditsim.sim.ope import (
    BanditLog,
    OPEInputError,
    evaluate_bts_from_random,
    ips,
    load_open_bandit_dataset,
    obd_data_dir,
    policy_from_pscores,
)
from banditsim.sim.ope.bernoulli_ts_zozotown import (
    bernoulli_ts_action_dist,
    load_zozotown_prior,
    sample_bernoulli_ts_slates,
    zozotown_prior_path,
)
from banditsim.sim.ope.obd_bts_check import bts_relative_value, main
from banditsim.sim.ope.open_bandit_dataset import zozotown_bts_action_dist


def _integrated_action_dist(a, b, len_list=3, n_grid=10_001):
    """P(item i at position k) without Monte Carlo: ∫ f_i(x) P(exactly k others above x) dx,
    the count of others above x by a Poisson-binomial recursion, on a trapezoid grid over
    the Beta supports' 1e-13..1-1e-13 quantiles (the grid is far finer than the peaks)."""
    lo = stats.beta.ppf(1e-13, a, b).min()
    hi = stats.beta.ppf(1 - 1e-13, a, b).max()
    x = np.linspace(lo, hi, n_grid)
    below = stats.beta.cdf(x[None, :], a[:, None], b[:, None])
    dens = stats.beta.pdf(x[None, :], a[:, None], b[:, None])
    out = np.zeros((len(a), len_list))
    for i in range(len(a)):
        n_above = np.zeros((len_list, n_grid))
        n_above[0] = 1.0
        for j in range(len(a)):
            if j != i:
                n_above[1:] = n_above[1:] * below[j] + n_above[:-1] * (1.0 - below[j])
                n_above[0] *= below[j]
        out[i] = trapezoid(dens[i] * n_above, x, axis=1)
    return out


@functools.lru_cache(maxsize=None)
def _exact_relative(campaign):
    """The n_sim -> inf limit of the relative value, by IPW written out on the exact dist."""
    dist = _integrated_action_dist(*load_zozotown_prior(campaign))
    np.testing.assert_allclose(dist.sum(axis=0), 1.0, atol=1e-9)  # the grid resolves the peaks
    log = load_open_bandit_dataset("random", campaign)
    return float(np.mean(log.reward * dist[log.action, log.position] / log.pscore) / log.reward.mean())


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


# --- the proxy ------------------------------------------------------------------------------


def test_proxy_policy_from_pscores_by_hand():
    # position 0: item 0 mean pscore 0.6, item 1 mean (0.2 + 0.4) / 2 = 0.3, item 2 never
    #   -> [0.6, 0.3, 0] / 0.9 = [2/3, 1/3, 0]
    # position 1: item 0 mean 0.3, item 2 mean (0.5 + 0.1) / 2 = 0.3, item 1 never -> [.5, 0, .5]
    log = BanditLog(n_actions=3, action=[0, 1, 1, 0, 2, 2], reward=[0, 1, 0, 0, 1, 0],
                    pscore=[0.6, 0.2, 0.4, 0.3, 0.5, 0.1], position=[0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(policy_from_pscores(log), [[2 / 3, 0.5], [1 / 3, 0.0], [0.0, 0.5]],
                               rtol=1e-12)


def test_proxy_is_not_bernoulli_ts():
    """The proxy's relative value (1.594, issue 16) is far from obp's BTS (1.198)."""
    bts, rnd = load_open_bandit_dataset("bts", "all"), load_open_bandit_dataset("random", "all")
    pi = policy_from_pscores(bts)
    assert pi.shape == (80, 3) and np.all(pi >= 0)
    np.testing.assert_allclose(pi.sum(axis=0), 1.0)
    logged = np.zeros((80, 3), bool)
    logged[bts.action, bts.position] = True
    assert np.all((pi > 0) == logged)  # mass exactly on the logged (item, position) pairs
    rel = ips(rnd, np.broadcast_to(pi, (rnd.n_rounds, 80, 3))).value / rnd.reward.mean()
    assert rel == pytest.approx(1.594, abs=5e-4)
    assert abs(rel - 1.198) > 0.3


# --- the action distribution against independent references ------------------------------------


def _exact_position_probs(a, b, len_list):
    """P(item i at position k) = ∫ f_i(x) P(exactly k of the others draw above x) dx (quad)."""
    n = len(a)
    out = np.zeros((n, len_list))
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for k in range(len_list):
            def integrand(x, i=i, k=k, others=others):
                total = 0.0
                for above in itertools.combinations(others, k):
                    term = 1.0
                    for j in others:
                        term *= stats.beta.sf(x, a[j], b[j]) if j in above else stats.beta.cdf(x, a[j], b[j])
                    total += term
                return stats.beta.pdf(x, a[i], b[i]) * total
            out[i, k] = integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-10)[0]
    return out


@pytest.mark.parametrize("len_list", [1, 3])
def test_action_dist_matches_numerical_integration(len_list):
    # one Beta below 1 in both parameters (numpy's Johnk branch), the rest the gamma branch
    a, b = np.array([2.0, 5.0, 0.5, 3.0]), np.array([5.0, 2.0, 0.7, 3.0])
    n_sim = 200_000
    dist = bernoulli_ts_action_dist(a, b, len_list=len_list, n_sim=n_sim, random_state=1)
    exact = _exact_position_probs(a, b, len_list)
    np.testing.assert_allclose(exact.sum(axis=0), 1.0, atol=1e-7)
    se = np.sqrt(exact * (1 - exact) / n_sim)
    assert np.all(np.abs(dist - exact) <= 4.5 * se + 1e-12), (dist, exact)
    assert dist.shape == (4, len_list) and not np.allclose(exact, exact[0, 0])


def test_action_dist_matches_brute_force_scipy_draws():
    """Independent Monte Carlo with scipy.stats.beta.rvs and a per-draw Python ranking."""
    a, b = np.array([3.0, 1.0, 2.0]), np.array([2.0, 1.0, 4.0])
    draws = stats.beta.rvs(a, b, size=(20_000, 3), random_state=np.random.default_rng(5))
    ref = np.zeros((3, 2))
    for row in draws:
        order = sorted(range(3), key=lambda j: -row[j])
        ref[order[0], 0] += 1
        ref[order[1], 1] += 1
    ref /= len(draws)
    dist = bernoulli_ts_action_dist(a, b, len_list=2, n_sim=200_000, random_state=2)
    se = np.sqrt(ref * (1 - ref) / 20_000 + ref * (1 - ref) / 200_000)
    assert np.all(np.abs(dist - ref) <= 4.5 * se)


@pytest.mark.parametrize("campaign", ["all", "men", "women"])
def test_action_dist_equals_obp_bernoulli_ts(campaign):
    """obp 0.4.1's own BernoulliTS (its per-draw Python loop), same seed: identical."""
    from obp.policy import BernoulliTS

    n_actions = {"all": 80, "men": 34, "women": 46}[campaign]
    obp_dist = BernoulliTS(n_actions=n_actions, len_list=3, is_zozotown_prior=True, campaign=campaign,
                           random_state=7).compute_batch_action_dist(n_rounds=1, n_sim=3_000)[0]
    ours = zozotown_bts_action_dist(campaign, n_actions, n_sim=3_000, random_state=7)
    np.testing.assert_array_equal(ours, obp_dist)


def test_slates_do_not_depend_on_batch_size_and_match_obp_across_batches():
    from obp.policy import BernoulliTS

    a, b = np.array([2.0, 0.6, 9.0, 4.0, 1.5]), np.array([3.0, 0.8, 20.0, 4.0, 1.5])
    whole = sample_bernoulli_ts_slates(a, b, len_list=2, n_sim=2_500, random_state=11, batch_size=2_500)
    pieces = sample_bernoulli_ts_slates(a, b, len_list=2, n_sim=2_500, random_state=11, batch_size=777)
    np.testing.assert_array_equal(whole, pieces)
    policy = BernoulliTS(n_actions=5, len_list=2, alpha=a, beta=b, random_state=11)
    np.testing.assert_array_equal(pieces, np.array([policy.select_action() for _ in range(2_500)]))


def test_zozotown_prior_is_read_from_installed_obp():
    from obp.policy.contextfree import production_prior_for_bts

    path = zozotown_prior_path()
    assert path.is_file() and path.parent.parent.parent == obd_data_dir().parent.parent
    for campaign in ("all", "men", "women"):
        alpha, beta = load_zozotown_prior(campaign)
        np.testing.assert_array_equal(alpha, production_prior_for_bts[campaign]["alpha"])
        np.testing.assert_array_equal(beta, production_prior_for_bts[campaign]["beta"])
        assert alpha.size == load_open_bandit_dataset("random", campaign).n_actions


# --- obp's figure: 1.198 for campaign "all" ---------------------------------------------------


def test_bts_relative_value_all_within_1pct_of_obp_readme():
    res = bts_relative_value("all", n_sim=400_000, random_state=12345)
    print(f"\n{res}")
    assert res.relative.value == pytest.approx(1.198, rel=0.01)
    assert res.mc_se < 0.0025  # < 0.21% of the value: well below the 1% tolerance
    exact = _exact_relative("all")
    print(f"n_sim -> inf (numerical integration): {exact:.5f}")
    assert exact == pytest.approx(1.198, rel=0.01)  # obp's 1.198 is itself a 100,000-draw MC
    assert abs(res.relative.value - exact) < 4 * res.mc_se
    assert res.relative.low < res.relative.value < res.relative.high
    rnd = load_open_bandit_dataset("random", "all")
    assert res.random_value.value == rnd.reward.sum() / 10_000 == 0.0038  # 38 clicks
    assert res.bts_ipw.value == pytest.approx(res.relative.value * 0.0038, rel=1e-12)


@pytest.mark.parametrize("campaign", ["men", "women"])
def test_bts_relative_value_men_women(campaign):
    res = bts_relative_value(campaign, n_sim=100_000, random_state=12345)
    print(f"\n{res}")
    exact = _exact_relative(campaign)
    print(f"n_sim -> inf (numerical integration): {exact:.5f}")
    assert res.mc_se < 0.004
    assert abs(res.relative.value - exact) < 4 * res.mc_se


def test_zozotown_action_dist_matches_integration_cell_by_cell():
    a, b = load_zozotown_prior("women")
    exact = _integrated_action_dist(a, b)
    dist = bernoulli_ts_action_dist(a, b, n_sim=100_000, random_state=3)
    se = np.sqrt(exact * (1 - exact) / 100_000)
    assert np.all(np.abs(dist - exact) <= 4.5 * se + 1e-9)
    assert exact.max() > 10 / len(a) and exact.min() < 0.1 / len(a)  # far from uniform


def test_evaluate_bts_from_random_reproduces_obp_readme_run():
    """obp README's run (n_sim=100,000, random_state=12345) gave 1.1981263157894735."""
    res = evaluate_bts_from_random("all", n_sim=100_000, random_state=12345)
    assert sorted(res) == ["dr", "ips", "on-policy", "snips"]
    rnd = load_open_bandit_dataset("random", "all")
    assert res["ips"].value / rnd.reward.mean() == pytest.approx(1.1981263157894735, rel=1e-12)
    assert res["on-policy"].value == pytest.approx(load_open_bandit_dataset("bts", "all").reward.mean())
    for est in res.values():
        assert 0.0 <= est.value <= 0.05 and est.low < est.value < est.high
    for name in ("ips", "snips", "dr"):  # off- and on-policy 95% intervals overlap on this sample
        assert res[name].low < res["on-policy"].high and res["on-policy"].low < res[name].high


def test_mc_se_matches_the_spread_over_seeds():
    log = load_open_bandit_dataset("random", "men")
    runs = [bts_relative_value("men", n_sim=3_000, random_state=s, log=log) for s in range(40)]
    spread = np.std([r.relative.value for r in runs], ddof=1)
    analytic = np.mean([r.mc_se for r in runs])
    assert 0.7 < spread / analytic < 1.35, (spread, analytic)


# --- bad input: one clear error -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha=[1.0, 0.0], beta=[1.0, 1.0]), "finite and > 0"),
        (dict(alpha=[1.0, np.nan], beta=[1.0, 1.0]), "finite and > 0"),
        (dict(alpha=[1.0, 2.0], beta=[1.0]), "1-d arrays of one length"),
        (dict(alpha=[], beta=[]), "1-d arrays of one length"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], len_list=3), "len_list must be an integer in 1..2"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], len_list=0), "len_list must be an integer in 1..2"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], n_sim=0), "n_sim must be a positive integer"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], n_sim=10.0), "n_sim must be a positive integer"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], random_state=-1), "random_state must be"),
        (dict(alpha=[1.0, 2.0], beta=[1.0, 1.0], batch_size=0), "batch_size must be"),
    ],
)
def test_bad_bernoulli_ts_input(kwargs, message):
    kwargs = {"len_list": 1, "n_sim": 10, **kwargs}
    with pytest.raises(OPEInputError, match=message):
        sample_bernoulli_ts_slates(**kwargs)


def test_bad_prior_input(tmp_path):
    with pytest.raises(OPEInputError, match="campaign must be one of"):
        load_zozotown_prior("kids")
    with pytest.raises(OPEInputError, match="prior file not found"):
        load_zozotown_prior("all", tmp_path / "missing.yaml")
    bad = tmp_path / "prior.yaml"
    bad.write_text(yaml.safe_dump({"all": {"alpha": [1.0, 2.0]}}))
    with pytest.raises(OPEInputError, match="no numeric alpha/beta lists for campaign 'all'"):
        load_zozotown_prior("all", bad)
    with pytest.raises(OPEInputError, match="no numeric alpha/beta lists for campaign 'men'"):
        load_zozotown_prior("men", bad)
    with pytest.raises(OPEInputError, match="has 34 items, the log has 80"):
        zozotown_bts_action_dist("men", 80)


@pytest.mark.parametrize("argv, message", [(["kids"], "campaign must be one of"),
                                           (["--n-sim", "0", "men"], "n_sim must be a positive")])
def test_check_cli_bad_input_is_one_error_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
