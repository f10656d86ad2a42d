"""Small array helpers shared by the estimators (internal)."""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope.log import BanditLog, OPEInputError


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


CROSS_FIT_FOLDS = 2


def cross_fit_folds(n_rows: int, cluster=None, k: int = CROSS_FIT_FOLDS) -> np.ndarray:
    """Fold id in ``[0, k)`` per row; all rows of one cluster (user) share a fold.

    Clusters are dealt to folds in a fixed shuffled order (seeded), so folds do not follow
    the order of the log. Returns all zeros when there are fewer than ``k`` clusters.

    >>> cross_fit_folds(6, cluster=[5, 5, 7, 7, 9, 9]).reshape(3, 2)[:, 0].tolist() in ([0, 1, 0], [1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0])
    True
    """
    ids = np.arange(n_rows) if cluster is None else np.unique(np.asarray(cluster), return_inverse=True)[1]
    n_clusters = int(ids.max()) + 1 if n_rows else 0
    if n_clusters < k:
        return np.zeros(n_rows, dtype=np.int64)
    fold_of = np.random.default_rng(0).permutation(n_clusters) % k
    return fold_of[ids]


def _cross_fitted(log: BanditLog, pi_pos: np.ndarray, model, cluster):
    """DM terms and factual predictions, each row predicted by a model fitted on the other folds."""
    import copy

    folds = cross_fit_folds(log.n_rounds, cluster)
    if folds.max() == 0:                               # too few users to split: in-sample fit
        model.fit(log)
        return (model.policy_expected_reward(log.context, log.position, pi_pos),
                model.predict_factual(log.context, log.position, log.action))
    dm, q_factual = np.empty(log.n_rounds), np.empty(log.n_rounds)
    for f in range(int(folds.max()) + 1):             # loop over the folds
        held = np.flatnonzero(folds == f)
        m = copy.deepcopy(model).fit(log.take(folds != f))
        ctx = None if log.context is None else log.context[held]
        dm[held] = m.policy_expected_reward(ctx, log.position[held], pi_pos[held])
        q_factual[held] = m.predict_factual(ctx, log.position[held], log.action[held])
    return dm, q_factual


def cross_fitted_rewards(log: BanditLog, cluster=None, model=None) -> np.ndarray:
    """obp-style ``estimated_rewards`` (n, n_actions, len_list) cross-fitted on ``log``: each
    fold (by ``cluster``, see :func:`cross_fit_folds`) predicted by ``model`` (default
    ``RidgeRewardModel()``) fitted on the other folds. Compute once, reuse for every target."""
    import copy

    from banditsim.sim.ope.reward_model import RidgeRewardModel

    model = RidgeRewardModel() if model is None else model
    folds = cross_fit_folds(log.n_rounds, cluster)
    out = np.empty((log.n_rounds, log.n_actions, log.len_list))
    for f in range(int(folds.max()) + 1):             # loop over the folds
        held = np.flatnonzero(folds == f)
        m = copy.deepcopy(model).fit(log.take(folds != f) if folds.max() else log)
        out[held] = m.predict(None if log.context is None else log.context[held], n_rounds=held.size)
    return out


def model_terms(log: BanditLog, action_dist: np.ndarray, estimated_rewards, reward_model, cluster=None):
    """Per-row ``(sum_a pi_e(a) q_hat(x_i, a, k_i), q_hat(x_i, a_i, k_i))``.

    From obp-style ``estimated_rewards`` if given; else from ``reward_model`` used as is if
    already fitted; else ``reward_model`` (default ``RidgeRewardModel()``) *cross-fitted* on
    ``log``: the rows are split into two folds by ``cluster`` (user) or by row, and each fold is
    predicted by a model fitted on the other, so ``q_hat`` of a row never saw that row's reward
    and DR's interval is not narrowed by the model's overfit.
    """
    from banditsim.sim.ope.reward_model import RidgeRewardModel

    pi_pos = at_position(action_dist, log.position)
    rows = np.arange(log.n_rounds)
    if estimated_rewards is not None:
        if reward_model is not None:
            raise OPEInputError("give either estimated_rewards or reward_model, not both")
        q = check_estimated_rewards(estimated_rewards, action_dist)
        return policy_expected_reward(at_position(q, log.position), pi_pos), q[rows, log.action, log.position]
    model = RidgeRewardModel() if reward_model is None else reward_model
    if hasattr(model, "coef_"):
        dm = model.policy_expected_reward(log.context, log.position, pi_pos)
        return dm, model.predict_factual(log.context, log.position, log.action)
    return _cross_fitted(log, pi_pos, model, cluster)
