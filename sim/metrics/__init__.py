"""Metrics: one registry (:mod:`banditsim.sim.metrics.registry`) drives metrics.parquet, summary.json, the
printed table, the plots, the segment tables and the A/B guardrails.

Start at :data:`METRICS` (name → :class:`Metric`) and :func:`register_metric`; the built-ins are
in :mod:`banditsim.sim.metrics.builtin`, what a step function sees in :mod:`banditsim.sim.metrics.cell_state`, and
the per-cell driver called by :mod:`banditsim.sim.run.play` in :mod:`banditsim.sim.metrics.tracker`.
"""

from banditsim.sim.metrics.registry import (
    METRICS,
    Metric,
    ab_metric_names,
    ab_metrics,
    reduce_steps,
    register_metric,
    unregister_metric,
)
from banditsim.sim.metrics.cell_state import TRUTH_EVERY, CellState, StepView, Truth
import banditsim.sim.metrics.builtin  # noqa: F401,E402  (registers the built-in metrics)

__all__ = ["METRICS", "Metric", "register_metric", "unregister_metric", "ab_metrics", "ab_metric_names", "reduce_steps",
           "StepView", "CellState", "Truth", "TRUTH_EVERY"]
