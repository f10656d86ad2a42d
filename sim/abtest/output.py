"""Results of ``banditsim abtest``: JSON + parquet + power-curve plot (atomic writes), rich tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.metrics import ab_metric_names
from banditsim.sim.atomic import write_json, write_parquet
from banditsim.sim.report.experiment_plots import plot_power
from banditsim.sim.report.html_report import write_report

ABTEST_FILES = ("abtest.json", "users.parquet", "power.parquet", "power_curve.png", "report.html")


def write_abtest_results(out: str | Path, cfg, result) -> list[Path]:
    """Write ``abtest.json``, ``users.parquet`` (observed test), ``power.parquet``, the plot and ``report.html``."""
    import pyarrow as pa

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = cfg.test
    k = ab_metric_names().index(result.primary)
    planned = result.lifts[k]
    curve = [dict(c, lift_planned=planned["lift"], var_control=planned["var_control"],
                  var_treatment=planned["var_treatment"], alpha=t.alpha) for c in result.power_curve]
    write_json(out / "abtest.json", {
        "config": cfg.model_dump(exclude={"world": {"n_users"}}), "primary_metric": result.primary,
        "required_users_per_arm": result.required_n, "lifts": result.lifts, "sizing": result.sizing,
        "power_check": curve, "note": result.note, "seconds": result.seconds})
    u = result.users
    n = u.shape[1]
    write_parquet(out / "users.parquet", pa.table({
        "arm": pa.array(["control"] * n + ["treatment"] * n), "user": np.r_[np.arange(n), np.arange(n)],
        **{m: u[:, :, i].ravel() for i, m in enumerate(ab_metric_names())}}))
    write_parquet(out / "power.parquet", pa.Table.from_pylist(curve) if curve else pa.table({"users_per_arm": []}))
    plot_power(curve, result.required_n, t.power, out / "power_curve.png")
    write_report(out)
    return [out / name for name in ABTEST_FILES]


def lift_rich_table(lifts: list[dict], control: str, treatment: str):
    """Rich table: per metric, both arms, lift with 95% interval, p-value, guardrail status."""
    from rich import box
    from rich.table import Table

    from banditsim.sim.stats.two_sample import format_p

    table = Table(title=f"A/B: {treatment} vs {control} (per-user means, Welch)", box=box.SIMPLE)
    for col in ("metric", "control", "treatment", "lift [95% CI]", "p", "flag"):
        table.add_column(col, justify="left" if col == "metric" else "right", no_wrap=True)
    for r in lifts:
        flag = "[red]GUARDRAIL[/]" if r["guardrail_breached"] else ("sig." if r["significant"] else "")
        table.add_row(r["metric"], f"{r['control']:.4f}", f"{r['treatment']:.4f}",
                      f"{r['lift']:+.4f} [{r['low']:+.3f},{r['high']:+.3f}]", format_p(r["p_value"]), flag)
    return table


def power_rich_table(curve: list[dict]):
    """Rich table of the power check: simulated detection rate vs analytic power."""
    from rich import box
    from rich.table import Table

    table = Table(title="power check (simulated tests)", box=box.SIMPLE)
    for col in ("users/arm", "tests", "detected [95% CI]", "analytic planned", "analytic true"):
        table.add_column(col, justify="right", no_wrap=True)
    for c in curve:
        table.add_row(f"{c['users_per_arm']:,}", str(c["tests"]),
                      f"{c['detection_rate']:.3f} [{c['low']:.3f},{c['high']:.3f}]",
                      f"{c['power_planned']:.3f}", f"{c['power_true']:.3f}")
    return table
