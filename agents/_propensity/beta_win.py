"""P(an arm has the largest draw) for independent Beta posteriors, by 1-D quadrature.

For row b with chosen arm c and allowed competitors C, P = ∫ f_c(θ) Π_{j∈C} F_j(θ) dθ.  In
the logit scale t = log(θ / (1 − θ)) a Beta(a, b) density is ∝ e^{a·t} / (1 + e^t)^{a+b}, which is
log-concave for every a, b > 0, so the integrand g(t) = f_c(t) Π_j F_j(t) is log-concave whatever
the shapes.  Damped Newton steps find the mode t* of log g and its curvature; on each side,
tangent (Newton) steps on the concave L(τ) = log g(t* ± τ) − log g(t*) find the offset E where L
has dropped by 40 (from the far side, so E is never short), and [0, E] is integrated with 8-node
Gauss–Legendre on three geometric panels ([0, E/16], [E/16, E/4], [E/4, E]), which fit decays from
exponential to Gaussian.  Competitors whose F_j is within 1e-15 of 1 wherever the chosen arm has
mass are left out exactly (``_competitors``).  F_j is ``scipy.special.betainc`` (log taken, with
its leading-term asymptote where it underflows); no random numbers.  Cost: ≈ 60 betainc per
(row, competitor that matters).  Accuracy against a fine grid and closed forms
(tests/agents/test_propensities_beta_quadrature.py): relative error ≤ 1e-5 in smooth cases, the
largest found 3e-3 for a flat posterior against very sharp competitors (a cliff in the integrand).
Shapes below ~0.1 put draws at exactly 0 or 1 in float64 (ties); there the figure is an estimate.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaincinv, betaln

_U, _W = np.polynomial.legendre.leggauss(8)
_PANELS = np.array([0.0, 1.0 / 16, 1.0 / 4, 1.0])  # of [0, E]: geometric, for decays from exponential to Gaussian
_NODES = np.concatenate([lo + (hi - lo) * 0.5 * (_U + 1.0) for lo, hi in zip(_PANELS[:-1], _PANELS[1:])])
_WEIGHTS = np.concatenate([(hi - lo) * 0.5 * _W for lo, hi in zip(_PANELS[:-1], _PANELS[1:])])
_DROP = 40.0  # each side is integrated until log g is this far below its peak (e⁻⁴⁰ ≈ 4e-18)
_EDGE_STEPS = 4
_T_MAX = 700.0  # |logit| beyond which θ is 0 or 1 in float64
_TINY = 1e-280  # betainc below this: use its leading term (relative error → 0 as θ → 0)
_NEWTON = 10
_LOW = 1e-20  # the chosen arm's quantile below which the integrand is dropped (≤ 1e-20 absolute)
_SURE = 1.0 - 1e-15  # competitors with F ≥ this at that quantile never lose to it there: left out
_BLOCK = 1 << 16  # (row, node, arm) cells evaluated at a time


def _log_sigmoid(t):
    """(log θ, log(1 − θ)) for θ = 1/(1 + e^{−t}), accurate in both tails."""
    return -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)


def _log_cdf_terms(t, a, b, lnb, comp):
    """Σ_j comp_j·log F_j(t) and its first two t-derivatives (each (n, Q)) for t (n, Q, 1),
    shapes a, b and log B(a, b) (n, 1, K), comp (n, 1, K) in {0, 1}."""
    lx, l1x = _log_sigmoid(t)
    x = np.exp(lx)
    log_f = a * lx + b * l1x - lnb  # log density in t
    with np.errstate(divide="ignore"):
        cdf = betainc(a, b, x)
        log_cdf = np.log(cdf)
    small = cdf < _TINY  # F ≈ θ^a (1 − θ)^b / (a·B(a, b)): the first term of its series
    log_cdf = np.where(small, log_f - np.log(a), log_cdf)
    lam = np.exp(log_f - log_cdf)  # f / F in t
    lam1 = lam * (a - (a + b) * x) - lam * lam  # d/dt (f / F)
    return ((log_cdf * comp).sum(axis=-1), (lam * comp).sum(axis=-1), (lam1 * comp).sum(axis=-1))


def _log_integrand(t, ac, bc, lnbc, a, b, lnb, comp):
    """log g(t), d/dt and d²/dt² log g (each (n, Q)) for t (n, Q)."""
    lx, l1x = _log_sigmoid(t)
    x = np.exp(lx)
    h0, h1, h2 = _log_cdf_terms(t[:, :, None], a, b, lnb, comp)
    val = ac * lx + bc * l1x - lnbc + h0
    return val, ac - (ac + bc) * x + h1, -(ac + bc) * x * np.exp(l1x) + h2


def beta_win_probability(alpha: np.ndarray, beta: np.ndarray, chosen: np.ndarray,
                         mask: np.ndarray | None) -> np.ndarray:
    """P(arm ``chosen[b]`` has the largest allowed draw) when arm k of row b is Beta(alpha[b, k], beta[b, k]).

    ``alpha``, ``beta``: (B, n_arms) positive shapes; ``mask`` (B, n_arms) bool or None (the
    chosen arm counts as allowed).  Returns (B,) clipped to [1e-300, 1].

    Examples
    --------
    >>> a, b = np.array([[3.0, 2.0]]), np.array([[2.0, 3.0]])
    >>> round(float(beta_win_probability(a, b, np.array([0]), None)[0]), 4)  # closed form 53/70
    0.7571
    >>> float(beta_win_probability(a, b, np.array([1]), np.array([[False, True]]))[0])
    1.0
    """
    alpha, beta = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    n_rows, n_arms = alpha.shape
    out = np.empty(n_rows)
    step = max(1, _BLOCK // max(1, n_arms * 2 * _NODES.size))
    for lo in range(0, n_rows, step):
        sl = slice(lo, lo + step)
        out[sl] = _rows(alpha[sl], beta[sl], chosen[sl], None if mask is None else mask[sl])
    return np.clip(out, 1e-300, 1.0)


def _competitors(alpha, beta, comp, x_low):
    """The competitors that matter, packed left: those allowed and with F_j(x_low) < ``_SURE``.

    Over θ ≥ x_low (where all but ≤ ``_LOW`` of the chosen arm's mass lies) a dropped arm's
    F_j lies in [_SURE, 1]: together they change the integral by a relative ≤ n_arms·1e-15.
    Returns (alpha, beta, comp) of shape (n, m), padded with comp = 0 columns."""
    keep = comp > 0
    keep[keep] = betainc(alpha[keep], beta[keep], np.broadcast_to(x_low, alpha.shape)[keep]) < _SURE
    width = max(int(keep.sum(axis=1).max()), 1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    take = lambda v: np.take_along_axis(v, order, axis=1)
    return take(alpha), take(beta), take(keep).astype(np.float64)


def _rows(alpha, beta, chosen, mask):
    n, _ = alpha.shape
    row = np.arange(n)
    comp = np.ones(alpha.shape) if mask is None else mask.astype(np.float64)
    comp[row, chosen] = 0.0
    out = np.ones(n)
    live = comp.any(axis=1)  # a row with no allowed competitor wins surely
    if not live.any():
        return out
    alpha, beta, chosen, comp, row = alpha[live], beta[live], chosen[live], comp[live], np.arange(int(live.sum()))
    ac, bc = alpha[row, chosen][:, None], beta[row, chosen][:, None]
    lnbc = betaln(ac, bc)
    alpha, beta, comp = _competitors(alpha, beta, comp, betaincinv(ac, bc, _LOW))
    lnb = betaln(alpha, beta)
    a3, b3, lnb3, comp3 = alpha[:, None, :], beta[:, None, :], lnb[:, None, :], comp[:, None, :]
    # damped Newton on the mode of the log-concave integrand, from the chosen arm's own mode
    t = np.log(ac[:, 0]) - np.log(bc[:, 0])
    scale = np.sqrt(1.0 / ac[:, 0] + 1.0 / bc[:, 0])  # the chosen arm's sd in t
    for _ in range(_NEWTON):
        _, g1, g2 = _log_integrand(t[:, None], ac, bc, lnbc, a3, b3, lnb3, comp3)
        g1, g2 = g1[:, 0], np.minimum(g2[:, 0], -1e-300)
        move = np.clip(-g1 / g2, -5.0 * scale, 5.0 * scale)
        t = np.clip(t + np.where(np.isfinite(move), move, 0.0), -_T_MAX, _T_MAX)
        scale = np.minimum(scale, 1.0 / np.sqrt(-g2))
        if np.all(np.abs(move) < 1e-6 * scale):
            break
    peak, _, g2 = _log_integrand(t[:, None], ac, bc, lnbc, a3, b3, lnb3, comp3)
    sigma = 1.0 / np.sqrt(np.maximum(-g2[:, 0], 1e-300))
    # each side: the offset E where log g has dropped by _DROP below the mode.  L(τ) = log g(t* ± τ)
    # is concave, so after the first tangent step the Newton iterates stay beyond the root and
    # decrease towards it: E is a safe (never short) edge
    sides = np.array([-1.0, 1.0])
    edge = np.repeat(sigma[:, None], 2, axis=1)  # (n, 2)
    for _ in range(_EDGE_STEPS):
        val, slope, _ = _log_integrand(np.clip(t[:, None] + sides * edge, -_T_MAX, _T_MAX), ac, bc, lnbc,
                                       a3, b3, lnb3, comp3)
        drop = val - peak  # ≤ 0
        rate = np.maximum(-sides * slope, 1e-300)  # |d log g / dτ| outwards
        new = edge + (drop + _DROP) / rate
        edge = np.where(np.isfinite(new), np.clip(new, 1e-12, 2.0 * _T_MAX), edge)
    tau = edge[:, :, None] * _NODES[None, None, :]  # (n, 2, Q): 8-node Gauss–Legendre on 3 panels of [0, E]
    nodes = np.clip(t[:, None, None] + sides[None, :, None] * tau, -_T_MAX, _T_MAX)
    log_g, _, _ = _log_integrand(nodes.reshape(t.size, -1), ac, bc, lnbc, a3, b3, lnb3, comp3)
    out[live] = (np.exp(log_g).reshape(nodes.shape) * edge[:, :, None] * _WEIGHTS).sum(axis=(1, 2))
    return out
