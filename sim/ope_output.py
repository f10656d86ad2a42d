"""Results of ``banditsim ope``: JSON + parquet + estimate-vs-truth plot (atomic writes), rich table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.atomic import write_json, write_parquet

OPE_FILES = ("ope.json", "estimates.parquet", "log.parquet", "estimate_vs_truth.png")


def log_table(log):
    """The logged rows as a pyarrow table, one ``pi_/truth_/model_<target>`` column triple per target."""
    import pyarrow as pa

    cols = {k: getattr(log, k) for k in ("step", "user_id", "context_id", "action", "pscore", "reward", "kind",
                                          "q_logged", "qhat_logged")}
    for label, t in log.targets.items():
        cols[f"pi_{label}"] = t["pi_logged"]
        cols[f"truth_{label}"] = t["pi_q"]
        cols[f"model_{label}"] = t["pi_qhat"]
    cols["features"] = pa.FixedSizeListArray.from_arrays(
        pa.array(log.features.astype(np.float32).ravel()), log.features.shape[1])
    return pa.table(cols)


def plot_estimates(rows: list[dict], path: str | Path) -> Path:
    """One panel per target: each estimator's estimate with its interval, the truth as a line."""
    from sim.plots import _matplotlib, save_figure

    plt = _matplotlib()
    targets = list(dict.fromkeys(r["target"] for r in rows))
    fig, axes = plt.subplots(1, len(targets), figsize=(3.6 * len(targets), 3.4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        sub = [r for r in rows if r["target"] == target]
        x = np.arange(len(sub))
        est = np.array([r["estimate"] for r in sub])
        err = np.array([[r["estimate"] - r["low"], r["high"] - r["estimate"]] for r in sub]).T
        colors = ["tab:green" if r["covers"] else "tab:red" for r in sub]
        ax.axhline(sub[0]["truth"], color="black", lw=1.2, label="truth")
        for i in range(len(sub)):
            ax.errorbar(x[i], est[i], yerr=err[:, i:i + 1], fmt="o", color=colors[i], capsize=4)
        ax.set_xticks(x, [r["estimator"] for r in sub], rotation=30)
        ax.set_title(target)
    axes[0][0].set_ylabel("policy value (95% interval)")
    axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle("off-policy estimate vs exact truth (green: interval covers truth)")
    fig.tight_layout()
    return save_figure(fig, path)


def write_ope_results(out: str | Path, cfg, result) -> list[Path]:
    """Write ``ope.json``, ``estimates.parquet``, ``log.parquet`` and the plot into ``out``."""
    import pyarrow as pa

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "ope.json", {"config": cfg.model_dump(), "logging": result.logging,
                                  "seconds": result.seconds, "estimates": result.rows})
    write_parquet(out / "estimates.parquet", pa.Table.from_pylist(result.rows))
    write_parquet(out / "log.parquet", log_table(result.log))
    plot_estimates(result.rows, out / "estimate_vs_truth.png")
    return [out / name for name in OPE_FILES]


def ope_table(rows: list[dict], title: str = "off-policy estimates vs exact truth"):
    """A rich table of the estimate rows."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE)
    for col in ("target", "estimator", "estimate", "95% interval", "truth", "rel.err", "covers"):
        table.add_column(col, justify="left" if col in ("target", "estimator") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["target"], r["estimator"], f"{r['estimate']:.4f}", f"{r['low']:.3f}–{r['high']:.3f}",
                      f"{r['truth']:.4f}", f"{100 * r['rel_error']:+.1f}%",
                      "[green]yes[/]" if r["covers"] else "[red]no[/]")
    return table
