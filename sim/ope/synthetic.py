"""Synthetic logged feedback with known ground truth, for tests, examples and benchmarks.

Contexts ``x ~ N(0, I_d)``; mean reward ``q(x, a) = sigmoid(x . theta_a + b_a)``; Bernoulli
rewards; a softmax behaviour policy on an unrelated linear score. The ground-truth value of
a target policy on the drawn contexts is ``mean_i sum_a pi(a | x_i) q(x_i, a)``.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope.log import BanditLog, OPEInputError


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def synthetic_log(
    n_rounds: int,
    n_actions: int,
    *,
    dim_context: int = 5,
    len_list: int = 1,
    behavior_temperature: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> BanditLog:
    """Draw a :class:`BanditLog` with ``expected_reward`` and ``action_context`` filled in.

    Positions are uniform over ``len_list`` and do not change rewards or the behaviour policy.

    Examples
    --------
    >>> log = synthetic_log(1000, 4, random_state=0)
    >>> log.n_rounds, log.context.shape, log.expected_reward.shape
    (1000, (1000, 5), (1000, 4))
    """
    if n_rounds < 1 or n_actions < 1 or dim_context < 1 or len_list < 1:
        raise OPEInputError("n_rounds, n_actions, dim_context and len_list must all be >= 1")
    rng = np.random.default_rng(random_state)
    x = rng.normal(size=(n_rounds, dim_context))
    theta = rng.normal(scale=1.0 / np.sqrt(dim_context), size=(n_actions, dim_context))
    bias = rng.normal(scale=0.5, size=n_actions)
    q = 1.0 / (1.0 + np.exp(-(x @ theta.T + bias)))
    behavior_theta = rng.normal(scale=1.0 / np.sqrt(dim_context), size=(n_actions, dim_context))
    pi_b = _softmax((x @ behavior_theta.T) / behavior_temperature)
    u = rng.random(n_rounds)[:, None]
    action = np.minimum((np.cumsum(pi_b, axis=1) < u).sum(axis=1), n_actions - 1)
    rows = np.arange(n_rounds)
    reward = (rng.random(n_rounds) < q[rows, action]).astype(np.float64)
    return BanditLog(
        n_actions=n_actions,
        action=action,
        reward=reward,
        pscore=pi_b[rows, action],
        position=rng.integers(0, len_list, n_rounds),
        context=x,
        action_context=theta,
        expected_reward=q,
    )


def softmax_target_policy(log: BanditLog, *, temperature: float = 0.2, len_list: int | None = None):
    """A good target policy: softmax of the true mean rewards, as (n, n_actions, len_list)."""
    if log.expected_reward is None:
        raise OPEInputError("expected_reward is None: the target policy needs the ground truth")
    pi = _softmax(log.expected_reward / temperature)
    k = log.len_list if len_list is None else len_list
    return np.repeat(pi[:, :, None], k, axis=2)


def true_policy_value(log: BanditLog, action_dist: np.ndarray) -> float:
    """Ground-truth value ``mean_i sum_a pi(a | x_i, k_i) q(x_i, a)`` on the logged contexts.

    Examples
    --------
    >>> log = synthetic_log(500, 3, random_state=1)
    >>> uniform = np.full((500, 3, 1), 1 / 3)
    >>> bool(abs(true_policy_value(log, uniform) - log.expected_reward.mean()) < 1e-12)
    True
    """
    if log.expected_reward is None:
        raise OPEInputError("expected_reward is None: the log has no ground truth")
    dist = np.asarray(action_dist)
    pi_pos = dist[:, :, 0] if dist.shape[2] == 1 else dist[np.arange(log.n_rounds), :, log.position]
    return float(np.einsum("ij,ij->i", pi_pos, log.expected_reward).mean())
