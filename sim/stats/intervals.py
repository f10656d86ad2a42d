"""Confidence intervals over seeds."""

from __future__ import annotations

import numpy as np


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of ``values`` (NaN bounds for fewer than 2 values).

    Examples
    --------
    >>> m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (2.0, -0.484, 4.484)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    m = float(x.mean()) if x.size else float("nan")
    if x.size < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - half, m + half


def band(matrix: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean and t-interval of a (n_seeds, n_steps) matrix, vectorised.

    >>> m, lo, hi = band(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> m.tolist()
    [1.0, 2.0]
    """
    from scipy import stats

    x = np.asarray(matrix, dtype=float)
    m = x.mean(axis=0)
    if x.shape[0] < 2:
        return m, m.copy(), m.copy()
    half = stats.t.ppf(0.5 + confidence / 2, df=x.shape[0] - 1) * x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    return m, m - half, m + half


def error_bars(value, low, high) -> np.ndarray:
    """Matplotlib ``yerr`` (2, n) for intervals ``[low, high]`` around ``value``: never negative.

    Rounding can put a bound a hair on the wrong side of its point (a Wilson upper bound of
    0.9999999999999999 at a rate of 1.0); such a bar is 0. An undefined or infinite end gets
    no bar (NaN), so a plot never fails or stretches to infinity.

    >>> error_bars([1.0, 0.5], [0.9, 0.4], [0.9999999999999999, np.inf]).tolist()
    [[0.09999999999999998, 0.09999999999999998], [0.0, nan]]
    """
    v, lo, hi = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (value, low, high))
    below, above = v - lo, hi - v
    bars = np.maximum(np.stack([below, above]), 0.0)
    return np.where(np.isfinite(bars), bars, np.nan)
