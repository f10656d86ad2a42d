"""One row of the ``ope`` estimates table: an estimate beside the truth, with its errors, coverage and diagnostics."""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope.intervals import interval_covers


def _finite_or_none(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def estimate_row(label: str, name: str, est, truth: float | None, diag, seconds: float, note: str = "") -> dict:
    """One table row: the estimate (``None`` values where there is none), errors, covers, diagnostics.

    ``covers`` is ``None`` without a truth, without an estimate, for an infinite/undefined interval
    end, and for an interval that excludes model bias; ``note`` says why when it is not obvious.
    """
    value = None if est is None else _finite_or_none(est.value)
    low = None if est is None else _finite_or_none(est.low)
    high = None if est is None else _finite_or_none(est.high)
    bias_note = est is not None and est.excludes_model_bias
    if bias_note and not note:
        note = "interval excludes model bias"
    if est is not None and (low is None or high is None) and not note:
        note = "interval undefined (infinite end)"
    err = None if value is None or truth is None else value - truth
    return {"target": label, "estimator": name, "method": None if est is None else est.method,
            "estimate": value, "low": low, "high": high, "truth": truth, "abs_error": err,
            "rel_error": None if err is None or not truth else err / abs(truth),
            "covers": None if est is None else interval_covers(low, high, truth, bias_note),
            "interval": None if est is None else est.interval_kind, "excludes_model_bias": bool(bias_note),
            "note": note, "users": None if est is None else est.n_clusters, **diag.as_dict(), "seconds": seconds}
