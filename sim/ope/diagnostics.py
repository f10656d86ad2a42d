"""Overlap diagnostics of an off-policy estimate and a one-word verdict per target.

From the importance weights ``w_i = pi_e(a_i | x_i) / pscore_i`` of a target on a log:

- ``ess``: effective sample size ``(sum w)^2 / sum w^2`` (Kish), and ``ess_share = ess / rows``;
- ``ess_users``: the same over per-user (cluster) weight sums — how many users really carry
  the estimate; equals the number of users when every user's weights sum alike;
- ``ess_expected``: the ESS the weights have in expectation, ``(sum_i s_i)^2 / sum_i m_i`` with
  ``m_i = E_b[w_i^2] = sum_a pi_e(a | x_i)^2 / pi_b(a | x_i)`` (over supported actions) —
  known only when the logging distribution is (``second_moment=``). Unlike the observed ESS it
  is not fooled by a log that has not yet drawn the rare, heavy-weight rows;
- ``max_weight``, ``p99_weight`` (99th percentile) and ``mean_weight``;
- ``support``: the share of the target's probability mass on actions the logging policy can
  take, ``mean_i sum_a pi_e(a | x_i) 1{pi_b(a | x_i) > 0}``. Exact when the logging policy's
  distribution is known (the simulator); otherwise estimated by ``mean_i w_i``, whose
  expectation is exactly that mass (``support_exact`` says which).

Verdict, first match wins (thresholds are module constants):

- ``no-support``: ``support < SUPPORT_MIN`` (0.99) — more than 1% of the target's mass falls
  on actions never logged, so IPS/DR are biased by up to that share times the reward range,
  and no interval can show it; with an estimated support, when even its upper 95% bound is
  below 0.99, or when every weight is 0. Such a target gets no number.
- ``low-ess``: ``ess < ESS_MIN`` (100) rows, or ``ess_share < ESS_SHARE_MIN`` (1%), or
  ``ess_users < ESS_USERS_MIN`` (30) users, or ``ess_expected`` below ``ESS_MIN`` or below
  ``ESS_EXPECTED_SHARE_MIN`` (5%) of the rows, or the weights fail to average to their
  expectation: ``|mean_weight - support| > max(WEIGHT_MEAN_TOL, 3 se)`` (0.05; ``se`` the
  cluster-robust standard error of the mean weight; checked only when the support is exact,
  since ``E[w]`` is the supported mass). A handful of rows or users carries the estimate, or
  the log has not yet seen the rare, heavy-weight rows that carry much of the target's value
  (the observed weights then look tame, their ESS too, but they average well below 1 and IPS
  is far off); either way a normal interval's coverage falls short of 95% (shown by
  ``bench/ope_coverage.py``).
- ``ok`` otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from banditsim.sim.ope.intervals import cluster_sums

SUPPORT_MIN = 0.99
ESS_MIN = 100.0
ESS_SHARE_MIN = 0.01
ESS_USERS_MIN = 30.0
WEIGHT_MEAN_TOL = 0.05
ESS_EXPECTED_SHARE_MIN = 0.05
VERDICTS = ("ok", "low-ess", "no-support")


@dataclass(frozen=True)
class Diagnostics:
    """Overlap diagnostics of one target on one log (see the module docstring)."""

    rows: int
    ess: float
    ess_share: float
    ess_users: float | None
    ess_expected: float | None
    max_weight: float
    p99_weight: float
    mean_weight: float
    support: float
    support_exact: bool
    verdict: str

    def as_dict(self) -> dict:
        """A plain dict (JSON-ready)."""
        return asdict(self)


def _kish(w: np.ndarray) -> float:
    total2 = float((w * w).sum())
    return float(w.sum() ** 2 / total2) if total2 > 0 else 0.0


def weight_diagnostics(weights, support=None, cluster=None, second_moment=None) -> Diagnostics:
    """Diagnostics and verdict of importance ``weights`` (n,).

    ``support``: per-row supported target mass (n,) when the logging distribution is known,
    else ``None`` (estimated from the weights). ``cluster``: one user id per row.
    ``second_moment``: per-row ``sum_a pi_e^2 / pi_b`` over supported actions, when known.

    Examples
    --------
    >>> d = weight_diagnostics(np.ones(1000), support=np.ones(1000))
    >>> d.ess, d.verdict
    (1000.0, 'ok')
    >>> w = np.r_[np.full(999, 0.01), 500.0]               # one row carries the estimate
    >>> weight_diagnostics(w).verdict
    'low-ess'
    >>> weight_diagnostics(np.ones(1000), support=np.full(1000, 0.9)).verdict
    'no-support'
    """
    from scipy.stats import norm

    w = np.asarray(weights, dtype=np.float64)
    n = w.shape[0]
    ess = _kish(w)
    ess_users = None
    if cluster is not None:
        sums, _ = cluster_sums(w, None, cluster)
        ess_users = _kish(sums)
    mean_w = float(w.mean())
    if cluster is not None:
        s, c = cluster_sums(w, None, cluster)
        se = float(np.std(s - mean_w * c, ddof=1) / np.sqrt(s.size) / c.mean()) if s.size > 1 else np.inf
    else:
        se = float(w.std(ddof=1) / np.sqrt(n)) if n > 1 else np.inf
    off_mean = False
    ess_exp = None
    if second_moment is not None and support is not None:
        m = float(np.sum(second_moment))
        ess_exp = float(np.sum(support)) ** 2 / m if m > 0 else 0.0
    if support is not None:
        supp, exact = float(np.mean(support)), True
        unsupported = supp < SUPPORT_MIN
        off_mean = abs(mean_w - supp) > max(WEIGHT_MEAN_TOL, 3.0 * se)
    else:
        supp, exact = mean_w, False
        unsupported = supp + norm.ppf(0.975) * se < SUPPORT_MIN
    if unsupported or not w.any():
        verdict = "no-support"
    elif (ess < ESS_MIN or ess / n < ESS_SHARE_MIN or (ess_users is not None and ess_users < ESS_USERS_MIN)
          or off_mean or (ess_exp is not None and (ess_exp < ESS_MIN or ess_exp / n < ESS_EXPECTED_SHARE_MIN))):
        verdict = "low-ess"
    else:
        verdict = "ok"
    return Diagnostics(rows=n, ess=ess, ess_share=ess / n, ess_users=ess_users, ess_expected=ess_exp, max_weight=float(w.max()),
                       p99_weight=float(np.quantile(w, 0.99)), mean_weight=mean_w, support=supp, support_exact=exact, verdict=verdict)
