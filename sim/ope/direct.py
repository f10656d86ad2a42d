"""Direct method: ``V = mean_i sum_a pi_e(a | x_i, k_i) q_hat(x_i, a, k_i)``.

``q_hat`` comes from obp-style ``estimated_rewards`` (n, n_actions, len_list), or from a
:class:`~banditsim.sim.ope.reward_model.RidgeRewardModel` (default: cross-fitted on the log, see
:func:`banditsim.sim.ope._common.model_terms`).
Interval: CLT (or Poisson bootstrap) over the per-round terms with ``q_hat`` held fixed, so
it ignores the reward model's bias — which no resampling of the log can reveal (a misspecified
model is wrong by the same amount in every resample). The :class:`Estimate` is therefore
marked ``excludes_model_bias`` and its ``covers()`` is never True.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope._common import model_terms
from banditsim.sim.ope.intervals import Estimate, make_estimate
from banditsim.sim.ope.log import BanditLog, check_action_dist


def direct_method(
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
    """Direct-method (model-based) estimate of the target policy's value.

    Examples
    --------
    >>> log = BanditLog(n_actions=2, action=[0, 1], reward=[1, 0], pscore=[0.5, 0.5])
    >>> q_hat = np.array([[[0.8], [0.2]], [[0.6], [0.4]]])     # (2, 2, 1)
    >>> uniform = np.full((2, 2, 1), 0.5)
    >>> round(direct_method(log, uniform, estimated_rewards=q_hat).value, 6)
    0.5
    """
    dist = check_action_dist(action_dist, log)
    terms, _ = model_terms(log, dist, estimated_rewards, reward_model, cluster)
    return make_estimate("dm", terms, alpha=alpha, interval=interval, n_bootstrap=n_bootstrap,
                         random_state=random_state, cluster=cluster, excludes_model_bias=True)
