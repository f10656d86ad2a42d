"""Results of ``banditsim ope``: JSON + parquet + estimate-vs-truth plot (atomic writes), rich table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.atomic import write_json, write_parquet
from banditsim.sim.report.experiment_plots import own_log_title, plot_estimates
from banditsim.sim.report.html_report import write_report

OPE_FILES = ("ope.json", "estimates.parquet", "log.parquet", "estimate_vs_truth.png", "report.html")


def log_table(log):
    """The logged rows as a pyarrow table, one ``pi_/truth_/model_<target>`` column triple per target
    (a slate log: its own :meth:`~banditsim.sim.offline.slate_experiment.SlateOPELog.table`)."""
    import pyarrow as pa

    if hasattr(log, "table"):
        return log.table()
    cols = {k: getattr(log, k) for k in ("step", "user_id", "context_id", "action", "pscore", "reward", "kind",
                                          "q_logged", "qhat_logged")}
    for label, t in log.targets.items():
        cols[f"pi_{label}"] = t["pi_logged"]
        cols[f"truth_{label}"] = t["pi_q"]
        cols[f"model_{label}"] = t["pi_qhat"]
    cols["features"] = pa.FixedSizeListArray.from_arrays(
        pa.array(log.features.astype(np.float32).ravel()), log.features.shape[1])
    return pa.table(cols)


def write_ope_results(out: str | Path, cfg, result) -> list[Path]:
    """Write ``ope.json``, ``estimates.parquet``, ``log.parquet``, the plot and ``report.html`` into ``out``."""
    import pyarrow as pa

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "ope.json", {"config": cfg.model_dump(), "logging": result.logging,
                                  "seconds": result.seconds, "estimates": result.rows})
    write_parquet(out / "estimates.parquet", pa.Table.from_pylist(result.rows))
    write_parquet(out / "log.parquet", log_table(result.log))
    plot_estimates(result.rows, out / "estimate_vs_truth.png")
    write_report(out)
    return [out / name for name in OPE_FILES]


def write_log_ope_results(out: str | Path, log_path: str | Path, rows: list[dict], settings: dict) -> list[Path]:
    """Write ``ope.json`` (the log's path, ``settings``, the rows), ``estimates.parquet`` and the
    plot for estimates on a user's own log (``banditsim.sim.offline.log_file``; no truth)."""
    import pyarrow as pa

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "ope.json", {"log": str(log_path), "settings": settings, "estimates": rows})
    write_parquet(out / "estimates.parquet", pa.Table.from_pylist(rows))
    plot_estimates(rows, out / "estimates.png", title=own_log_title(log_path))
    return [out / "ope.json", out / "estimates.parquet", out / "estimates.png", write_report(out)]


def _num(x, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def ope_table(rows: list[dict], title: str = "off-policy estimates vs exact truth"):
    """Two rich tables (as one renderable): the estimates with their verdict, then one row of
    overlap diagnostics per target (ESS, expected ESS, weights, support, verdict)."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    verdict = {"ok": "[green]ok[/]", "low-ess": "[yellow]low-ess[/]", "no-support": "[red]no-support[/]"}
    table = Table(title=title, box=box.SIMPLE)
    for col in ("target", "estimator", "estimate", "95% interval", "truth", "rel.err", "covers", "verdict"):
        table.add_column(col, justify="left" if col in ("target", "estimator", "verdict") else "right")
    covers = {True: "[green]yes[/]", False: "[red]no[/]"}
    for r in rows:
        interval = "—" if r["low"] is None or r["high"] is None else f"{r['low']:.3f}–{r['high']:.3f}"
        cov = covers.get(r["covers"], "n/a: model bias" if r.get("excludes_model_bias") else "n/a")
        rel = "—" if r["rel_error"] is None else f"{100 * r['rel_error']:+.1f}%"
        table.add_row(r["target"], r["estimator"], _num(r["estimate"], ".4f"), interval, _num(r["truth"], ".4f"),
                      rel, cov, verdict.get(r["verdict"], r["verdict"]))
    diag = Table(title="overlap diagnostics per target (sim.ope.diagnostics)", box=box.SIMPLE)
    for col in ("target", "ESS", "ESS %", "E[ESS]", "users ESS", "max w", "p99 w", "mean w", "support", "verdict"):
        diag.add_column(col, justify="left" if col in ("target", "verdict") else "right")
    for r in {r["target"]: r for r in rows}.values():
        diag.add_row(r["target"], f"{r['ess']:,.1f}", f"{100 * r['ess_share']:.2f}", _num(r.get("ess_expected"), ",.1f"),
                     _num(r.get("ess_users"), ",.1f"), f"{r['max_weight']:.3g}", f"{r['p99_weight']:.3g}",
                     f"{r['mean_weight']:.3f}", f"{100 * r['support']:.1f}%", verdict.get(r["verdict"], r["verdict"]))
    diag.caption = ("no-support: support < 99% (no estimate); low-ess: ESS < 100 rows or < 1% of rows, users ESS < 30, "
                    "E[ESS] < 100 or < 5% of rows, or mean w off its expectation. Intervals are cluster-robust by "
                    "user; DM's and switch-DR's (data-chosen threshold) exclude model bias: never counted as covering.")
    return Group(table, diag)
