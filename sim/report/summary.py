"""Per-agent summary of a sweep, driven by the metric registry (:mod:`banditsim.sim.metrics`).

Every registered metric with a column in metrics.parquet reduces over steps to one figure per
(agent, seed) (:func:`banditsim.sim.metrics.reduce_steps`), then over seeds to a mean with a 95% interval
(:func:`banditsim.sim.stats.intervals.mean_ci`). A metric undefined on a run (NDCG with single items, session
diversity when no session ended) is absent, never NaN; an interval bound that does not exist (one
seed) is null. Each agent's entry also holds ``segments`` (feature → group → metric → figure) and
``fairness`` (grouping → group → exposure share with its interval, and the catalog share).
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.stats.intervals import mean_ci
from banditsim.sim.metrics import METRICS, reduce_steps


def _figure(values: list[float]) -> dict:
    m, lo, hi = mean_ci(values)
    clean = lambda x: None if not np.isfinite(x) else float(x)  # noqa: E731  strict JSON: null, never NaN
    return {"mean": clean(m), "low": clean(lo), "high": clean(hi), "per_seed": [float(v) for v in values]}


def summary_figures() -> dict[str, str]:
    """name → description of every registered metric (the keys summary.json may hold)."""
    return {name: m.description or m.label for name, m in METRICS.items()}


SUMMARY_FIGURES = summary_figures()  # the built-ins, for readers that want a fixed list


def _cells(metrics: dict[str, np.ndarray]):
    """(agent, [rows of each seed]) in first-appearance order."""
    for agent in dict.fromkeys(metrics["agent"].tolist()):
        a_rows = metrics["agent"] == agent
        seeds = np.unique(metrics["seed"][a_rows])
        yield agent, [np.flatnonzero(a_rows & (metrics["seed"] == s)) for s in seeds]


def _reduce(metric, metrics, column: str, rows: np.ndarray) -> float | None:
    counts = metrics.get(column + ":n")
    return reduce_steps(metric, metrics[column][rows], None if counts is None else counts[rows],
                        metrics["step"][rows])


def per_seed_figures(metrics: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, float]:
    """The figures of one (agent, seed) cell from its metric rows (metrics it does not define are left out)."""
    out = {}
    for name, m in METRICS.items():
        if m.col in metrics:
            value = _reduce(m, metrics, m.col, rows)
            if value is not None:
                out[name] = value
    return out


def summarise(metrics: dict[str, np.ndarray]) -> dict[str, dict]:
    """agent → metric → {mean, low, high, per_seed}, plus ``segments`` and ``fairness`` per agent:
    the ``agents`` part of ``summary.json``.

    A metric enters an agent's summary when every seed defines it.

    Examples
    --------
    >>> m = {"agent": np.array(["a", "a"]), "seed": np.array([0, 1]), "step": np.array([0, 0]),
    ...      "users": np.array([10, 10]), "reward": np.array([0.5, 0.7]), "reward:n": np.array([10, 10]),
    ...      "regret": np.array([1.0, 2.0])}
    >>> s = summarise(m)["a"]
    >>> round(s["mean_reward"]["mean"], 3), s["cumulative_regret"]["per_seed"], s["segments"]
    (0.6, [1.0, 2.0], {})
    """
    seg, fair = segments(metrics), fairness(metrics)
    out: dict[str, dict] = {}
    for agent, seed_rows in _cells(metrics):
        per_seed = [per_seed_figures(metrics, rows) for rows in seed_rows]
        out[agent] = {name: _figure([f[name] for f in per_seed]) for name in METRICS
                      if all(name in f for f in per_seed)}
        out[agent]["segments"] = seg[agent]
        out[agent]["fairness"] = fair[agent]
        out[agent].update(in_flight_figures(metrics, seed_rows))  # answers never delivered (delays)
    return out


def _prefixed(metrics: dict, prefix: str) -> list[str]:
    return [c for c in metrics if c.startswith(prefix) and not c.endswith(":n")]


def segments(metrics: dict[str, np.ndarray]) -> dict:
    """agent → feature → group → metric → figure (95% interval over seeds) from the ``seg:`` columns."""
    out: dict = {}
    cols = _prefixed(metrics, "seg:")
    for agent, seed_rows in _cells(metrics):
        table: dict = {}
        for col in cols:
            feature_group, name = col[4:].rsplit(":", 1)
            feature, group = feature_group.split("=", 1)
            metric = METRICS.get(name)
            if metric is None:
                continue
            values = [_reduce(metric, metrics, col, rows) for rows in seed_rows]
            if any(v is None for v in values):
                continue
            table.setdefault(feature, {}).setdefault(group, {})[name] = _figure(values)
        out[agent] = table
    return out


def fairness(metrics: dict[str, np.ndarray]) -> dict:
    """agent → grouping → group → {exposure_share (interval over seeds), catalog_share} at the horizon."""
    out: dict = {}
    cols = _prefixed(metrics, "exposure:")
    for agent, seed_rows in _cells(metrics):
        table: dict = {}
        for col in cols:
            grouping, group = col[len("exposure:"):].split("=", 1)
            last = [rows[np.argmax(metrics["step"][rows])] for rows in seed_rows]
            values = [float(metrics[col][r]) for r in last]
            if not all(np.isfinite(values)):
                continue
            catalog = float(metrics["catalog:" + col[len("exposure:"):]][last[0]])
            table.setdefault(grouping, {})[group] = {"exposure_share": _figure(values), "catalog_share": catalog}
        out[agent] = table
    return out


def metric_definitions(summary: dict) -> dict:
    """name → {label, description, digits, higher_is_better, group} of the metrics in ``summary``."""
    shown = {n for figs in summary.values() for n in figs}
    return {n: {"label": m.label, "description": m.description, "digits": m.digits,
                "higher_is_better": m.higher_is_better, "group": m.group}
            for n, m in METRICS.items() if n in shown}


def format_interval(fig: dict, digits: int = 3) -> str:
    """``mean ± half-width`` of the 95% interval (just the mean with one seed; ``—`` when undefined).

    >>> format_interval({"mean": 0.5, "low": 0.4, "high": 0.6}, 2)
    '0.50 ± 0.10'
    >>> format_interval({"mean": 0.5, "low": None, "high": None}, 2)
    '0.50'
    """
    if fig.get("mean") is None:
        return "—"
    low, high = fig.get("low"), fig.get("high")
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return f"{fig['mean']:.{digits}f}"
    return f"{fig['mean']:.{digits}f} ± {(high - low) / 2:.{digits}f}"


def in_flight_figures(metrics: dict[str, np.ndarray], seed_rows: list[np.ndarray]) -> dict[str, dict]:
    """``{"feedback_in_flight": {mean, low, high, per_seed}}``: the answers of one agent that never
    reached it (in flight after the last step of each seed), with a 95% interval over seeds, for
    ``summary.json``; empty when none was in flight (no delays) or metrics.parquet has no such column.

    >>> m = {"step": np.array([0, 1, 0, 1]), "feedback_in_flight": np.array([3, 5, 2, 4])}
    >>> in_flight_figures(m, [np.array([0, 1]), np.array([2, 3])])["feedback_in_flight"]["per_seed"]
    [5.0, 4.0]
    """
    column = metrics.get("feedback_in_flight")
    if column is None:
        return {}
    last = [float(column[rows[np.argmax(metrics["step"][rows])]]) for rows in seed_rows if rows.size]
    if not any(last):
        return {}
    return {"feedback_in_flight": _figure(last)}
