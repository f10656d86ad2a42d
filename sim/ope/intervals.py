"""Point estimates with 95% intervals: :class:`Estimate`, CLT and Poisson-bootstrap intervals.

Every estimator reduces to per-unit terms (rounds, or slates for slate estimators): the
estimate is ``sum(numer) / sum(denom)`` (``denom`` is all ones for plain means, the
importance weights for self-normalised ones). Two interval kinds:

- ``"clt"`` (default): normal interval from the sample variance of the terms; for ratios,
  the delta-method (linearised) terms ``(numer - V * denom) / mean(denom)``.
- ``"bootstrap"``: Poisson bootstrap, vectorised: each replicate reweights every unit by
  an independent Poisson(1) count; counts are drawn in blocks of units (a loop over
  blocks of 65,536 units, never over units) by a 16-bit inverse-CDF table lookup (one
  table read per count, cheaper than ``Generator.poisson``'s sampling) and reduced with one
  matrix product per block. Its cost grows with the replicates; CLT is one pass over the data
  (timings: bench/README.md).

Cluster-robust intervals (``cluster=`` one id per row, e.g. the user): rows of one user are
not independent, so both kinds work on per-cluster sums. ``numer`` and ``denom`` (the row
count for plain means) are summed per cluster, and the estimate — unchanged — is the ratio
of their totals. The CLT interval is then the cluster-robust sandwich (CR1: the delta-method
terms summed per cluster, variance scaled by G/(G-1)) with a Student-t quantile on G - 1
degrees of freedom (G clusters); the bootstrap resamples whole clusters. Without ``cluster``
every row is its own cluster and the CLT interval is the usual normal one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, poisson, t as student_t

from banditsim.sim.ope.log import OPEInputError

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
    n_clusters: int | None = None
    excludes_model_bias: bool = False

    def __str__(self) -> str:
        note = " (excludes model bias)" if self.excludes_model_bias else ""
        return f"{self.method}: {self.value:.6g} [{self.low:.6g}, {self.high:.6g}] ({self.interval_kind}){note}"

    def covers(self, truth: float) -> bool | None:
        """Whether the interval contains ``truth``; ``None`` when that cannot be claimed.

        ``None`` for an interval with an infinite or undefined end (it says nothing) and for
        one that excludes the reward model's bias (its width is not the estimate's error).

        >>> Estimate(0.5, 0.4, 0.6, "ips", "clt").covers(0.45)
        True
        >>> Estimate(0.5, -np.inf, np.inf, "ips", "clt").covers(0.45) is None
        True
        """
        return interval_covers(self.low, self.high, truth, self.excludes_model_bias)


def interval_covers(low, high, truth, excludes_model_bias: bool = False) -> bool | None:
    """``low <= truth <= high`` as a bool, or ``None`` if an end is not finite (or missing)
    or the interval excludes model bias: such an interval is never counted as covering.

    >>> interval_covers(0.1, 0.3, 0.2), interval_covers(0.1, 0.3, 0.5), interval_covers(float("nan"), 1.0, 0.5)
    (True, False, None)
    """
    if excludes_model_bias or low is None or high is None or truth is None:
        return None
    if not (np.isfinite(low) and np.isfinite(high) and np.isfinite(truth)):
        return None
    return bool(low <= truth <= high)


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (float, int)) and 0.0 < alpha < 1.0):
        raise OPEInputError(f"alpha must be a number in (0, 1), got {alpha!r}")
    return float(alpha)


def cluster_sums(numer: np.ndarray, denom: np.ndarray | None, cluster) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of ``numer`` and of ``denom`` (row counts where ``denom`` is None).

    >>> n, d = cluster_sums(np.array([1.0, 2.0, 3.0]), None, np.array([7, 9, 7]))
    >>> n.tolist(), d.tolist()
    ([4.0, 2.0], [2.0, 1.0])
    """
    cluster = np.asarray(cluster)
    if cluster.shape != numer.shape:
        raise OPEInputError(f"cluster has shape {cluster.shape}, expected {numer.shape} (one id per row)")
    _, idx = np.unique(cluster, return_inverse=True)
    den = np.ones(numer.shape[0]) if denom is None else denom
    return np.bincount(idx, weights=numer), np.bincount(idx, weights=den)


def clt_interval(numer: np.ndarray, denom: np.ndarray | None = None, alpha: float = 0.05, cluster=None):
    """Return ``(value, low, high)`` for ``sum(numer)/sum(denom)`` by the central limit theorem.

    With ``cluster`` (one id per row): the cluster-robust sandwich interval with a t quantile
    on G - 1 degrees of freedom (see the module docstring). Fewer than two units give an
    infinite interval.

    Examples
    --------
    >>> v, lo, hi = clt_interval(np.array([0.0, 1.0, 0.0, 1.0]))
    >>> v, round(lo, 3), round(hi, 3)
    (0.5, -0.066, 1.066)
    >>> v, lo, hi = clt_interval(np.array([0.0, 1.0, 0.0, 1.0]), cluster=[0, 0, 1, 1])
    >>> v, lo, hi                                   # two identical users: no spread between them
    (0.5, 0.5, 0.5)
    """
    alpha = _check_alpha(alpha)
    if cluster is not None:
        numer, denom = cluster_sums(numer, denom, cluster)
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
    q = 1.0 - alpha / 2.0
    crit = float(norm.ppf(q)) if cluster is None else float(student_t.ppf(q, max(n - 1, 1)))
    return value, value - crit * se, value + crit * se


def bootstrap_interval(
    numer: np.ndarray,
    denom: np.ndarray | None = None,
    alpha: float = 0.05,
    n_bootstrap: int = 200,
    random_state: int | np.random.Generator | None = None,
    block: int = 65_536,
    cluster=None,
):
    """Return ``(value, low, high)`` for ``sum(numer)/sum(denom)`` by the Poisson bootstrap.

    Percentile interval over ``n_bootstrap`` replicates; vectorised over replicates. With
    ``cluster`` (one id per row) whole clusters are reweighted (cluster bootstrap).

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
    if cluster is not None:
        numer, denom = cluster_sums(numer, denom, cluster)
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
    cluster=None,
    excludes_model_bias: bool = False,
) -> Estimate:
    """Build an :class:`Estimate` of ``sum(numer)/sum(denom)`` with the requested interval kind
    (cluster-robust when ``cluster`` gives one id per row)."""
    if interval == "clt":
        value, low, high = clt_interval(numer, denom, alpha, cluster)
    elif interval == "bootstrap":
        value, low, high = bootstrap_interval(numer, denom, alpha, n_bootstrap, random_state, cluster=cluster)
    else:
        raise OPEInputError(f"interval must be one of {INTERVAL_KINDS}, got {interval!r}")
    n_clusters = None if cluster is None else int(np.unique(np.asarray(cluster)).size)
    return Estimate(value=value, low=low, high=high, method=method, interval_kind=interval,
                    n_clusters=n_clusters, excludes_model_bias=excludes_model_bias)
