"""Per-agent summary of a sweep: each figure as a mean over seeds with a 95% interval."""

from __future__ import annotations

import numpy as np

from sim.intervals import mean_ci

SUMMARY_FIGURES = {
    "mean_reward": "mean reward per recommendation",
    "positive_rate": "share of positive feedback (click/like/save)",
    "negative_rate": "share of negative feedback (skip/dislike/block)",
    "sessions_ended": "sessions ended (patience ran out), per 1,000 recommendations",
    "cumulative_regret": "cumulative expected regret per user at the horizon",
}


def per_seed_figures(metrics: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, float]:
    """The summary figures of one (agent, seed) cell from its metric rows."""
    users = metrics["users"][rows].astype(float)
    total = users.sum()
    order = np.argsort(metrics["step"][rows])
    return {
        "mean_reward": float((metrics["reward"][rows] * users).sum() / total),
        "positive_rate": float((metrics["positive_rate"][rows] * users).sum() / total),
        "negative_rate": float((metrics["negative_rate"][rows] * users).sum() / total),
        "sessions_ended": float(metrics["sessions_ended"][rows].sum() * 1000.0 / total),
        "cumulative_regret": float(metrics["cumulative_regret"][rows][order][-1]),
    }


def summarise(metrics: dict[str, np.ndarray]) -> dict[str, dict]:
    """agent → figure → {mean, low, high, per_seed}: the content of ``summary.json``.

    Examples
    --------
    >>> m = {"agent": np.array(["a", "a"]), "seed": np.array([0, 1]), "step": np.array([0, 0]),
    ...      "users": np.array([10, 10]), "reward": np.array([0.5, 0.7]),
    ...      "positive_rate": np.array([0.5, 0.7]), "negative_rate": np.array([0.1, 0.1]),
    ...      "sessions_ended": np.array([0, 1]), "cumulative_regret": np.array([1.0, 2.0])}
    >>> round(summarise(m)["a"]["mean_reward"]["mean"], 3)
    0.6
    """
    out: dict[str, dict] = {}
    for agent in dict.fromkeys(metrics["agent"].tolist()):
        a_rows = metrics["agent"] == agent
        seeds = np.unique(metrics["seed"][a_rows])
        per_seed = [per_seed_figures(metrics, np.flatnonzero(a_rows & (metrics["seed"] == s)))
                    for s in seeds]
        out[agent] = {}
        for key in SUMMARY_FIGURES:
            values = [f[key] for f in per_seed]
            m, lo, hi = mean_ci(values)
            out[agent][key] = {"mean": m, "low": lo, "high": hi, "per_seed": values}
    return out


def format_interval(fig: dict, digits: int = 3) -> str:
    """``mean ± half-width`` of the 95% interval (just the mean with one seed).

    >>> format_interval({"mean": 0.5, "low": 0.4, "high": 0.6}, 2)
    '0.50 ± 0.10'
    """
    if np.isnan(fig["low"]):
        return f"{fig['mean']:.{digits}f}"
    return f"{fig['mean']:.{digits}f} ± {(fig['high'] - fig['low']) / 2:.{digits}f}"
