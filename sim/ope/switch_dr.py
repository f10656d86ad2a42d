"""Switch-DR (Wang, Agarwal & Dudík 2017): DR where ``w <= tau``, the direct method elsewhere.

``V = mean_i [ q_hat(x_i, pi_e) + 1{w_i <= tau} w_i (r_i - q_hat(x_i, a_i)) ]``, as obp 0.4.1's
``SwitchDoublyRobust(tau)``. ``tau = inf`` gives DR, ``tau = 0`` the direct method.

``tau="auto"`` (the default) chooses the threshold by a documented rule, estimated MSE in the
spirit of obp's ``tuning_method="mse"`` (Su et al. 2020): over the candidates ``inf`` and the
50/75/90/95/99/99.9th percentiles of the weights, take the one minimising

    se(tau)^2 + max(b^2 - se(b)^2, 0),   b = mean_i 1{w_i > tau} w_i (r_i - q_hat_i),

where ``se(tau)`` is the (cluster-robust) standard error of the switch-DR terms and ``b`` the
bias switching adds (DR's correction dropped on the switched rows); ``b^2 - se(b)^2`` removes
``b``'s own noise from its square, so the squared bias is not overstated by exactly the
variance switching removes (with obp's upper bound ``|b| + z se(b)`` the rule could never
switch). ``tau = inf`` (DR) has no bias and wins ties.

Interval: CLT (or Poisson bootstrap) over the per-round terms with ``q_hat`` held fixed. When
rows are switched, the estimate carries the reward model's bias on them, which the interval
does not include: it is then marked ``excludes_model_bias`` (never counted as covering). With
``tau="auto"`` it is marked so always, even where the rule kept DR: the rule keeps DR exactly
when the model looks wrong on the heavy-weight rows, so the interval is not valid conditional on
that choice (on the replications where the rule kept DR its interval covers far less than 95%:
``bench/ope_coverage.py``, figures in bench/README.md). A fixed
``tau`` at or above every weight is DR, with DR's interval.
"""

from __future__ import annotations

import math

import numpy as np
from banditsim.sim.ope.doubly_robust import dr_terms
from banditsim.sim.ope.intervals import Estimate, cluster_sums, make_estimate
from banditsim.sim.ope.log import BanditLog, OPEInputError, check_action_dist

TAU_QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)


def _mean_se(terms: np.ndarray, cluster) -> float:
    """Standard error of ``mean(terms)``, cluster-robust when ``cluster`` is given."""
    if cluster is None:
        return float(terms.std(ddof=1) / np.sqrt(terms.size)) if terms.size > 1 else math.inf
    s, c = cluster_sums(terms, None, cluster)
    if s.size < 2:
        return math.inf
    v = s.sum() / c.sum()
    return float(np.std(s - v * c, ddof=1) * np.sqrt(s.size) / c.sum())


def choose_tau(dm: np.ndarray, w: np.ndarray, residual: np.ndarray, cluster=None) -> float:
    """The switch threshold of the estimated-MSE rule (module docstring); ``inf`` when no switch pays.

    >>> rng = np.random.default_rng(0); n = 5000
    >>> w = np.r_[np.ones(n - 50), np.full(50, 200.0)]       # 1% of rows with wild weights
    >>> choose_tau(np.zeros(n), w, rng.normal(0, 0.1, n))     # the model is right there: switch
    1.0
    >>> choose_tau(np.zeros(n), w, np.r_[rng.normal(0, 0.1, n - 50), np.full(50, 0.3)])  # it is not: DR
    inf
    >>> choose_tau(np.zeros(n), np.ones(n), rng.normal(0, 0.1, n))
    inf
    """
    best, best_mse = math.inf, _mean_se(dm + w * residual, cluster) ** 2
    for tau in np.unique(np.quantile(w, TAU_QUANTILES)):   # loop over a handful of candidates
        if tau >= w.max():
            continue
        off = np.where(w > tau, w * residual, 0.0)
        bias2 = max(float(off.mean()) ** 2 - _mean_se(off, cluster) ** 2, 0.0)
        mse = _mean_se(dm + w * residual - off, cluster) ** 2 + bias2
        if mse < best_mse:
            best, best_mse = float(tau), mse
    return best


def switch_dr(
    log: BanditLog,
    action_dist: np.ndarray,
    *,
    tau: float | str = "auto",
    estimated_rewards: np.ndarray | None = None,
    reward_model=None,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
    cluster=None,
) -> Estimate:
    """Switch doubly robust estimate with importance-weight threshold ``tau`` (>= 0, or ``"auto"``).

    Examples
    --------
    >>> log = BanditLog(n_actions=2, action=[0, 1], reward=[1, 0], pscore=[0.5, 0.5])
    >>> q_hat = np.full((2, 2, 1), 0.5)
    >>> always_0 = np.tile([[1.0], [0.0]], (2, 1, 1))
    >>> switch_dr(log, always_0, tau=1.0, estimated_rewards=q_hat).value  # w = 2 > tau: DM
    0.5
    >>> switch_dr(log, always_0, tau=2.0, estimated_rewards=q_hat).value  # w <= tau: DR
    1.0
    """
    auto = isinstance(tau, str) and tau == "auto"
    if not auto and (isinstance(tau, bool) or not isinstance(tau, (int, float)) or math.isnan(tau) or tau < 0):
        raise OPEInputError(f"tau must be a number >= 0 or 'auto', got {tau!r}")
    dist = check_action_dist(action_dist, log)
    dm, w, residual = dr_terms(log, dist, estimated_rewards, reward_model, cluster)
    if auto:
        tau = choose_tau(dm, w, residual, cluster)
    switched = bool((w > tau).any()) or auto
    terms = dm + np.where(w <= tau, w * residual, 0.0)
    return make_estimate(f"switch-dr(tau={tau:g})", terms, alpha=alpha, interval=interval,
                         n_bootstrap=n_bootstrap, random_state=random_state, cluster=cluster,
                         excludes_model_bias=switched)
