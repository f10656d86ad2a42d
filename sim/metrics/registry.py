"""The metric registry: one entry per metric drives metrics.parquet, summary.json, the printed
table, the plots, the segment tables and the A/B guardrails.

A metric is a name, a label, a per-step vectorised function, how its steps reduce to one figure
per (agent, seed), how many digits to print and whether higher is better. Seeds always reduce to
a mean with a 95% Student-t interval (:func:`banditsim.sim.stats.intervals.mean_ci`).

Adding a metric is one function and one line::

    from banditsim.sim.metrics import register_metric

    def _long_items(v):                     # v: banditsim.sim.metrics.StepView of one step
        return (v.result.kind == 5).astype(float)   # (B,) per user row, or a float for the step

    register_metric("like_share", "share of likes", _long_items, digits=3, higher_is_better=True)

The step function gets a :class:`StepView` and returns

- a ``(B,)`` array, one value per user row (NaN where undefined for that row): the step's value
  is the mean over defined rows and the column ``<name>:n`` counts them; ``reduce="mean"`` then
  pools every defined (row, step) pair; such metrics can be split by user segment;
- a float for the whole step (NaN: not computed this step); ``reduce="mean"`` averages the steps
  where it is defined, ``reduce="last"`` takes the last defined step (running figures such as
  coverage), ``reduce="sum"`` adds them;
- ``applies(cell)`` (a :class:`banditsim.sim.metrics.cell_state.CellState`) decides once per cell whether
  the metric exists on this run at all (NDCG needs slates): a metric that does not apply has no
  column and is absent from summary.json, never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

REDUCERS = ("mean", "last", "sum")
RESERVED = ("segments", "fairness")  # keys of an agent's summary.json entry that are not metrics


def always(cell) -> bool:
    """A metric that exists on every run."""
    return True


@dataclass(frozen=True)
class Metric:
    """One registered metric (see the module docstring).

    ``column``: the metrics.parquet column (default ``name``); ``scale`` multiplies the per-seed
    figure (sessions ended per 1,000 recommendations); ``per_row``: the function returns one
    value per user row (needed for segments and A/B tests); ``segment``: split by user segment
    (a headline metric); ``ab``: the name of its per-user outcome in simulated A/B tests (None:
    not an A/B metric; its function may read only ``v.result`` and ``v.slates``); ``plot``: drawn
    over time in ``metrics.png``; ``group``: a heading the table and the report sort by;
    ``needs_truth``: reads ``v.truth`` (the exact expected reward of every item, computed only on
    every :data:`banditsim.sim.metrics.cell_state.TRUTH_EVERY`-th step; ``v.truth`` is None on the others).
    """

    name: str
    label: str
    step: Callable
    reduce: str = "mean"
    digits: int = 3
    higher_is_better: bool | None = True
    column: str | None = None
    scale: float = 1.0
    per_row: bool = True
    segment: bool = False
    ab: str | None = None
    plot: bool = True
    group: str = "outcome"
    applies: Callable = field(default=always)
    needs_truth: bool = False
    description: str = ""

    @property
    def col(self) -> str:
        """Name of the per-step column in metrics.parquet."""
        return self.column or self.name


METRICS: dict[str, Metric] = {}
"""name → :class:`Metric`, in registration (display) order."""


def register_metric(name: str, label: str, step: Callable, *, replace: bool = False, **options) -> Metric:
    """Add a metric to :data:`METRICS` (options: the fields of :class:`Metric`) and return it.

    >>> m = register_metric("doc_example", "example", lambda v: 1.0, per_row=False, reduce="last")
    >>> METRICS["doc_example"].reduce
    'last'
    >>> unregister_metric("doc_example")
    """
    if name in METRICS and not replace:
        raise ValueError(f"metric {name!r} is already registered")
    if options.get("reduce", "mean") not in REDUCERS:
        raise ValueError(f"metric {name!r}: reduce must be one of {', '.join(REDUCERS)}")
    if ":" in name or "=" in name or name in RESERVED:
        raise ValueError(f"metric name {name!r} may not contain ':' or '=' nor be one of {', '.join(RESERVED)}")
    metric = Metric(name=name, label=label, step=step, **options)
    METRICS[name] = metric
    return metric


def unregister_metric(name: str) -> None:
    """Remove a metric (tests that register their own)."""
    METRICS.pop(name, None)


def ab_metrics() -> list[Metric]:
    """The metrics simulated A/B tests report per user (those with an ``ab`` name), in order."""
    return [m for m in METRICS.values() if m.ab is not None]


def ab_metric_names() -> tuple[str, ...]:
    """The per-user outcomes of simulated A/B tests, read from :data:`METRICS` at each call (a metric
    registered after import is one of them): by default reward (mean reward per step), positive_rate /
    negative_rate (share of steps with positive / negative feedback) and session_end_rate (sessions
    ended per step).

    >>> ab_metric_names()
    ('reward', 'positive_rate', 'negative_rate', 'session_end_rate')
    """
    return tuple(m.ab for m in ab_metrics())


def reduce_steps(metric: Metric, values: np.ndarray, counts: np.ndarray | None, steps: np.ndarray) -> float | None:
    """One figure of one (agent, seed) cell from its per-step ``values`` (and per-row ``counts``).

    None where the metric was never defined in the cell (e.g. no session ended), never NaN.

    >>> m = Metric("x", "x", step=None)
    >>> reduce_steps(m, np.array([0.5, np.nan, 1.0]), np.array([2, 0, 1]), np.array([0, 1, 2]))
    0.6666666666666666
    >>> reduce_steps(Metric("c", "c", step=None, reduce="last"), np.array([0.1, 0.3, np.nan]), None, np.arange(3))
    0.3
    """
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(steps, kind="stable")
    values = values[order]
    ok = np.isfinite(values)
    if counts is not None:
        counts = np.asarray(counts, dtype=np.float64)[order]
        ok &= counts > 0
    if not ok.any():
        return None
    if metric.reduce == "last":
        out = values[np.flatnonzero(ok)[-1]]
    elif metric.reduce == "sum":
        out = values[ok].sum()
    elif counts is not None:
        out = (values[ok] * counts[ok]).sum() / counts[ok].sum()
    else:
        out = values[ok].mean()
    return float(out * metric.scale)
