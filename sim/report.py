"""The summary table printed at the end of a run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sim.summary import SUMMARY_FIGURES, format_interval

COLUMNS = {
    "mean_reward": "mean reward",
    "positive_rate": "positive rate",
    "negative_rate": "negative rate",
    "sessions_ended": "sessions ended /1k",
    "cumulative_regret": "cum. regret / user",
}


def summary_table(summary: dict) -> Table:
    """A rich table: one row per agent, each figure as mean [95% interval over seeds]."""
    table = Table(title="per agent: mean ± half-width of the 95% interval over seeds")
    table.add_column("agent")
    for key in SUMMARY_FIGURES:
        table.add_column(COLUMNS[key], justify="right")
    best = min(summary, key=lambda a: summary[a]["cumulative_regret"]["mean"])
    for agent, figs in summary.items():
        digits = {"sessions_ended": 1, "cumulative_regret": 2}
        cells = [format_interval(figs[k], digits.get(k, 3)) for k in SUMMARY_FIGURES]
        table.add_row(f"[bold]{agent}[/]" if agent == best else agent, *cells)
    return table


def print_summary(summary: dict, console: Console | None = None) -> None:
    """Print :func:`summary_table` (lowest regret in bold)."""
    (console or Console()).print(summary_table(summary))
