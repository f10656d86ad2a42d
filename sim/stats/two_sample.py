"""A/B statistics on per-user outcomes: Welch t-test with interval, power, and sample size.

Users are the randomisation unit: each user contributes one number per metric (e.g. their mean
reward per step), and arms are compared by Welch's t-test (unequal variances). Power uses the
noncentral t distribution with the Welch–Satterthwaite degrees of freedom (the normal
approximation is the large-n limit), so it is right for small arms too. All functions are
vectorised over leading axes (many metrics or many simulated tests at once).
"""

from __future__ import annotations

import numpy as np

# scipy.stats is imported inside the functions that use it: it is slow to load, and the report wing
# imports this module for format_p alone.


def welch(control: np.ndarray, treatment: np.ndarray, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Welch comparison along the last axis: lift (treatment − control), interval, p-value.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = welch(rng.normal(0.0, 1, 400), rng.normal(0.3, 1, 400))
    >>> bool(r["low"] < 0.3 < r["high"]), bool(r["p"] < 0.05)
    (True, True)
    """
    from scipy import stats

    c, t = np.asarray(control, dtype=np.float64), np.asarray(treatment, dtype=np.float64)
    nc, nt = c.shape[-1], t.shape[-1]
    mc, mt = c.mean(-1), t.mean(-1)
    vc, vt = c.var(-1, ddof=1), t.var(-1, ddof=1)
    se2 = vc / nc + vt / nt
    se = np.sqrt(se2)
    df = se2**2 / np.maximum((vc / nc) ** 2 / (nc - 1) + (vt / nt) ** 2 / (nt - 1), 1e-300)
    diff = mt - mc
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.inf * np.sign(diff)))
    p = 2.0 * stats.t.sf(np.abs(tstat), df)
    half = stats.t.ppf(1.0 - alpha / 2.0, df) * se
    return {"control": mc, "treatment": mt, "diff": diff, "low": diff - half, "high": diff + half,
            "p": p, "se": se, "df": df, "var_control": vc, "var_treatment": vt,
            "relative": np.where(mc != 0, diff / np.where(mc != 0, np.abs(mc), 1.0), np.nan)}


def power(n, delta, var_control, var_treatment, alpha: float = 0.05) -> np.ndarray:
    """Power of the two-sided Welch test with ``n`` users per arm for a true lift ``delta``.

    >>> round(float(power(63, 0.5, 1.0, 1.0)), 2)                  # the textbook d = 0.5 case
    0.8
    """
    from scipy import stats

    n = np.asarray(n, dtype=np.float64)
    vc, vt = np.asarray(var_control, dtype=np.float64), np.asarray(var_treatment, dtype=np.float64)
    se = np.sqrt((vc + vt) / n)
    df = (vc + vt) ** 2 / np.maximum((vc**2 + vt**2) / (n - 1), 1e-300)
    crit = stats.t.ppf(1.0 - alpha / 2.0, df)
    nc = np.abs(np.asarray(delta, dtype=np.float64)) / se
    return stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)


def required_n(delta, var_control, var_treatment, alpha: float = 0.05, target: float = 0.8,
               max_n: int = 100_000_000) -> int:
    """Smallest number of users per arm with :func:`power` ≥ ``target`` (``max_n + 1`` if none).

    Starts from the normal approximation n ≈ (z₁₋α/₂ + z_power)²(σc² + σt²)/δ² and steps up.

    >>> required_n(0.5, 1.0, 1.0)
    64
    """
    from scipy import stats

    delta = abs(float(delta))
    vsum = float(var_control) + float(var_treatment)
    if delta == 0 or not np.isfinite(delta):
        return max_n + 1
    z = stats.norm.ppf(1.0 - alpha / 2.0) + stats.norm.ppf(target)
    n0 = max(2, int(np.floor(z * z * vsum / (delta * delta))))
    if n0 > max_n:
        return max_n + 1
    grid = np.arange(n0, n0 + 64 + n0 // 10)
    ok = np.flatnonzero(power(grid, delta, var_control, var_treatment, alpha) >= target)
    return int(grid[ok[0]]) if ok.size else int(grid[-1])


def wilson(successes, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (scipy's ``binomtest(...).proportion_ci``).

    Element-wise over array arguments; the bounds lie in [0, 1] and always contain ``k / n``
    (30 of 30 gives an upper bound of exactly 1.0).

    >>> lo, hi = wilson(80, 100); round(float(lo), 3), round(float(hi), 3)
    (0.711, 0.867)
    >>> float(wilson(30, 30)[1])
    1.0
    """
    from scipy import stats

    k, n = np.broadcast_arrays(np.asarray(successes), np.asarray(trials))
    low, high = np.empty(k.shape), np.empty(k.shape)
    for idx in np.ndindex(k.shape):  # loop over the few power-check points
        ci = stats.binomtest(int(k[idx]), int(n[idx])).proportion_ci(1.0 - alpha, method="wilson")
        low[idx], high[idx] = ci.low, ci.high
    return low, high


P_FLOOR = 1e-300


def format_p(p: float, digits: int = 3) -> str:
    """A p-value for people: ``< 1e-300`` where it underflows (never ``0``), ``n/a`` if undefined.

    >>> format_p(0.0), format_p(1e-320), format_p(0.0123), format_p(float("nan"))
    ('< 1e-300', '< 1e-300', '0.0123', 'n/a')
    """
    if p != p:
        return "n/a"
    if p < P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    return f"{p:.{digits}g}"


def p_text(p: float, digits: int = 3) -> str:
    """``p = 0.0123``, or ``p < 1e-300`` where the p-value underflows.

    >>> p_text(0.0123), p_text(0.0)
    ('p = 0.0123', 'p < 1e-300')
    """
    shown = format_p(p, digits)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"
