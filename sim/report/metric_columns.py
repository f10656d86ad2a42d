"""Which metrics a report shows, with their labels, digits and direction, from the metric registry.

The figures come from the results folder (``summary.json``, ``metrics.parquet``); how to show each
one (label, digits, higher or lower is better, plotted or not) comes from the registry
(:mod:`banditsim.sim.metrics`). A figure of a folder that the registry no longer knows is still shown,
under its own name, with no winner (its direction is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """How the report shows one metric."""

    name: str
    label: str
    digits: int = 3
    higher_is_better: bool | None = None
    column: str | None = None
    plot: bool = False
    group: str = "other"
    reduce: str = "mean"
    scale: float = 1.0


def registry() -> dict:
    """name → registered metric (``banditsim.sim.metrics``), in display order."""
    from banditsim.sim.metrics import METRICS

    return dict(METRICS)


def shown_metrics(figure_names) -> list[Shown]:
    """The metrics among ``figure_names`` (the figures a summary holds), registry order first."""
    names = list(dict.fromkeys(figure_names))
    out = []
    for m in registry().values():
        if m.name in names:
            out.append(_shown(m))
    known = {s.name for s in out}
    out += [Shown(n, n) for n in names if n not in known]
    return out


def plotted_metrics(columns) -> list[Shown]:
    """The registered metrics drawn over time whose per-step column is in ``columns``."""
    have = set(columns)
    return [_shown(m) for m in registry().values() if m.plot and _shown(m).column in have]


def _shown(m) -> Shown:
    return Shown(m.name, m.label, m.digits, m.higher_is_better, m.col, m.plot, m.group, m.reduce, m.scale)


def winner(values: dict[str, float | None], higher_is_better: bool | None) -> str | None:
    """The agent with the best mean, or None (direction unknown, no figures, or a tie for best).

    >>> winner({"a": 0.2, "b": 0.5, "c": None}, True), winner({"a": 0.2, "b": 0.5}, False)
    ('b', 'a')
    >>> winner({"a": 0.5, "b": 0.5}, True) is None, winner({"a": 1.0}, None) is None
    (True, True)
    """
    import math

    if higher_is_better is None:
        return None
    ok = {a: v for a, v in values.items() if v is not None and math.isfinite(v)}
    if not ok:
        return None
    best = max(ok.values()) if higher_is_better else min(ok.values())
    top = [a for a, v in ok.items() if v == best]
    return top[0] if len(top) == 1 else None
