"""Plots of a results directory (PNG): regret with bands, feedback rates, sessions, genres, every
registered metric over time (``metrics.png``, driven by :data:`banditsim.sim.metrics.METRICS`) and the
exposure shares of item groups against their catalog shares (``fairness.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.stats.intervals import band

PLOT_FILES = ("regret.png", "feedback_rates.png", "session_length.png", "metrics.png", "fairness.png", "genres.png")


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def render_once(fig) -> None:
    """Let ``savefig`` draw ``fig`` once: ``tight_layout`` leaves a placeholder layout engine behind, and
    with any engine set ``savefig`` draws the whole figure (every tick label measured again) before the
    draw it keeps. The placeholder lays nothing out, so dropping it changes no pixel."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        fig.set_layout_engine(None)  # "none" would set another placeholder


def margins_in_inches(fig, nrow: int, ncol: int, *, left: float, right: float, top: float, bottom: float,
                      wgap: float, hgap: float) -> None:
    """Fixed subplot margins and gaps given in inches (so they hold at any grid size): the layout that
    ``tight_layout`` finds for small-font panels, without measuring every tick label before the draw."""
    width, height = fig.get_size_inches()
    ax_w = (width - left - right - (ncol - 1) * wgap) / ncol
    ax_h = (height - top - bottom - (nrow - 1) * hgap) / nrow
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=wgap / ax_w, hspace=hgap / ax_h)


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically (temporary file, then rename) and close it."""
    from banditsim.sim.atomic import atomic_path

    plt = _matplotlib()
    path = Path(path)
    try:
        render_once(fig)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def _by_agent(metrics: dict[str, np.ndarray], column: str) -> dict[str, np.ndarray]:
    """Column reshaped to (n_seeds, n_steps) per agent, in first-appearance order."""
    out: dict[str, np.ndarray] = {}
    agents = metrics["agent"]
    for name in dict.fromkeys(agents.tolist()):
        rows = agents == name
        seeds = metrics["seed"][rows]
        steps = metrics["step"][rows]
        n_seeds, n_steps = len(np.unique(seeds)), int(steps.max()) + 1
        grid = np.full((n_seeds, n_steps), np.nan)
        seed_pos = np.searchsorted(np.unique(seeds), seeds)
        grid[seed_pos, steps] = metrics[column][rows]
        out[name] = grid
    return out


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or x.shape[-1] < window:
        return x
    kernel = np.ones(window) / window
    return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), -1, x)


def plot_regret(metrics, path: Path, title: str = "") -> None:
    """Cumulative regret per user, mean over seeds with a 95% band."""
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, grid in _by_agent(metrics, "cumulative_regret").items():
        m, lo, hi = band(grid)
        steps = np.arange(1, m.size + 1)
        (line,) = ax.plot(steps, m, label=name)
        ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("step (each step every simulated user gets one recommendation)")
    ax.set_ylabel("cumulative expected regret per user")
    ax.set_title(title or "Cumulative regret (mean over seeds, 95% band)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_feedback_rates(metrics, path: Path) -> None:
    """Positive and negative feedback rates over time, mean over seeds with 95% bands."""
    plt = _matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    pos, neg = _by_agent(metrics, "positive_rate"), _by_agent(metrics, "negative_rate")
    n_steps = next(iter(pos.values())).shape[1]
    window = max(1, n_steps // 25)
    for ax, data, label in ((axes[0], pos, "positive"), (axes[1], neg, "negative")):
        for name, grid in data.items():
            m, lo, hi = band(_smooth(grid, window))
            steps = np.arange(m.size) + window
            (line,) = ax.plot(steps, m, label=name)
            ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{label} feedback rate (moving mean, {window} steps)")
        ax.set_title(f"{label.capitalize()} feedback ({_kind_group(label)})")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    save_figure(fig, path)


def _kind_group(group: str) -> str:
    from banditsim.envs.feedback_kinds import FEEDBACK_KINDS

    return "/".join(k.name for k in FEEDBACK_KINDS if k.group == group)


def plot_metric_grid(metrics, path: Path) -> list[str]:
    """Every registered metric (``plot=True``) with a column in ``metrics``, over time: one panel each,
    mean over seeds with a 95% band (moving mean for per-step figures; metrics computed on a subsample
    of steps are drawn at those steps; a summed metric as its running total; a metric that only some
    steps of some seeds define, such as session diversity, as its running pooled mean, the figure its
    summary reduces to). Returns the names drawn, in order."""
    from banditsim.sim.metrics import METRICS

    names = [n for n, m in METRICS.items() if m.plot and m.col in metrics]
    if not names:
        return []
    plt = _matplotlib()
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        m = METRICS[name]
        for agent, grid in _by_agent(metrics, m.col).items():
            defined = np.isfinite(grid).any(0)
            steps = np.flatnonzero(defined)
            if not steps.size:
                continue
            g = grid[:, steps]
            window = max(1, steps.size // 25) if m.reduce == "mean" else 1
            if m.reduce == "sum":
                g = np.cumsum(np.nan_to_num(g), axis=1)
            elif m.reduce == "mean" and not np.isfinite(g).all() and m.col + ":n" in metrics:
                n = np.nan_to_num(_by_agent(metrics, m.col + ":n")[agent][:, steps])
                with np.errstate(invalid="ignore", divide="ignore"):
                    g = np.cumsum(np.nan_to_num(g) * n, axis=1) / np.cumsum(n, axis=1)
                window = 1
                if not np.isfinite(g).all(axis=0).any():
                    continue
                first = int(np.argmax(np.isfinite(g).all(axis=0)))  # from the step every seed defines it
                g, steps = g[:, first:], steps[first:]
            mean, lo, hi = band(_smooth(g, window))
            x = steps[window - 1:] if window > 1 else steps
            (line,) = ax.plot(x, mean * m.scale, label=agent)
            ax.fill_between(x, lo * m.scale, hi * m.scale, color=line.get_color(), alpha=0.2)
        arrow = {True: " (↑ better)", False: " (↓ better)"}.get(m.higher_is_better, "")
        ax.set_title(m.label + arrow, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.supxlabel("step")
    # room for 7-pt tick labels of up to 7 characters, the 9-pt titles and the step label
    margins_in_inches(fig, nrow, ncol, left=0.6, right=0.15, top=0.3, bottom=0.55, wgap=0.7, hgap=0.55)
    save_figure(fig, path)
    return names


def plot_fairness(metrics, path: Path) -> bool:
    """Exposure share of each item group (genre, popularity decile) at the horizon against its catalog
    share, per agent (mean over seeds). False (nothing drawn) when the run has no item groups."""
    from banditsim.sim.report.summary import fairness

    fair = fairness(metrics)
    groupings = list(dict.fromkeys(g for table in fair.values() for g in table))
    if not groupings:
        return False
    plt = _matplotlib()
    fig, axes = plt.subplots(len(groupings), 1, figsize=(12, 3.6 * len(groupings)), squeeze=False)
    agents = list(fair)
    for ax, grouping in zip(axes[:, 0], groupings):
        groups = list(dict.fromkeys(g for a in agents for g in fair[a].get(grouping, {})))
        x = np.arange(len(groups))
        width = 0.8 / (len(agents) + 1)
        catalog = [next(fair[a][grouping][g]["catalog_share"] for a in agents if g in fair[a].get(grouping, {}))
                   for g in groups]
        ax.bar(x, catalog, width, color="lightgrey", edgecolor="black", label="catalog share")
        for i, agent in enumerate(agents):
            vals = [fair[agent].get(grouping, {}).get(g, {}).get("exposure_share", {}).get("mean") for g in groups]
            ax.bar(x + (i + 1) * width, [np.nan if v is None else v for v in vals], width, label=agent)
        ax.set_xticks(x + 0.4, groups, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("share")
        ax.set_title(f"Exposure share per {grouping} (all steps, mean over seeds) vs catalog share")
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].legend(fontsize=7, ncol=4)
    fig.tight_layout()
    save_figure(fig, path)
    return True


def plot_session_length(metrics, path: Path) -> None:
    """Mean length of the sessions that ended (patience ran out or step limit), per agent, 95% interval."""
    from banditsim.sim.stats.intervals import mean_ci

    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ended = _by_agent(metrics, "sessions_ended")
    lengths = _by_agent(metrics, "session_length_sum")
    names, means, errs = [], [], []
    for name in ended:
        e = np.nan_to_num(ended[name]).sum(axis=1)
        s = np.nan_to_num(lengths[name]).sum(axis=1)
        per_seed = s[e > 0] / e[e > 0]
        m, lo, hi = mean_ci(per_seed) if per_seed.size else (np.nan, np.nan, np.nan)
        names.append(name)
        means.append(m)
        errs.append(0.0 if np.isnan(lo) else (hi - lo) / 2)
    x = np.arange(len(names))
    ax.bar(x, np.nan_to_num(means), yerr=errs, capsize=4, color=[f"C{i}" for i in range(len(names))])
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel("mean length of ended sessions (steps)")
    ax.set_title("Session length (longer: users kept their patience); 95% interval over seeds"
                 if np.isfinite(means).any() else "Session length: no session ended in this run")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    save_figure(fig, path)


def plot_genres(genres: dict[str, np.ndarray], path: Path) -> None:
    """Share of each agent's recommendations per genre (rows: agents; columns: genres)."""
    plt = _matplotlib()
    agents = list(dict.fromkeys(genres["agent"].tolist()))
    names = list(dict.fromkeys(genres["category"].tolist()))
    grid = np.zeros((len(agents), len(names)))
    a_idx = {a: i for i, a in enumerate(agents)}
    c_idx = {c: j for j, c in enumerate(names)}
    np.add.at(grid, ([a_idx[a] for a in genres["agent"]], [c_idx[c] for c in genres["category"]]),
              genres["count"])
    share = grid / np.maximum(grid.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.5 * len(names) + 3), 0.6 * len(agents) + 2.5))
    im = ax.imshow(share, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(len(agents)), agents)
    ax.set_xlabel("genre / category of recommended items")
    ax.set_title("What each agent recommended: share of recommendations per genre (all seeds)")
    fig.colorbar(im, ax=ax, label="share of the agent's recommendations")
    fig.tight_layout()
    save_figure(fig, path)


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """A parquet file as a dict of numpy columns."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def plot_results(out_dir: str | Path) -> list[Path]:
    """(Re)draw every plot of a results directory; returns the PNG paths written."""
    from banditsim.envs.errors import BanditsimError

    out_dir = Path(out_dir)
    metrics_path = out_dir / "metrics.parquet"
    if not metrics_path.is_file():
        raise BanditsimError(f"{out_dir} is not a finished results directory: no metrics.parquet")
    metrics = read_columns(metrics_path)
    written = []
    for name, fn in (("regret.png", plot_regret), ("feedback_rates.png", plot_feedback_rates),
                     ("session_length.png", plot_session_length)):
        fn(metrics, out_dir / name)
        written.append(out_dir / name)
    if plot_metric_grid(metrics, out_dir / "metrics.png"):
        written.append(out_dir / "metrics.png")
    if plot_fairness(metrics, out_dir / "fairness.png"):
        written.append(out_dir / "fairness.png")
    genres_path = out_dir / "genres.parquet"
    if genres_path.is_file():
        genres = read_columns(genres_path)
        if len(genres["category"]):  # a catalog without categories has nothing to show
            plot_genres(genres, out_dir / "genres.png")
            written.append(out_dir / "genres.png")
    return written
