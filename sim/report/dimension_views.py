"""Notebook views of a run's summary beyond regret: small multiples across evaluation dimensions
(accuracy, diversity, coverage, novelty) and a metric per user segment.

Both read ``summary.json``'s ``agents`` part (:func:`banditsim.sim.report.summary.summarise`) and take labels and
directions from the metric registry (:mod:`banditsim.sim.metrics`).
"""

from __future__ import annotations

import numpy as np

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "accuracy": ("ndcg_at_k", "rank_percentile", "hit_at_1"),
    "diversity": ("intra_list_distance", "session_diversity"),
    "coverage": ("coverage",),
    "novelty": ("novelty",),
}
"""Each dimension and the metrics that can stand for it, first available first (slate metrics
exist on slate runs only, session diversity once a session has ended)."""


def pick_metrics(agents: dict, dimensions: dict[str, tuple[str, ...]] = DIMENSIONS) -> dict[str, str]:
    """dimension → the first of its metrics that every agent's summary holds (dimensions with none are left out).

    >>> pick_metrics({"a": {"hit_at_1": {}, "coverage": {}}, "b": {"hit_at_1": {}, "coverage": {}}})
    {'accuracy': 'hit_at_1', 'coverage': 'coverage'}
    """
    out = {}
    for dim, names in dimensions.items():
        name = next((n for n in names if agents and all(n in figs for figs in agents.values())), None)
        if name is not None:
            out[dim] = name
    return out


def _label(name: str) -> str:
    from banditsim.sim.metrics import METRICS

    m = METRICS.get(name)
    if m is None:
        return name
    arrow = " ↑" if m.higher_is_better else " ↓" if m.higher_is_better is False else ""
    return m.label + arrow


def _errors(figs: list[dict]) -> np.ndarray:
    """(2, n) error bars from summary figures; 0 where an interval bound is undefined (one seed)."""
    m = np.array([f["mean"] for f in figs], dtype=float)
    lo = np.array([np.nan if f.get("low") is None else f["low"] for f in figs], dtype=float)
    hi = np.array([np.nan if f.get("high") is None else f["high"] for f in figs], dtype=float)
    return np.nan_to_num(np.vstack([m - lo, hi - m]), nan=0.0)


def plot_dimensions(agents: dict, dimensions: dict[str, tuple[str, ...]] = DIMENSIONS):
    """Small multiples: one panel per dimension, one bar per agent (mean over seeds, 95% interval)."""
    from banditsim.sim.report.plots import _matplotlib

    plt = _matplotlib()
    chosen = pick_metrics(agents, dimensions)
    if not chosen:
        raise ValueError("the summary holds none of the dimension metrics: "
                         + ", ".join(n for names in dimensions.values() for n in names))
    names = list(agents)
    fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen) + 1, 3.4), squeeze=False)
    for ax, (dim, metric) in zip(axes[0], chosen.items()):
        figs = [agents[a][metric] for a in names]
        ax.bar(np.arange(len(names)), [f["mean"] for f in figs], yerr=_errors(figs), capsize=3,
               color=[f"C{i}" for i in range(len(names))])
        ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{dim}\n{_label(metric)}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Agents across evaluation dimensions (mean over seeds, 95% interval)", fontsize=10)
    fig.tight_layout()
    return fig


def segment_grid(agents: dict, feature: str, metric: str) -> tuple[list[str], list[str], np.ndarray]:
    """(groups, agents, means (groups × agents), NaN where undefined) of ``metric`` per ``feature`` group.

    >>> g = {"a": {"segments": {"age": {"<18": {"m": {"mean": 0.5}}}}}, "b": {"segments": {}}}
    >>> segment_grid(g, "age", "m")
    (['<18'], ['a', 'b'], array([[0.5, nan]]))
    """
    names = list(agents)
    groups = list(dict.fromkeys(g for figs in agents.values()
                                for g in ((figs.get("segments") or {}).get(feature) or {})))
    grid = np.full((len(groups), len(names)), np.nan)
    for j, a in enumerate(names):
        table = (agents[a].get("segments") or {}).get(feature) or {}
        for i, g in enumerate(groups):
            fig = (table.get(g) or {}).get(metric) or {}
            if fig.get("mean") is not None:
                grid[i, j] = fig["mean"]
    return groups, names, grid


def plot_segments(agents: dict, feature: str, metric: str = "mean_reward"):
    """Heat map of ``metric`` per ``feature`` group (rows) and agent (columns), values written in."""
    from banditsim.sim.report.plots import _matplotlib

    plt = _matplotlib()
    groups, names, grid = segment_grid(agents, feature, metric)
    if not groups:
        raise ValueError(f"the summary has no segments by {feature!r}")
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2.5, 0.32 * len(groups) + 1.6))
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < np.nanmean(grid) else "black")
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(groups)), groups, fontsize=8)
    ax.set_title(f"{_label(metric)} by {feature} (mean over seeds)", fontsize=10)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig
