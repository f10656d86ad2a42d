"""Ground-truth OPE experiment: exact truth, estimator coverage, config errors, CLI end to end."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from banditsim.envs.feedback_kinds import reward_vector
from banditsim.sim.cli import main
from banditsim.sim.config.errors import ConfigError
from banditsim.sim.policies.frozen import build_policy, exact_probabilities, item_features, shared_ridge
from banditsim.sim.offline.config import OPEConfig, load_ope_config
from banditsim.sim.offline.experiment import collect_log, run_ope_experiment
from banditsim.sim.config.policy_spec import PolicySpec
from banditsim.sim.policies.warmup import collect_warmup
from tests.sim.tiny_world import TINY_CSV, tiny_items, tiny_population, tiny_world

TARGETS = [PolicySpec(label="greedy", kind="ridge", ridge=5.0),
           PolicySpec(label="soft", kind="ridge", temperature=0.1, epsilon=0.1),
           PolicySpec(label="eg", kind="agent", name="epsilon_greedy", params={"epsilon": 0.3})]


class BruteForceWorld:
    """Wraps a world; before each step records features, mask and, item by item, the exact
    expected reward from a deep copy of the world stepped with that item for every user."""

    def __init__(self, world):
        self.world, self.records = world, []

    def __getattr__(self, name):
        return getattr(self.world, name)

    def reset(self, seed=None):
        self.obs = self.world.reset(seed=seed)
        return self.obs

    def step(self, actions):
        q = np.empty((self.world.n_users, self.world.n_items))
        for item in range(self.world.n_items):
            clone = copy.deepcopy(self.world)
            q[:, item] = clone.step(np.full(self.world.n_users, item)).expected_reward_chosen
        self.records.append((self.obs.features.astype(np.float64), np.array(self.obs.mask), q))
        res = self.world.step(actions)
        self.obs = res.observation
        return res


def _policies(world, specs):
    x = world.item_vectors
    warm = collect_warmup(world, 6, np.random.default_rng(0), seed=3)
    feats, cache = item_features(x, 4), {}
    pols = [build_policy(s, x, feats, reward_vector().tolist(), i, cache).fit(warm)  # one value per kind
            for i, s in enumerate(specs)]
    return pols, shared_ridge(warm, feats, 1.0, cache)


def test_truth_equals_brute_force_recomputation():
    world = BruteForceWorld(tiny_world(n_users=6, n_items=10))
    logging = PolicySpec(label="log", kind="ridge", temperature=0.2, epsilon=0.2)
    pols, model = _policies(world.world, [logging, *TARGETS])
    log = collect_log(world, pols[0], pols[1:], model, steps=5, max_rows=27, rng=np.random.default_rng(1), seed=9)
    assert log.n_rows == 27                                   # capped mid-step
    rng = np.random.default_rng(2)
    for pol in pols[1:]:
        brute = []
        for feats, mask, q in world.records:
            pi = exact_probabilities(pol, feats, mask, rng)
            for i in range(len(feats)):                        # brute force: row by row, item by item
                brute.append(sum(pi[i, a] * q[i, a] for a in range(q.shape[1])))
        np.testing.assert_allclose(log.targets[pol.label]["pi_q"], np.array(brute)[:27], rtol=1e-5, atol=1e-6)
    q_logged = np.concatenate([q[np.arange(len(q)), :] for _, _, q in world.records])
    np.testing.assert_allclose(log.q_logged, q_logged[np.arange(len(q_logged)), np.r_[log.action,
                               np.zeros(len(q_logged) - 27, int)]][:27], rtol=1e-5, atol=1e-6)


def _tiny_cfg(**experiment):
    return OPEConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"}, "world": {"n_users": 200},
        "logging": {"label": "log", "kind": "ridge", "temperature": 0.2, "epsilon": 0.2},
        "targets": [t.model_dump() for t in TARGETS],
        "experiment": {"warmup_steps": 8, "log_steps": 30, "max_rows": 6000, "item_dims": 6, **experiment}})


def test_ips_interval_covers_truth_and_dr_is_tighter():
    x = tiny_items()
    from banditsim.envs.world_config import WorldConfig

    res = run_ope_experiment(_tiny_cfg(), x, tiny_population(x), WorldConfig())
    by = {(r["target"], r["estimator"]): r for r in res.rows}
    for t in TARGETS:
        ips = by[(t.label, "ips")]
        assert ips["covers"], ips
        assert by[(t.label, "dr")]["high"] - by[(t.label, "dr")]["low"] <= ips["high"] - ips["low"] + 1e-12
    assert res.log.n_rows == 6000
    assert abs(res.logging["true_value"] - res.logging["mean_reward"]) < 0.05


def test_bad_config_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: {log_steps: 0}\n")
    assert main(["ope", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: bad.yaml: experiment.log_steps") and "\n" not in err
    bad.write_text("targets: [{label: x, kind: agent, name: no_such_agent}]\n")
    assert main(["ope", str(bad)]) == 2
    assert "unknown agent 'no_such_agent'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="labels must be unique"):
        load_ope_config(None, ["logging.label=greedy-ridge", "logging.kind=ridge"])


def test_cli_ope_end_to_end(tmp_path, capsys):
    (tmp_path / "tiny.csv").write_text(TINY_CSV)
    cfg = tmp_path / "ope.yaml"
    cfg.write_text("name: tiny\ncatalog: {source: tiny.csv}\npopulation: {kind: clusters, n_users: 100, n_clusters: 3}\n"
                   "world: {n_users: 50}\nexperiment: {warmup_steps: 4, log_steps: 6, item_dims: 4}\n")
    out = tmp_path / "res"
    assert main(["ope", str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "results:" in printed and "logging-softmax" in printed
    data = json.loads((out / "ope.json").read_text())
    assert len(data["estimates"]) == 3 * 5 and data["config"]["experiment"]["max_rows"] == 40_000
    for name in ("estimates.parquet", "log.parquet", "estimate_vs_truth.png"):
        assert (out / name).stat().st_size > 0
    # the written log.parquet is a valid input for your-own-log OPE: same IPS/SNIPS numbers, no truth
    from banditsim.sim.offline.log_file import estimate_log_file

    ref = {(r["target"], r["estimator"]): r for r in data["estimates"]}
    rows = estimate_log_file(out / "log.parquet")
    again = [r for r in rows if r["estimate"] is not None]
    assert {r["estimator"] for r in again} == {"ips", "snips"} and len(again) >= 4
    # a target the log path does not estimate is refused for its support *estimated* from the weights
    # (the logging distribution is unknown there; upper 95% bound below 0.99), never silently dropped
    for target in {r["target"] for r in rows} - {r["target"] for r in again}:
        refused = [r for r in rows if r["target"] == target]
        assert all(r["verdict"] == "no-support" and not r["support_exact"] and r["support"] < 0.99
                   and r["estimate"] is None for r in refused), refused
        assert all("of the target's mass on logged actions" in r["note"] for r in refused
                   if r["estimator"] in ("ips", "snips")), refused
    for r in again:
        assert r["estimate"] == pytest.approx(ref[(r["target"], r["estimator"])]["estimate"], rel=1e-12)
        assert r["truth"] is None and r["covers"] is None


def _opelog(n=3_000, users=300, **targets):
    from banditsim.sim.offline.experiment import OPELog

    rng = np.random.default_rng(0)
    one = np.ones(n)
    return OPELog(step=np.arange(n) // users, user_id=np.arange(n) % users, context_id=one, features=one[:, None],
                  action=np.zeros(n, int), pscore=np.full(n, 0.5), reward=(rng.random(n) < 0.4).astype(float),
                  kind=one, q_logged=np.full(n, 0.4), qhat_logged=np.full(n, 0.35), targets=targets)


def _strict_json(path):
    def bad(name):
        raise AssertionError(f"non-standard JSON constant {name} in {path.name}")

    return json.loads(path.read_text(), parse_constant=bad)


def test_unsupported_target_gets_no_number_and_the_others_go_on(tmp_path):
    """Issue #16: one target the logging policy never supports aborted every estimate."""
    from rich.console import Console

    from banditsim.sim.offline.experiment import OPEResult, estimate_all
    from banditsim.sim.offline.output import ope_table, write_ope_results

    n = 3_000
    never = {"pi_logged": np.zeros(n), "pi_q": np.full(n, 0.7), "pi_qhat": np.full(n, 0.6), "support": np.zeros(n),
             "second_moment": np.zeros(n)}
    same = {"pi_logged": np.full(n, 0.5), "pi_q": np.full(n, 0.4), "pi_qhat": np.full(n, 0.35), "support": np.ones(n),
            "second_moment": np.ones(n)}
    log = _opelog(n, never=never, same=same)
    rows = estimate_all(log, ["ips", "snips", "dm", "dr", "switch_dr"])
    by = {(r["target"], r["estimator"]): r for r in rows}
    for name in ("ips", "snips", "dm", "dr", "switch_dr"):
        r = by[("never", name)]
        assert r["verdict"] == "no-support" and r["estimate"] is None and r["covers"] is None
        assert r["low"] is None and "no estimate" in r["note"]
        assert by[("same", name)]["estimate"] is not None and by[("same", name)]["verdict"] == "ok"
    assert by[("same", "ips")]["covers"] is True and by[("same", "ips")]["users"] == 300
    assert by[("same", "dm")]["covers"] is None and by[("same", "dm")]["excludes_model_bias"]
    cfg = OPEConfig()
    res = OPEResult(log=log, rows=rows, logging={"label": "log", "true_value": 0.4, "mean_reward": 0.4,
                                                  "warmup_rows": 0, "rows": n}, seconds={"estimation": 0.1})
    write_ope_results(tmp_path, cfg, res)
    data = _strict_json(tmp_path / "ope.json")
    assert {e["verdict"] for e in data["estimates"]} == {"ok", "no-support"}
    assert (tmp_path / "estimate_vs_truth.png").stat().st_size > 0
    console = Console(record=True, width=260)
    console.print(ope_table(rows))
    text = console.export_text()
    assert "no-support" in text and "ESS" in text and "support" in text and "n/a: model bias" in text


def test_one_user_gives_no_interval_and_never_covers():
    """Issue #16: one user gave intervals of -inf to inf marked 'covers: yes'."""
    from banditsim.sim.offline.experiment import estimate_all

    n = 400
    t = {"pi_logged": np.full(n, 0.5), "pi_q": np.full(n, 0.4), "pi_qhat": np.full(n, 0.35), "support": np.ones(n),
         "second_moment": np.ones(n)}
    rows = estimate_all(_opelog(n, users=n, t=t), ["ips", "dr"])                 # each user one row: fine
    assert all(r["covers"] is not None for r in rows)
    rows = estimate_all(_one_user(n, t), ["ips", "snips", "dr"])
    for r in rows:
        assert r["estimate"] is not None and r["low"] is None and r["high"] is None
        assert r["covers"] is None and r["verdict"] == "low-ess"


def _one_user(n, t):
    log = _opelog(n, users=n, t=t)
    log.user_id = np.zeros(n, int)
    return log


def test_deterministic_logging_world_run_flags_unsupported_targets():
    from banditsim.envs.world_config import WorldConfig

    x = tiny_items()
    cfg = OPEConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"}, "world": {"n_users": 100},
        "logging": {"label": "log", "kind": "ridge", "temperature": 0.0, "epsilon": 0.0},
        "targets": [{"label": "same", "kind": "ridge"}, {"label": "soft", "kind": "ridge", "temperature": 0.1,
                                                         "epsilon": 0.1}],
        "experiment": {"warmup_steps": 6, "log_steps": 10, "max_rows": 1000, "item_dims": 6}})
    res = run_ope_experiment(cfg, x, tiny_population(x), WorldConfig())
    by = {(r["target"], r["estimator"]): r for r in res.rows}
    assert by[("same", "ips")]["verdict"] == "ok" and by[("same", "ips")]["support"] == 1.0
    assert by[("same", "ips")]["covers"] is not None
    assert by[("soft", "ips")]["verdict"] == "no-support" and by[("soft", "ips")]["estimate"] is None
    assert 0 < by[("soft", "ips")]["support"] < 0.99


def test_switch_tau_config():
    assert OPEConfig().experiment.switch_tau == "auto"
    assert load_ope_config(None, ["experiment.switch_tau=5"]).experiment.switch_tau == 5.0
    with pytest.raises(ConfigError, match="switch_tau"):
        load_ope_config(None, ["experiment.switch_tau=-1"])
    with pytest.raises(ConfigError, match="switch_tau"):
        load_ope_config(None, ["experiment.switch_tau=best"])


def _slate_cfg(seed=0, **world):
    return OPEConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"},
        "world": {"n_users": 100, "slate_size": 3, **world},
        "logging": {"label": "log", "kind": "ridge", "temperature": 0.0, "epsilon": 0.5},
        "targets": [{"label": "greedy", "kind": "ridge"}, {"label": "other", "kind": "ridge", "ridge": 50.0}],
        "experiment": {"warmup_steps": 6, "log_steps": 12, "max_rows": 1200, "item_dims": 6, "seed": seed}})


class SlateTruthWorld:
    """Wraps a world; before each step records, from a deep copy stepped with each target's
    slate, the exact expected reward of that slate for every user."""

    def __init__(self, world, targets, k):
        self.world, self.targets, self.k, self.records = world, targets, k, []

    def __getattr__(self, name):
        return getattr(self.world, name)

    def reset(self, seed=None):
        self.obs = self.world.reset(seed=seed)
        return self.obs

    def step(self, slates):
        from banditsim.sim.offline.slate_experiment import top_k

        feats, mask = self.obs.features.astype(np.float64), np.array(self.obs.mask)
        self.records.append({t.label: copy.deepcopy(self.world).step(top_k(t.scores(feats), mask, self.k))
                             .expected_reward_chosen for t in self.targets})
        res = self.world.step(slates)
        self.obs = res.observation
        return res


def test_slate_truth_is_the_world_value_of_each_target_slate():
    from banditsim.sim.offline.slate_experiment import collect_slate_log

    world = tiny_world(n_users=8, n_items=10)
    specs = [PolicySpec(label="log", kind="ridge", epsilon=0.4), PolicySpec(label="greedy", kind="ridge"),
             PolicySpec(label="other", kind="ridge", ridge=30.0)]
    pols, _ = _policies(world, specs)
    wrapped = SlateTruthWorld(world, pols[1:], 3)
    log = collect_slate_log(wrapped, pols[0], pols[1:], 3, steps=4, max_rows=30, rng=np.random.default_rng(1), seed=2)
    assert log.n_rows == 30 * 3 and log.slate_value_logged.shape == (30,)
    for label in ("greedy", "other"):
        brute = np.concatenate([r[label] for r in wrapped.records])[:30]
        np.testing.assert_allclose(log.targets[label]["truth"], brute, rtol=1e-6, atol=1e-9)
    # propensities: a slate's positions multiply up to its cascade probability, and every
    # logged item-position marginal is at least epsilon / n_items
    assert log.pscore_item_position.min() >= 0.4 / 10 - 1e-12
    per = log.pscore_cascade.reshape(30, 3)
    assert np.all(np.diff(per, axis=1) <= 1e-12)


def test_slate_estimates_cover_the_exact_slate_value(tmp_path):
    """Issue #16 item 6: slate OPE from the experiment, IIPS/RIPS/standard IPS against the exact truth."""
    from banditsim.envs.world_config import WorldConfig
    from banditsim.sim.offline.output import write_ope_results

    x = tiny_items()
    hits = {"iips": [], "rips": [], "sips": []}
    for seed in range(6):
        res = run_ope_experiment(_slate_cfg(seed), x, tiny_population(x), WorldConfig())
        for r in res.rows:
            if r["target"] == "greedy" and r["verdict"] == "ok":
                hits[r["estimator"]].append(r["covers"])
    assert all(len(v) == 6 for v in hits.values()), hits
    assert sum(hits["rips"]) >= 5 and sum(hits["sips"]) >= 5, hits
    by = {(r["target"], r["estimator"]): r for r in res.rows}
    assert by[("other", "sips")]["verdict"] == "low-ess"                 # its slate is rarely logged
    write_ope_results(tmp_path, _slate_cfg(), res)
    data = _strict_json(tmp_path / "ope.json")
    assert {e["estimator"] for e in data["estimates"]} == {"iips", "rips", "sips"}
    assert (tmp_path / "log.parquet").stat().st_size > 0


def test_slate_config_errors_are_one_line(tmp_path, capsys):
    cfg = tmp_path / "slate.yaml"
    cfg.write_text("world: {slate_size: 3}\nlogging: {label: log, kind: ridge, epsilon: 0.1}\n")
    with pytest.raises(ConfigError, match="slate OPE .* target 'sharp-softmax' must be kind 'ridge' with temperature 0 and epsilon 0"):
        load_ope_config(cfg)
    with pytest.raises(ConfigError, match="logging policy 'logging-softmax' must be kind 'ridge' with temperature 0"):
        load_ope_config(None, ["world.slate_size=3"])
    assert main(["ope", "--set", "world.slate_size=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "slate OPE" in err and "\n" not in err
