"""Switch-DR (Wang, Agarwal & Dudík 2017): DR where ``w <= tau``, the direct method elsewhere.

``V = mean_i [ q_hat(x_i, pi_e) + 1{w_i <= tau} w_i (r_i - q_hat(x_i, a_i)) ]``, as obp 0.4.1's
``SwitchDoublyRobust(tau)``. ``tau = inf`` gives DR, ``tau = 0`` the direct method.
Interval: CLT (or Poisson bootstrap) over the per-round terms with ``q_hat`` held fixed.
"""

from __future__ import annotations

import math

import numpy as np

from sim.ope.doubly_robust import dr_terms
from sim.ope.intervals import Estimate, make_estimate
from sim.ope.log import BanditLog, OPEInputError, check_action_dist


def switch_dr(
    log: BanditLog,
    action_dist: np.ndarray,
    *,
    tau: float = 1.0,
    estimated_rewards: np.ndarray | None = None,
    reward_model=None,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
) -> Estimate:
    """Switch doubly robust estimate with importance-weight threshold ``tau`` (>= 0).

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
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or math.isnan(tau) or tau < 0:
        raise OPEInputError(f"tau must be a number >= 0, got {tau!r}")
    dist = check_action_dist(action_dist, log)
    dm, w, residual = dr_terms(log, dist, estimated_rewards, reward_model)
    terms = dm + np.where(w <= tau, w * residual, 0.0)
    return make_estimate(f"switch-dr(tau={tau:g})", terms, alpha=alpha, interval=interval,
                         n_bootstrap=n_bootstrap, random_state=random_state)
