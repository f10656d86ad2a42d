"""The summary table printed at the end of a run: one row per registered metric, one column per agent.

:func:`table_rows` is the same content as data (label, formatted figures, winner) for any other
view of the summary (the HTML report reads it too).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from banditsim.sim.metrics import METRICS
from banditsim.sim.report.summary import format_interval


def winner(summary: dict, name: str) -> str | None:
    """The agent with the best mean of metric ``name`` (by its ``higher_is_better``); None when the
    metric has no direction or fewer than two agents define it.

    >>> winner({"a": {"mean_reward": {"mean": 0.2}}, "b": {"mean_reward": {"mean": 0.5}}}, "mean_reward")
    'b'
    """
    metric = METRICS[name]
    means = {a: figs[name]["mean"] for a, figs in summary.items()
             if name in figs and figs[name]["mean"] is not None}
    if metric.higher_is_better is None or len(means) < 2:
        return None
    pick = max if metric.higher_is_better else min
    return pick(means, key=means.get)


def table_rows(summary: dict) -> list[dict]:
    """One dict per registered metric present in ``summary``, in registry order: ``name``, ``label``,
    ``group``, ``higher_is_better``, ``cells`` (agent → ``mean ± half-width`` text, ``—`` if the
    agent lacks it) and ``winner``."""
    rows = []
    for name, m in METRICS.items():
        if not any(name in figs for figs in summary.values()):
            continue
        cells = {a: format_interval(figs[name], m.digits) if name in figs else "—" for a, figs in summary.items()}
        rows.append({"name": name, "label": m.label, "group": m.group, "higher_is_better": m.higher_is_better,
                     "cells": cells, "winner": winner(summary, name)})
    return rows


def summary_table(summary: dict) -> Table:
    """A rich table: rows are metrics (↑ higher is better, ↓ lower), columns agents; each figure is
    mean ± half-width of the 95% interval over seeds; the best agent per metric in bold."""
    table = Table(title="mean ± half-width of the 95% interval over seeds; best per metric in bold")
    table.add_column("metric")
    agents = list(summary)
    for agent in agents:
        table.add_column(agent, justify="right")
    for row in table_rows(summary):
        arrow = {True: " ↑", False: " ↓"}.get(row["higher_is_better"], "")
        cells = [f"[bold]{row['cells'][a]}[/]" if a == row["winner"] else row["cells"][a] for a in agents]
        table.add_row(row["label"] + arrow, *cells)
    return table


def print_summary(summary: dict, console: Console | None = None) -> None:
    """Print :func:`summary_table`."""
    (console or Console()).print(summary_table(summary))
