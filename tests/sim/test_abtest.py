"""A/B test simulation: statistics, sizing checked by simulated power, guardrails, config, CLI."""

from __future__ import annotations

import json

import numpy as np
from scipy import stats

from banditsim.envs.world_config import WorldConfig
from banditsim.sim.abtest.experiment import run_abtest
from banditsim.sim.abtest.config import ABTestConfig
from banditsim.sim.stats.two_sample import power, required_n, welch
from banditsim.sim.cli import main
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


def test_all_detected_power_point_plots_and_wilson_reaches_one(tmp_path):
    """Issue #16: a 30/30 power point's Wilson upper bound rounded to 0.9999999999999999 and
    matplotlib refused the negative error bar (``banditsim abtest`` exited 2)."""
    from banditsim.sim.abtest.output import write_abtest_results
    from banditsim.sim.report.experiment_plots import plot_power
    from banditsim.sim.stats.two_sample import wilson

    lo, hi = wilson(np.array([30, 0, 17]), 30)
    assert hi[0] == 1.0 and lo[1] == 0.0
    ref = stats.binomtest(17, 30).proportion_ci(0.95, method="wilson")
    assert (lo[2], hi[2]) == (ref.low, ref.high)
    x = tiny_items()
    cfg = _cfg(RANDOM, GREEDY, users_per_arm=400, power_tests=30, seed=3, power_multipliers=[1.0, 5.0])
    res = run_abtest(cfg, x, tiny_population(x), WorldConfig())
    full = [c for c in res.power_curve if c["detected"] == c["tests"] == 30]
    assert full and all(c["high"] == 1.0 for c in full)
    write_abtest_results(tmp_path, cfg, res)
    assert (tmp_path / "power_curve.png").stat().st_size > 0
    # the old arithmetic's bound, fed straight to the plot: still no negative bar
    curve = [dict(c, lift_planned=0.1, var_control=0.1, var_treatment=0.1, alpha=0.05, high=0.9999999999999999)
              for c in full]
    plot_power(curve, 50, 0.8, tmp_path / "p.png")


def test_underflowing_p_values_print_as_below_floor():
    from rich.console import Console

    from banditsim.sim.abtest.decision import ab_decision, plot_lifts
    from banditsim.sim.abtest.experiment import lift_table
    from banditsim.sim.abtest.output import lift_rich_table

    rng = np.random.default_rng(0)
    u = rng.normal(0.5, 0.01, size=(2, 2000, 4))
    u[1, :, 0] += 1.0                                   # a lift of 100 standard deviations: p underflows to 0
    rows = lift_table(u, 0.05)
    assert rows[0]["p_value"] == 0.0
    console = Console(record=True, width=200)
    console.print(lift_rich_table(rows, "c", "t"))
    text = console.export_text()
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("reward"))
    assert "< 1e-300" in line and " 0 " not in line
    assert "p < 1e-300" in ab_decision(rows).reasons[0]
    fig = plot_lifts(rows)
    assert fig.axes[0].get_title().endswith("p < 1e-300") and fig._suptitle.get_text()


def test_every_abtest_plot_has_a_title(tmp_path, monkeypatch):
    import matplotlib.figure

    from banditsim.sim.report.experiment_plots import plot_power

    curve = [{"users_per_arm": 10, "tests": 5, "detection_rate": 0.4, "low": 0.1, "high": 0.8,
              "lift_planned": 0.1, "var_control": 0.1, "var_treatment": 0.1, "alpha": 0.05}]
    saved, savefig = [], matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):                       # records the figure, then really saves it
        saved.append(fig)
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    plot_power(curve, 20, 0.8, tmp_path / "p.png")
    plot_power([], 20, 0.8, tmp_path / "q.png")
    assert len(saved) == 2 and all(f.axes[0].get_title() for f in saved)
    assert (tmp_path / "q.png").stat().st_size > 0
