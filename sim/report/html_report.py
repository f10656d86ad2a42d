"""``report.html`` of a ``banditsim run`` results folder: one self-contained page.

It holds the config, the summary table (mean ± half-width of the 95% interval over seeds, the
winner of each metric marked), every registered metric over time, the segment tables, the
coverage and fairness views, and a few example users' sessions with the explanation of each
recommendation (:mod:`banditsim.sim.report.html_examples`). Which metrics appear, with which
label, digits and direction, comes from the metric registry
(:mod:`banditsim.sim.report.metric_columns`). ``ope`` and ``abtest`` folders get theirs from
:mod:`banditsim.sim.report.html_experiments`; :func:`write_report` picks by folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from banditsim.sim.report.html_examples import examples_section
from banditsim.sim.report.html_page import esc, fig_png, number, page, png_figure, png_file_figure, section, table, write_page
from banditsim.sim.report.metric_columns import plotted_metrics, shown_metrics, winner
from banditsim.sim.report.result_documents import run_documents

REPORT = "report.html"
OPEN_SEGMENTS = 3  # user features whose tables are open at first (MovieLens: age, gender, occupation)
# Fixed margins of the small per-metric figures (4.6 × 2.9 in): room for 7-pt tick labels of up to 7
# characters, the 10-pt step label and the 9-pt title; what tight_layout found for them, without its cost.
METRIC_FIGURE_MARGINS = {"left": 0.125, "right": 0.975, "bottom": 0.165, "top": 0.895}
MIN_SEEDS_FOR_BAND = 3  # with 2 seeds the 95% t-interval is ±12.7 standard errors: a band that hides the lines


def write_report(out_dir: str | Path) -> Path:
    """(Re)write ``report.html`` of a results folder of ``run``, ``ope`` or ``abtest``."""
    from banditsim.envs.errors import BanditsimError

    out_dir = Path(out_dir)
    if (out_dir / "ope.json").is_file() or (out_dir / "abtest.json").is_file():
        from banditsim.sim.report.html_experiments import experiment_report

        return write_page(out_dir / REPORT, experiment_report(out_dir))
    for name in ("manifest.json", "summary.json", "metrics.parquet"):
        if not (out_dir / name).is_file():
            raise BanditsimError(f"{out_dir} is not a finished results directory: no {name}")
    return write_page(out_dir / REPORT, run_report(out_dir))


def redraw(out_dir: str | Path) -> list[Path]:
    """Redraw the plots and ``report.html`` of a results folder of ``run``, ``ope`` or ``abtest``."""
    from banditsim.envs.errors import BanditsimError

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise BanditsimError(f"{out_dir} is not a finished results directory: no such folder")
    if (out_dir / "ope.json").is_file() or (out_dir / "abtest.json").is_file():
        from banditsim.sim.report.html_experiments import redraw_experiment_plots

        plots = redraw_experiment_plots(out_dir)
    else:
        from banditsim.sim.report.plots import plot_results

        run_documents(out_dir)  # a broken summary or manifest fails before any plot is redrawn
        plots = plot_results(out_dir)
    return [*plots, write_report(out_dir)]


def run_report(out_dir: Path) -> str:
    """The HTML text of a run folder's report."""
    from banditsim.sim.report.plots import read_columns

    manifest, agents, cfg = run_documents(out_dir)
    run, world = cfg.get("run", {}), cfg.get("world", {})
    metrics = read_columns(out_dir / "metrics.parquet")
    subtitle = (f"{len(agents)} agents × {run.get('seeds', '?')} seeds; {world.get('n_users', '?')} users × "
                f"{run.get('horizon', '?')} steps; slate size {world.get('slate_size', 1)}; "
                f"status {manifest.get('status', '?')}; folder {out_dir.name}")
    sections = [
        ("summary", "Summary", summary_section(agents)),
        ("over-time", "Over time", over_time_section(metrics, out_dir)),
        ("segments", "Segments", segments_section(agents)),
        ("coverage", "Coverage & fairness", coverage_section(agents, out_dir)),
        ("examples", "Example users", examples_section(out_dir, cfg)),
        ("config", "Config", config_section(manifest)),
    ]
    return page(f"banditsim run: {cfg.get('name', out_dir.name)}", subtitle, sections)


def interval_text(fig: dict | None, digits: int) -> str:
    """``mean ± half-width`` of a summary figure (just the mean with one seed; — when undefined).

    >>> interval_text({"mean": 0.5, "low": 0.4, "high": 0.6}, 2), interval_text({"mean": None}, 2)
    ('0.50 ± 0.10', '—')
    """
    if not fig or fig.get("mean") is None:
        return "—"
    low, high = fig.get("low"), fig.get("high")
    if low is None or high is None or not np.isfinite([low, high]).all():
        return number(fig["mean"], digits)
    return f"{number(fig['mean'], digits)} ± {number((high - low) / 2, digits)}"


def figure_table(agents: dict, caption: str = "") -> str:
    """Metrics × agents table of summary figures (a metric per row, so many metrics never widen the
    page), the best mean of each metric shaded and named in the last column."""
    names = [n for figs in agents.values() for n in figs if isinstance(figs.get(n), dict) and "mean" in figs[n]]
    shown = shown_metrics(names)
    if not shown or not agents:
        return ""
    headers = ["metric"] + list(agents) + ["winner"]
    rows, classes = [], []
    for s in shown:
        best = winner({a: (f.get(s.name) or {}).get("mean") for a, f in agents.items()}, s.higher_is_better)
        arrow = " ↑" if s.higher_is_better else " ↓" if s.higher_is_better is False else ""
        figs = {a: f.get(s.name) for a, f in agents.items()}
        mark = "*" if best and overlaps_runner_up(figs, best, s.higher_is_better) else ""
        rows.append([s.label + arrow] + [interval_text(f, s.digits) for f in figs.values()] + [(best or "—") + mark])
        classes.append([""] + ["win" if best == a else "" for a in agents] + [""])
    return table(headers, rows, cell_class=classes, text_columns=(0,), caption=caption)


def overlaps_runner_up(figs: dict, best: str, higher_is_better: bool) -> bool:
    """True when the winner's 95% interval overlaps the runner-up's (or either is undefined): the
    ranking of the two is not settled at this number of seeds.

    >>> f = {"a": {"mean": 0.5, "low": 0.4, "high": 0.6}, "b": {"mean": 0.3, "low": 0.2, "high": 0.45}}
    >>> overlaps_runner_up(f, "a", True), overlaps_runner_up({**f, "b": {"mean": 0.3, "low": 0.2, "high": 0.35}}, "a", True)
    (True, False)
    """
    rest = [f for a, f in figs.items() if a != best and f and f.get("mean") is not None]
    if not rest:
        return False
    runner = (max if higher_is_better else min)(rest, key=lambda f: f["mean"])
    ends = [figs[best].get("low"), figs[best].get("high"), runner.get("low"), runner.get("high")]
    if any(e is None or not np.isfinite(e) for e in ends):
        return True
    return ends[0] <= ends[3] and ends[2] <= ends[1]


def summary_section(agents: dict) -> str:
    """The summary table of every agent and metric."""
    body = figure_table(agents, "Each figure: mean over seeds ± half-width of its 95% interval. ↑ higher is better, "
                                "↓ lower is better; the best mean of each metric is shaded and named in the last column "
                                "(— when tied or when the metric has no better direction; * when its interval overlaps the "
                                "runner-up's, so more seeds are needed to rank the two).")
    return section("summary", "Summary", body)


def over_time(grid: np.ndarray, reduce: str, scale: float) -> np.ndarray:
    """A metric's (seeds, steps) per-step values as the running figure its summary reduces to: a running
    sum for ``sum`` metrics (cumulative regret), the step values otherwise; times the metric's scale.

    >>> over_time(np.array([[1.0, np.nan, 2.0]]), "sum", 1.0).tolist(), over_time(np.array([[0.5]]), "mean", 2.0).tolist()
    ([[1.0, 1.0, 3.0]], [[1.0]])
    """
    values = np.nancumsum(grid, axis=1) if reduce == "sum" else grid
    return values * scale


def _metric_figure(metrics: dict, s) -> bytes | None:
    """PNG of one metric over time for the report (None when no step defines it for every seed)."""
    fig = metric_figure(metrics, s)
    return None if fig is None else fig_png(fig, dpi=80)


def metric_figure(metrics: dict, s):
    """The report's matplotlib figure of one registered metric ``s`` over time, mean over seeds (95% band
    from MIN_SEEDS_FOR_BAND seeds); None (nothing left open) when no step defines it for every seed."""
    from banditsim.sim.stats.intervals import band
    from banditsim.sim.report.plots import _by_agent, _matplotlib, _smooth

    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(4.6, 2.9))
    grids = {name: over_time(g, s.reduce, s.scale) for name, g in _by_agent(metrics, s.column).items()}
    n_steps = max(g.shape[1] for g in grids.values())
    sparse = any(np.isnan(g).any() for g in grids.values())  # defined on some steps only (truth steps)
    window = 1 if s.reduce == "sum" or sparse else max(1, n_steps // 25)
    means = []
    for name, grid in grids.items():
        m, lo, hi = band(_smooth(grid, window))
        steps = np.arange(m.size) + window - 1
        ok = np.isfinite(m)  # join the steps where the metric is defined
        (line,) = ax.plot(steps[ok], m[ok], label=name, lw=1.4, marker="." if sparse else None, ms=3)
        if grid.shape[0] >= MIN_SEEDS_FOR_BAND:
            ax.fill_between(steps[ok], lo[ok], hi[ok], color=line.get_color(), alpha=0.12)
        means.append(m)
    finite = np.concatenate(means)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        plt.close(fig)
        return None
    if finite.size:  # bands of few seeds can be very wide: keep the means readable
        low, high = finite.min(), finite.max()
        pad = max(0.25 * (high - low), 1e-9 + abs(high) * 0.05)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("step" + (f" (moving mean of {window})" if window > 1 else ""))
    ax.set_title(s.label + (" (running total)" if s.reduce == "sum" else ""), fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.subplots_adjust(**METRIC_FIGURE_MARGINS)  # tight_layout would measure every tick label twice
    return fig


def over_time_section(metrics: dict, out_dir: Path) -> str:
    """One plot per registered metric over time (mean over seeds, 95% band), then the folder's plots."""
    import warnings

    figs, undefined = [], []
    n_seeds = len(np.unique(metrics["seed"])) if len(metrics["seed"]) else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # steps where a metric is undefined for every seed
        for s in plotted_metrics(metrics):
            png = _metric_figure(metrics, s)
            if png is None:
                undefined.append(s.label)
                continue
            figs.append(png_figure(png, alt=s.label,
                                   caption=f"{s.label}: mean over seeds" + (
                                       ", 95% band over seeds (the axis follows the means; a wide band runs off it)"
                                       if n_seeds >= MIN_SEEDS_FOR_BAND else f" ({n_seeds} seed(s): no band drawn)")))
    # metrics.png holds the panels above in one image: not repeated here
    files = [png_file_figure(out_dir / name) for name in ("regret.png", "feedback_rates.png", "session_length.png")]
    body = f'<div class="grid small">{"".join(figs)}</div>' + f'<div class="grid">{"".join(f for f in files if f)}</div>'
    if undefined:
        body += (f'<p class="muted">Not drawn (no step where every seed defines it): {esc(", ".join(undefined))}; '
                 "its summary figure pools the steps each seed defines.</p>")
    return section("over-time", "Over time", body)


def segments_section(agents: dict) -> str:
    """Per user feature (age band, gender, occupation; cluster or persona), each headline metric of every
    agent within each group: the first metric shown, the others one click away."""
    features = list(dict.fromkeys(f for figs in agents.values() for f in (figs.get("segments") or {})))
    if not features:
        return section("segments", "Segments", "<p>This run's summary has no segment breakdown.</p>")
    parts = []
    for feature in features:
        by_metric: dict[str, dict] = {}  # metric → group → agent → figure
        for agent, figs in agents.items():
            for group, metrics in ((figs.get("segments") or {}).get(feature) or {}).items():
                for name, fig in (metrics or {}).items():
                    by_metric.setdefault(name, {}).setdefault(group, {})[agent] = fig
        shown = shown_metrics(by_metric)
        tables = []
        for i, s in enumerate(shown):
            tab = group_table(by_metric[s.name], list(agents), s, f"{s.label} per {feature} group")
            tables.append(tab if i == 0 else f"<details><summary>{esc(s.label)}</summary>{tab}</details>")
        opened = " open" if len(parts) < OPEN_SEGMENTS else ""
        parts.append(f"<details{opened} class=\"feature\"><summary><h3>by {esc(feature)}</h3></summary>"
                     f"{''.join(tables)}</details>")
    return section("segments", "Segments", "".join(parts), intro=(
        "Every headline metric within each group of users (mean over seeds ± half-width of the 95% interval; "
        "the best agent of each group shaded, * when its interval overlaps the runner-up's). Small groups have "
        "wide intervals."))


def group_table(groups: dict, agents: list[str], s, caption: str) -> str:
    """Groups × agents table of one metric's figures, the best agent of each group shaded and named."""
    rows, classes = [], []
    for group, figs in groups.items():
        best = winner({a: (figs.get(a) or {}).get("mean") for a in agents}, s.higher_is_better)
        mark = "*" if best and overlaps_runner_up(figs, best, s.higher_is_better) else ""
        rows.append([group] + [interval_text(figs.get(a), s.digits) for a in agents] + [(best or "—") + mark])
        classes.append([""] + ["win" if best == a else "" for a in agents] + [""])
    return table(["group"] + agents + ["best"], rows, cell_class=classes, text_columns=(0,), caption=caption)


def coverage_section(agents: dict, out_dir: Path) -> str:
    """Coverage, exposure concentration, diversity and novelty per agent; exposure share of each item group
    (category, popularity decile) against its catalog share; the folder's fairness and genre plots."""
    parts = []
    groups = ("catalog", "coverage", "fairness", "diversity", "novelty")
    cov = {a: {k: v for k, v in f.items() if _group_of(k) in groups} for a, f in agents.items()}
    if any(cov.values()):
        parts.append(figure_table(cov, "Catalog coverage (share of items ever shown), Gini of exposure (0: every "
                                       "item shown equally, 1: one item only), diversity and novelty per agent."))
    groupings = list(dict.fromkeys(g for figs in agents.values() for g in (figs.get("fairness") or {})))
    for grouping in groupings:
        parts.append(_fairness_table(grouping, {a: (f.get("fairness") or {}).get(grouping) or {}
                                                for a, f in agents.items()}))
    genres_path = out_dir / "genres.parquet"
    if genres_path.is_file() and not groupings:
        from banditsim.sim.report.plots import read_columns

        g = read_columns(genres_path)
        if len(g["category"]):
            parts.append(_genre_share_table(g))
    figs = [png_file_figure(out_dir / name) for name in ("fairness.png", "genres.png")]
    parts.append(f'<div class="stack">{"".join(figs)}</div>')  # wide figures: full width, one per row
    return section("coverage", "Coverage & fairness", "".join(parts))


def _group_of(name: str) -> str:
    from banditsim.sim.report.metric_columns import registry

    m = registry().get(name)
    return getattr(m, "group", "other")


def _fairness_table(grouping: str, by_agent: dict) -> str:
    """Exposure share of each item group per agent (mean ± half-width over seeds) beside its catalog share."""
    agents = list(by_agent)
    groups = list(dict.fromkeys(g for rows in by_agent.values() for g in rows))
    body = []
    for g in groups:
        catalog = next((rows[g].get("catalog_share") for rows in by_agent.values() if g in rows), None)
        body.append([g, number(catalog, 3)] + [interval_text((by_agent[a].get(g) or {}).get("exposure_share"), 3)
                                               for a in agents])
    return (f"<h3>Exposure by {esc(grouping)}</h3>"
            + table(["group", "catalog share"] + agents, body, text_columns=(0,), caption=(
                f"Share of each agent's recommendations that went to each {grouping} group at the horizon, "
                "beside the group's share of the catalog: a fair exposure sits near the catalog share.")))


def _genre_share_table(g: dict) -> str:
    agents = list(dict.fromkeys(g["agent"].tolist()))
    names = list(dict.fromkeys(g["category"].tolist()))
    grid = np.zeros((len(agents), len(names)))
    a_idx = {a: i for i, a in enumerate(agents)}
    c_idx = {c: j for j, c in enumerate(names)}
    np.add.at(grid, ([a_idx[a] for a in g["agent"]], [c_idx[c] for c in g["category"]]), g["count"])
    share = grid / np.maximum(grid.sum(1, keepdims=True), 1)
    rows = [[c] + [number(share[i, j], 3) for i in range(len(agents))] for j, c in enumerate(names)]
    return "<h3>Exposure by genre</h3>" + table(["genre"] + agents, rows, caption=(
        "Share of each agent's recommendations per genre, all seeds (an item with several genres counts "
        "in each)."))


def config_section(manifest: dict) -> str:
    """The key settings, then the whole config with every default and the environment."""
    cfg = manifest.get("config", {})
    keys = []
    for sec in ("catalog", "population", "world", "run"):
        for k, v in (cfg.get(sec) or {}).items():
            if not isinstance(v, (dict, list)) and v is not None:
                keys.append([f"{sec}.{k}", v])
    agents = [[a.get("label", a.get("name")), a.get("name"), json.dumps(a.get("params", {}))]
              for a in cfg.get("agents", [])]
    body = (table(["agent", "registered name", "params"], agents, text_columns=(2,))
            + "<details><summary>every setting</summary>" + table(["key", "value"], keys, text_columns=(1,))
            + "</details><details><summary>manifest.json (config with defaults, seeds, environment)</summary>"
            f"<pre>{esc(json.dumps({k: manifest[k] for k in manifest if k != 'seeds'}, indent=2))}</pre></details>")
    return section("config", "Config", body)
