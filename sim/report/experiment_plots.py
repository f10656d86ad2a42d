"""The plots of ``banditsim ope`` and ``banditsim abtest`` folders, drawn from their JSON rows
(written by the experiments, redrawn by :func:`banditsim.sim.report.html_report.redraw`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.report.plots import _matplotlib, save_figure
from banditsim.sim.stats.intervals import error_bars


def own_log_title(log_path: str | Path) -> str:
    """The estimates plot's title on a user's own log (which has no truth).

    >>> own_log_title("/data/clicks.parquet").splitlines()[0]
    'off-policy estimates on clicks.parquet'
    """
    return f"off-policy estimates on {Path(log_path).name}\n(95% intervals; a real log has no truth)"


def plot_estimates(rows: list[dict], path: str | Path, title: str | None = None) -> Path:
    """One panel per target: each estimator's estimate with its interval, the truth as a line;
    the panel title gives the verdict, ESS and support. A target without an estimate (no-support)
    gets a panel saying so; an interval with an infinite end is drawn without its bar."""
    plt = _matplotlib()
    targets = list(dict.fromkeys(r["target"] for r in rows))
    fig, axes = plt.subplots(1, len(targets), figsize=(max(3.8 * len(targets), 8.0), 4.2), squeeze=False)
    for ax, target in zip(axes[0], targets):
        sub = [r for r in rows if r["target"] == target]
        d = sub[0]
        ax.set_title(f"{target}\n{d['verdict']}: ESS {d['ess']:,.0f} ({d['ess_share']:.1%}), "
                     f"support {d['support']:.1%}" + ("" if d.get("support_exact", True) else " (est.)"), fontsize=9)
        if d["truth"] is not None:
            ax.axhline(d["truth"], color="black", lw=1.2, label="truth")
        x = np.arange(len(sub))
        for i, r in enumerate(sub):
            if r["estimate"] is None:
                ax.annotate("none", (x[i], 0.5), xycoords=("data", "axes fraction"), ha="center", fontsize=8,
                            color="grey")
                continue
            colour = {True: "tab:green", False: "tab:red", None: "tab:grey"}[r["covers"]]
            yerr = error_bars(r["estimate"], np.nan if r["low"] is None else r["low"],
                              np.nan if r["high"] is None else r["high"])
            ax.errorbar(x[i], r["estimate"], yerr=yerr[:, :1], fmt="o", color=colour, capsize=4)
        ax.set_xticks(x, [r["estimator"] for r in sub], rotation=30)
    axes[0][0].set_ylabel("policy value\n(95% interval, by user)")
    if any(r["truth"] is not None for r in rows):
        axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(title or "off-policy estimate vs exact truth\n(green: covers, red: misses, "
                 "grey: interval excludes model bias or is undefined)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return save_figure(fig, path)

def plot_power(curve: list[dict], required: int, power_target: float, path: str | Path) -> Path:
    """Power vs users per arm: analytic lines (planned, true) and simulated points with intervals."""
    from banditsim.sim.stats.two_sample import power  # scipy.stats: loaded only for this plot

    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6, 4))
    if curve:
        ns = np.array([c["users_per_arm"] for c in curve])
        grid = np.unique(np.linspace(2, ns.max() * 1.1, 200).astype(int))
        p = curve[0]
        ax.plot(grid, power(grid, p["lift_planned"], p["var_control"], p["var_treatment"], p["alpha"]),
                label="analytic (observed test's variances)")
        rate = np.array([c["detection_rate"] for c in curve])
        err = error_bars(rate, [c["low"] for c in curve], [c["high"] for c in curve])
        ax.errorbar(ns, rate, yerr=err, fmt="o", color="black", capsize=4,
                    label=f"simulated ({curve[0]['tests']} tests per point)")
    ax.axhline(power_target, color="grey", ls=":", lw=1)
    ax.axvline(required, color="grey", ls="--", lw=1, label=f"sized: {required:,} users per arm")
    ax.set_xlabel("users per arm")
    ax.set_ylabel("power (detection rate)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Power check: detection rate vs users per arm (95% Wilson intervals)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)