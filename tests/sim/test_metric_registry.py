"""One registry drives every output: a metric registered here appears in metrics.parquet, summary.json,
the printed table and metrics.png; undefined metrics are absent, never NaN (strict JSON)."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from banditsim.envs.feedback_kinds import LIKE
from banditsim.sim.config.files import load_config
from banditsim.sim.metrics import METRICS, register_metric, unregister_metric

CONFIG = """
name: registry
agents:
  - {{name: random}}
  - {{name: epsilon_greedy, params: {{epsilon: 0.3}}}}
run: {{seeds: 2, horizon: 20, workers: 1}}  # step 19 is a truth step (sim.metrics.cell_state.TRUTH_EVERY)
world: {{n_users: 12, slate_size: {k}}}
log: {{enabled: false}}
"""


def _liked(v):
    return (v.result.kind == LIKE).astype(float)


def _strict(text: str):
    def bad(token):
        raise AssertionError(f"non-strict JSON constant {token}")
    return json.loads(text, parse_constant=bad)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A single-item and a slate run of the MovieLens world (users fitted once for both)."""
    import dataclasses

    from banditsim.sim.run.prepare import prepare
    from banditsim.sim.run.runner import run_prepared

    register_metric("test_liked", "TEST liked share", _liked, segment=True, description="test metric")
    try:
        out, prep = {}, None
        for k in (1, 3):
            cfg_path = tmp_path_factory.mktemp("cfg") / f"k{k}.yaml"
            cfg_path.write_text(CONFIG.format(k=k))
            cfg = load_config(cfg_path)
            prep = prepare(cfg, progress=False) if prep is None else dataclasses.replace(prep, config=cfg)
            folder = tmp_path_factory.mktemp("run") / f"k{k}"
            out[k] = (folder, run_prepared(prep, folder, log=lambda *_: None))
        yield out
    finally:
        unregister_metric("test_liked")


def test_registered_metric_reaches_summary_table_and_plots(runs):
    from banditsim.sim.report.plots import plot_metric_grid, read_columns
    from banditsim.sim.report.console_table import summary_table, table_rows

    folder, result = runs[1]
    summary = _strict((folder / "summary.json").read_text())["agents"]
    metrics = pq.read_table(folder / "metrics.parquet")
    for agent, figs in summary.items():
        rows = metrics.filter(pq.read_table(folder / "metrics.parquet").column("agent").to_numpy(
            zero_copy_only=False) == agent)
        seeds = rows.column("seed").to_numpy()
        # known answer: the pooled share of likes per seed from the kind counts, then the mean over seeds
        likes = rows.column("n_like").to_numpy()
        users = rows.column("users").to_numpy()
        want = np.mean([likes[seeds == s].sum() / users[seeds == s].sum() for s in np.unique(seeds)])
        assert figs["test_liked"]["mean"] == pytest.approx(want)
        assert figs["test_liked"]["low"] is not None and len(figs["test_liked"]["per_seed"]) == 2
        assert {"age", "gender", "occupation"} <= set(figs["segments"])
        assert "test_liked" in figs["segments"]["gender"]["F"]
    console = Console(record=True, width=200)
    console.print(summary_table(summary))
    assert "TEST liked share" in console.export_text()
    assert any(r["name"] == "test_liked" for r in table_rows(summary))  # the rows any other view reads
    assert "test_liked" in plot_metric_grid(read_columns(folder / "metrics.parquet"), folder / "again.png")
    assert (folder / "metrics.png").is_file() and (folder / "fairness.png").is_file()


def test_registered_metric_reaches_the_html_report(runs):
    from banditsim.sim.report.html_report import write_report

    folder, _ = runs[1]
    html = write_report(folder).read_text()
    assert "TEST liked share" in html  # summary row and its segment tables come from the registry


def test_single_items_have_no_slate_metrics_and_slates_have_them(runs):
    single = _strict((runs[1][0] / "summary.json").read_text())["agents"]["random"]
    slate = _strict((runs[3][0] / "summary.json").read_text())["agents"]["random"]
    for name in ("ndcg_at_k", "precision_at_k", "recall_at_k", "intra_list_distance"):
        assert name not in single and name in slate
        assert 0 <= slate[name]["mean"] <= (2 if name == "intra_list_distance" else 1)
    for name in ("hit_at_1", "rank_percentile"):
        assert name in single and name not in slate
    for figs in (single, slate):
        assert 0 < figs["coverage"]["mean"] <= 1 and 0 <= figs["exposure_gini"]["mean"] < 1
        assert figs["novelty"]["mean"] > 0
        assert figs["ctr"]["mean"] == pytest.approx(figs["positive_rate"]["mean"])
        genre = figs["fairness"]["genre"]
        assert {"exposure_share", "catalog_share"} <= set(genre["Drama"])
        assert len(figs["fairness"]["popularity"]) == 10
    # random ranks land mid-table on average (percentile 1 = best, 0 = worst)
    assert 0.3 < single["rank_percentile"]["mean"] < 0.7


def test_no_nan_in_metrics_parquet(runs):
    for folder, _ in runs.values():
        table = pq.read_table(folder / "metrics.parquet")
        for name in table.column_names:
            col = table.column(name)
            if col.type == "double":
                values = col.to_numpy(zero_copy_only=False)
                assert not np.isnan(values[~np.asarray(col.is_null())]).any(), name


def test_metric_names_are_checked():
    with pytest.raises(ValueError, match="already registered"):
        register_metric("mean_reward", "x", _liked)
    with pytest.raises(ValueError, match="may not contain"):
        register_metric("segments", "x", _liked)
    with pytest.raises(ValueError, match="reduce must be one of"):
        register_metric("x_y", "x", _liked, reduce="median")
    assert "x_y" not in METRICS
