"""Doubly robust: ``V = mean_i [ q_hat(x_i, pi_e) + w_i (r_i - q_hat(x_i, a_i)) ]``.

Unbiased when the propensities are right, whatever ``q_hat``; lower variance than IPS when
``q_hat`` is good. ``q_hat`` as in :func:`~banditsim.sim.ope.direct.direct_method`. Interval: CLT (or
Poisson bootstrap) over the per-round terms with ``q_hat`` held fixed (cluster-robust with
``cluster``). That interval includes the model's error when ``q_hat`` does not depend on the
evaluated rows — a model fitted on other data, or the default cross-fitting: DR's terms are
then unbiased for each row whatever ``q_hat``, and their spread carries ``q_hat``'s error. An
``estimated_rewards`` fitted on this very log narrows it; that is the caller's to avoid.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope._common import importance_weights, model_terms
from banditsim.sim.ope.intervals import Estimate, make_estimate
from banditsim.sim.ope.log import BanditLog, check_action_dist


def dr_terms(log: BanditLog, dist: np.ndarray, estimated_rewards, reward_model, cluster=None):
    """Return ``(dm_terms, w, residual)`` per round, shared by DR and switch-DR."""
    dm, q_factual = model_terms(log, dist, estimated_rewards, reward_model, cluster)
    return dm, importance_weights(log, dist), log.reward - q_factual


def doubly_robust(
    log: BanditLog,
    action_dist: np.ndarray,
    *,
    estimated_rewards: np.ndarray | None = None,
    reward_model=None,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
    cluster=None,
) -> Estimate:
    """Doubly robust estimate of the target policy's value.

    Examples
    --------
    >>> log = BanditLog(n_actions=2, action=[0, 1], reward=[1, 0], pscore=[0.5, 0.5])
    >>> q_hat = np.full((2, 2, 1), 0.5)
    >>> always_0 = np.tile([[1.0], [0.0]], (2, 1, 1))
    >>> doubly_robust(log, always_0, estimated_rewards=q_hat).value   # 0.5 + mean(2*0.5, 0)
    1.0
    """
    dist = check_action_dist(action_dist, log)
    dm, w, residual = dr_terms(log, dist, estimated_rewards, reward_model, cluster)
    return make_estimate("dr", dm + w * residual, alpha=alpha, interval=interval,
                         n_bootstrap=n_bootstrap, random_state=random_state, cluster=cluster)
