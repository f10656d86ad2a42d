"""Point estimates with 95% intervals: :class:`Estimate`, CLT and Poisson-bootstrap intervals.

Every estimator reduces to per-unit terms (rounds, or slates for slate estimators): the
estimate is ``sum(numer) / sum(denom)`` (``denom`` is all ones for plain means, the
importance weights for self-normalised ones). Two interval kinds:

- ``"clt"`` (default): normal interval from the sample variance of the terms; for ratios,
  the delta-method (linearised) terms ``(numer - V * denom) / mean(denom)``.
- ``"bootstrap"``: Poisson bootstrap, vectorised: each replicate reweights every unit by
  an independent Poisson(1) count; counts are drawn in blocks of units (a loop over
  blocks of 65,536 units, never over units) by a 16-bit inverse-CDF table lookup (4x
  faster than ``Generator.poisson``) and reduced with one matrix product per block.
  About 2 s for 200 replicates of 1,000,000 rounds on one core; CLT is ~100x cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, poisson

from sim.ope.log import OPEInputError

INTERVAL_KINDS = ("clt", "bootstrap")

# Poisson(1) counts by inverse CDF on 16-bit uniforms (probability error < 2e-5 per count).
_POISSON_TABLE = np.searchsorted(
    poisson.cdf(np.arange(32), 1.0), (np.arange(65_536) + 0.5) / 65_536, side="right"
).astype(np.float32)


@dataclass(frozen=True)
class Estimate:
    """A policy-value estimate with a two-sided interval.

    Examples
    --------
    >>> e = Estimate(value=0.5, low=0.4, high=0.6, method="ips", interval_kind="clt")
    >>> round(e.high - e.low, 3), e.method
    (0.2, 'ips')
    """

    value: float
    low: float
    high: float
    method: str
    interval_kind: str

    def __str__(self) -> str:
        return f"{self.method}: {self.value:.6g} [{self.low:.6g}, {self.high:.6g}] ({self.interval_kind})"


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (float, int)) and 0.0 < alpha < 1.0):
        raise OPEInputError(f"alpha must be a number in (0, 1), got {alpha!r}")
    return float(alpha)


def clt_interval(numer: np.ndarray, denom: np.ndarray | None = None, alpha: float = 0.05):
    """Return ``(value, low, high)`` for ``sum(numer)/sum(denom)`` by the central limit theorem.

    Examples
    --------
    >>> v, lo, hi = clt_interval(np.array([0.0, 1.0, 0.0, 1.0]))
    >>> v, round(lo, 3), round(hi, 3)
    (0.5, -0.066, 1.066)
    """
    alpha = _check_alpha(alpha)
    n = numer.shape[0]
    if denom is None:
        value = float(numer.mean())
        infl = numer
    else:
        mean_d = float(denom.mean())
        if mean_d <= 0.0:
            raise OPEInputError("importance weights are all zero: the target policy never takes a logged action")
        value = float(numer.mean() / mean_d)
        infl = (numer - value * denom) / mean_d
    se = float(infl.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    z = float(norm.ppf(1.0 - alpha / 2.0))
    return value, value - z * se, value + z * se


def bootstrap_interval(
    numer: np.ndarray,
    denom: np.ndarray | None = None,
    alpha: float = 0.05,
    n_bootstrap: int = 200,
    random_state: int | np.random.Generator | None = None,
    block: int = 65_536,
):
    """Return ``(value, low, high)`` for ``sum(numer)/sum(denom)`` by the Poisson bootstrap.

    Percentile interval over ``n_bootstrap`` replicates; vectorised over replicates.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=2_000)
    >>> v, lo, hi = bootstrap_interval(x, random_state=0)
    >>> lo < v < hi and hi - lo < 0.2
    True
    """
    alpha = _check_alpha(alpha)
    if not (isinstance(n_bootstrap, (int, np.integer)) and n_bootstrap >= 10):
        raise OPEInputError(f"n_bootstrap must be an integer >= 10, got {n_bootstrap!r}")
    rng = np.random.default_rng(random_state)
    n = numer.shape[0]
    den = np.ones(n) if denom is None else denom
    total_den = float(den.sum())
    if total_den <= 0.0:
        raise OPEInputError("importance weights are all zero: the target policy never takes a logged action")
    value = float(numer.sum() / total_den)
    num_b = np.zeros(n_bootstrap)
    den_b = np.zeros(n_bootstrap)
    for start in range(0, n, block):
        stop = min(start + block, n)
        u = rng.integers(0, 65_536, size=(n_bootstrap, stop - start), dtype=np.uint16)
        counts = np.take(_POISSON_TABLE, u)
        num_b += counts @ numer[start:stop].astype(np.float32)
        den_b += counts @ den[start:stop].astype(np.float32)
    ok = den_b > 0
    stats = num_b[ok] / den_b[ok]
    low, high = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return value, float(low), float(high)


def make_estimate(
    method: str,
    numer: np.ndarray,
    denom: np.ndarray | None = None,
    *,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
) -> Estimate:
    """Build an :class:`Estimate` of ``sum(numer)/sum(denom)`` with the requested interval kind."""
    if interval == "clt":
        value, low, high = clt_interval(numer, denom, alpha)
    elif interval == "bootstrap":
        value, low, high = bootstrap_interval(numer, denom, alpha, n_bootstrap, random_state)
    else:
        raise OPEInputError(f"interval must be one of {INTERVAL_KINDS}, got {interval!r}")
    return Estimate(value=value, low=low, high=high, method=method, interval_kind=interval)
