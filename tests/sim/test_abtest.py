"""A/B test simulation: statistics, sizing checked by simulated power, guardrails, config, CLI."""

from __future__ import annotations

import json

import numpy as np
from scipy import stats

from envs.world_config import WorldConfig
from sim.abtest import run_abtest
from sim.abtest_config import ABTestConfig
from sim.abtest_stats import power, required_n, welch
from sim.cli import main
from tests.sim.tiny_world import TINY_CSV, tiny_items, tiny_population


def _cfg(control, treatment, **test):
    return ABTestConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"},
        "control": control, "treatment": treatment,
        "test": {"warmup_steps": 6, "warmup_users": 200, "item_dims": 6, "horizon": 4, **test}})


RANDOM = {"label": "random", "name": "random"}
SOFT = {"label": "soft", "kind": "ridge", "temperature": 0.5}
GREEDY = {"label": "greedy", "kind": "ridge"}


def test_welch_matches_scipy_and_sizing_is_minimal():
    rng = np.random.default_rng(0)
    c, t = rng.normal(0, 1, (5, 300)), rng.normal(0.1, 2, (5, 200))
    r = welch(c, t)
    np.testing.assert_allclose(r["p"], stats.ttest_ind(t, c, axis=1, equal_var=False).pvalue, rtol=1e-10)
    n = required_n(0.1, 0.5, 0.7)
    assert power(n, 0.1, 0.5, 0.7) >= 0.8 > power(n - 1, 0.1, 0.5, 0.7)


def test_power_calculation_agrees_with_simulated_detection_rate():
    x = tiny_items()
    cfg = _cfg(RANDOM, SOFT, users_per_arm=20_000, power_tests=1000, power_multipliers=[0.5, 1.0])
    res = run_abtest(cfg, x, tiny_population(x), WorldConfig())
    assert 10 <= res.required_n <= 400, res.required_n
    at_n = next(c for c in res.power_curve if c["users_per_arm"] == res.required_n)
    assert abs(at_n["detection_rate"] - 0.8) <= 0.05, at_n
    assert abs(at_n["detection_rate"] - at_n["power_planned"]) <= 0.05, at_n
    assert abs(at_n["detection_rate"] - at_n["power_true"]) <= 0.05, at_n
    half = res.power_curve[0]
    assert half["detection_rate"] < at_n["detection_rate"]
    assert abs(half["detection_rate"] - half["power_true"]) <= 0.05, half


def test_guardrail_flags_a_clearly_worse_treatment():
    x = tiny_items()
    res = run_abtest(_cfg(GREEDY, RANDOM, users_per_arm=3000, power_tests=0), x, tiny_population(x), WorldConfig())
    lifts = {r["metric"]: r for r in res.lifts}
    assert lifts["reward"]["lift"] < 0 and lifts["reward"]["significant"]
    assert lifts["negative_rate"]["guardrail_breached"]
    assert "skipped" in res.note


def test_bad_config_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "ab.toml"
    bad.write_text("[test]\nusers_per_arm = 1\n")
    assert main(["abtest", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ab.toml: test.users_per_arm") and "\n" not in err
    bad.write_text("[world]\nn_users = 10\n")
    assert main(["abtest", str(bad)]) == 2
    assert "use test.users_per_arm" in capsys.readouterr().err


def test_cli_abtest_end_to_end(tmp_path, capsys):
    (tmp_path / "tiny.csv").write_text(TINY_CSV)
    cfg = tmp_path / "ab.yaml"
    cfg.write_text("name: tiny\ncatalog: {source: tiny.csv}\npopulation: {kind: clusters, n_users: 100, n_clusters: 3}\n"
                   "test: {users_per_arm: 300, horizon: 3, warmup_steps: 3, warmup_users: 50, item_dims: 4,\n"
                   "       power_tests: 20, users_per_day: 50}\n")
    out = tmp_path / "res"
    assert main(["abtest", str(cfg), "--out", str(out)]) == 0
    assert "users per arm" in capsys.readouterr().out
    data = json.loads((out / "abtest.json").read_text())
    assert [r["metric"] for r in data["lifts"]] == ["reward", "positive_rate", "negative_rate", "session_end_rate"]
    assert data["required_users_per_arm"] >= 2 and "n_users" not in data["config"]["world"]
    for name in ("users.parquet", "power.parquet", "power_curve.png"):
        assert (out / name).stat().st_size > 0
