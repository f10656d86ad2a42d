"""Small array helpers shared by the estimators (internal)."""

from __future__ import annotations

import numpy as np

from sim.ope.log import BanditLog, OPEInputError


def at_position(arr: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Slice ``arr[i, :, position[i]]`` for every row: (n, n_actions, L) -> (n, n_actions).

    A view when ``L == 1`` (no copy), a gather otherwise.
    """
    if arr.shape[2] == 1:
        return arr[:, :, 0]
    return arr[np.arange(arr.shape[0]), :, position]


def importance_weights(log: BanditLog, action_dist: np.ndarray) -> np.ndarray:
    """``w_i = pi_e(a_i | x_i, k_i) / pscore_i`` for every logged round."""
    pi_e = action_dist[np.arange(log.n_rounds), log.action, log.position]
    return pi_e / log.pscore


def policy_expected_reward(q_at_pos: np.ndarray, pi_at_pos: np.ndarray) -> np.ndarray:
    """``sum_a pi(a) q(a)`` per row, for two (n, n_actions) arrays."""
    return np.einsum("ij,ij->i", q_at_pos, pi_at_pos, optimize=False)


def check_estimated_rewards(estimated_rewards, action_dist: np.ndarray) -> np.ndarray:
    """Validate obp-style ``estimated_rewards`` (n_rounds, n_actions, len_list)."""
    q = np.asarray(estimated_rewards)
    if q.ndim == 2:
        q = q[:, :, None]
    if q.shape != action_dist.shape:
        raise OPEInputError(
            f"estimated_rewards has shape {q.shape}, expected {action_dist.shape} like action_dist"
        )
    if not np.issubdtype(q.dtype, np.floating):
        q = q.astype(np.float64)
    if not np.all(np.isfinite(q)):
        raise OPEInputError("estimated_rewards contains NaN or infinite values")
    return q


def model_terms(log: BanditLog, action_dist: np.ndarray, estimated_rewards, reward_model):
    """Per-row ``(sum_a pi_e(a) q_hat(x_i, a, k_i), q_hat(x_i, a_i, k_i))``.

    From obp-style ``estimated_rewards`` if given; else from ``reward_model`` (fitted on
    ``log`` first unless it already is); else from a default ``RidgeRewardModel()``
    fitted on ``log`` (in-sample, no cross-fitting).
    """
    from sim.ope.reward_model import RidgeRewardModel

    pi_pos = at_position(action_dist, log.position)
    rows = np.arange(log.n_rounds)
    if estimated_rewards is not None:
        if reward_model is not None:
            raise OPEInputError("give either estimated_rewards or reward_model, not both")
        q = check_estimated_rewards(estimated_rewards, action_dist)
        return policy_expected_reward(at_position(q, log.position), pi_pos), q[rows, log.action, log.position]
    model = RidgeRewardModel() if reward_model is None else reward_model
    if not hasattr(model, "coef_"):
        model.fit(log)
    dm = model.policy_expected_reward(log.context, log.position, pi_pos)
    return dm, model.predict_factual(log.context, log.position, log.action)
