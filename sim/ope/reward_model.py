"""Closed-form ridge reward model ``q_hat(x, a, k)`` fitted on a :class:`BanditLog`.

Two feature maps, each fitted separately per position ``k`` (as obp's ``RegressionModel``
does for ``len_list > 1``), with rewards centred by the position's mean reward:

- ``"onehot"``: context ⊗ action one-hot, i.e. one ridge regression of reward on
  ``[1, x]`` per (position, action) pair. Pairs with no logged rows predict the mean.
- ``"action_context"``: ``[1, x] ⊗ [1, e_a]`` (outer product of context and action
  features), one shared weight matrix per position, so unseen actions generalise.

Fitting is one pass of normal equations (Gram matrices, then a batched ``np.linalg.solve``);
the only Python loops run over positions and actions, never over rows.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope.log import BanditLog, OPEInputError

FEATURE_MAPS = ("onehot", "action_context")


def _with_intercept(context: np.ndarray | None, n: int) -> np.ndarray:
    if context is None:
        return np.ones((n, 1))
    ctx = np.asarray(context, dtype=np.float64)
    if ctx.ndim == 1:
        ctx = ctx[:, None]
    return np.hstack([np.ones((ctx.shape[0], 1)), ctx])


class RidgeRewardModel:
    """Ridge regression of reward on context/action features, per position.

    Parameters
    ----------
    features: ``"onehot"`` (context ⊗ action one-hot) or ``"action_context"``
        (context ⊗ action features; needs ``log.action_context``).
    ridge: L2 penalty (> 0) on all coefficients of the centred regression.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2)); a = rng.integers(0, 3, 2000)
    >>> r = x[:, 0] * (a == 1) + 0.5 * (a == 2)
    >>> log = BanditLog(n_actions=3, action=a, reward=r, pscore=np.full(2000, 1 / 3), context=x)
    >>> q = RidgeRewardModel(ridge=1e-6).fit(log).predict(np.array([[2.0, 0.0]]))
    >>> q.shape, np.round(q[0, :, 0], 3).tolist()
    ((1, 3, 1), [0.0, 2.0, 0.5])
    """

    def __init__(self, features: str = "onehot", ridge: float = 1.0):
        self.features = features
        self.ridge = ridge

    def fit(self, log: BanditLog) -> RidgeRewardModel:
        """Fit on the logged (context, action, position, reward) rows; return ``self``."""
        if self.features not in FEATURE_MAPS:
            raise OPEInputError(f"features must be one of {FEATURE_MAPS}, got {self.features!r}")
        if not (isinstance(self.ridge, (int, float)) and self.ridge > 0):
            raise OPEInputError(f"ridge must be a positive number, got {self.ridge!r}")
        if self.features == "action_context" and log.action_context is None:
            raise OPEInputError("action_context is None: features='action_context' needs it")
        n_pos, n_act = log.len_list, log.n_actions
        z = _with_intercept(log.context, log.n_rounds)
        counts = np.bincount(log.position, minlength=n_pos)
        self.mean_ = np.bincount(log.position, weights=log.reward, minlength=n_pos) / np.maximum(
            counts, 1
        )
        y = log.reward - self.mean_[log.position]
        self.n_actions_, self.len_list_, self.dim_ = n_act, n_pos, z.shape[1] - 1
        if self.features == "onehot":
            self.coef_ = self._fit_onehot(z, y, log.action, log.position, n_act, n_pos)
        else:
            self.action_features_ = _with_intercept(log.action_context, n_act)
            self.coef_ = self._fit_action_context(z, y, log.action, log.position, n_pos)
        return self

    def _fit_onehot(self, z, y, action, position, n_act, n_pos) -> np.ndarray:
        p = z.shape[1]
        group = position * n_act + action
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(n_pos * n_act + 1))
        zs, ys = z[order], y[order]
        gram = np.zeros((n_pos * n_act, p, p))
        rhs = np.zeros((n_pos * n_act, p))
        from threadpoolctl import threadpool_limits

        # many small products: waking BLAS worker threads for each costs more than the product
        with threadpool_limits(limits=1, user_api="blas"):
            for g in np.flatnonzero(bounds[1:] > bounds[:-1]):  # loop over (position, action) groups
                block = zs[bounds[g]:bounds[g + 1]]
                gram[g] = block.T @ block
                rhs[g] = block.T @ ys[bounds[g]:bounds[g + 1]]
        gram += self.ridge * np.eye(p)
        coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        return coef.reshape(n_pos, n_act, p)

    def _fit_action_context(self, z, y, action, position, n_pos) -> np.ndarray:
        e = self.action_features_[action]
        p = z.shape[1] * e.shape[1]
        coef = np.zeros((n_pos, z.shape[1], e.shape[1]))
        for k in range(n_pos):  # loop over positions
            rows = position == k
            if not rows.any():
                continue
            phi = (z[rows][:, :, None] * e[rows][:, None, :]).reshape(-1, p)
            gram = phi.T @ phi + self.ridge * np.eye(p)
            coef[k] = np.linalg.solve(gram, phi.T @ y[rows]).reshape(z.shape[1], e.shape[1])
        return coef

    def _action_coefs(self, k: int) -> np.ndarray:
        """Effective (n_actions, 1 + d) coefficients at position ``k``: q = [1, x] @ C.T + mean."""
        if self.features == "onehot":
            return self.coef_[k]
        return self.action_features_ @ self.coef_[k].T

    def _predict_block(self, z: np.ndarray, k: int) -> np.ndarray:
        return z @ self._action_coefs(k).T + self.mean_[k]

    def _by_position(self, context, position, fn) -> np.ndarray:
        """Apply ``fn(rows, z_rows, k)`` per position and scatter the (n,) results."""
        position = np.asarray(position)
        z = self._check_context(context, len(position))
        if position.size and position.max() >= self.len_list_:
            raise OPEInputError(f"position out of range: the model was fitted on {self.len_list_} positions")
        if self.len_list_ == 1:
            return fn(slice(None), z, 0)
        out = np.empty(z.shape[0])
        for k in range(self.len_list_):  # loop over positions
            rows = np.flatnonzero(position == k)
            out[rows] = fn(rows, z[rows], k)
        return out

    def predict_factual(self, context, position, action) -> np.ndarray:
        """``q_hat(x_i, a_i, k_i)`` for the given actions only: shape (n,)."""
        action = np.asarray(action)
        return self._by_position(context, position, lambda rows, z, k: np.einsum(
            "ij,ij->i", z, self._action_coefs(k)[action[rows]]) + self.mean_[k])

    def policy_expected_reward(self, context, position, pi_at_position: np.ndarray) -> np.ndarray:
        """``sum_a pi(a | x_i) q_hat(x_i, a, k_i)`` per row, without forming the (n, n_actions) q_hat.

        Uses ``sum_a pi_a (z . c_a) = z . (pi @ C)``: one (n, n_actions) x (n_actions, 1 + d) product.
        """
        def fn(rows, z, k):
            pi = pi_at_position[rows]
            return np.einsum("ij,ij->i", z, pi @ self._action_coefs(k)) + self.mean_[k] * pi.sum(axis=1)

        return self._by_position(context, position, fn)

    def _check_context(self, context, n_rounds) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise OPEInputError("RidgeRewardModel is not fitted: call fit(log) first")
        if context is None:
            if self.dim_ != 0:
                raise OPEInputError(f"context is None but the model was fitted on {self.dim_} features")
            if n_rounds is None:
                raise OPEInputError("n_rounds is required when context is None")
            return np.ones((n_rounds, 1))
        z = _with_intercept(context, 0)
        if z.shape[1] - 1 != self.dim_:
            raise OPEInputError(f"context has {z.shape[1] - 1} features, the model was fitted on {self.dim_}")
        return z

    def predict(self, context: np.ndarray | None = None, n_rounds: int | None = None) -> np.ndarray:
        """Return obp-style ``estimated_rewards`` of shape (n, n_actions, len_list)."""
        z = self._check_context(context, n_rounds)
        return np.stack([self._predict_block(z, k) for k in range(self.len_list_)], axis=2)

    def predict_at_position(self, context: np.ndarray | None, position: np.ndarray) -> np.ndarray:
        """Return ``q_hat(x_i, a, position_i)`` for all actions: shape (n, n_actions)."""
        z = self._check_context(context, len(position))
        position = np.asarray(position)
        if self.len_list_ == 1:
            if position.max() > 0:
                raise OPEInputError("position out of range: the model was fitted on one position")
            return self._predict_block(z, 0)
        if position.max() >= self.len_list_:
            raise OPEInputError(f"position out of range: the model was fitted on {self.len_list_} positions")
        out = np.empty((z.shape[0], self.n_actions_))
        for k in range(self.len_list_):  # loop over positions
            rows = position == k
            out[rows] = self._predict_block(z[rows], k)
        return out
