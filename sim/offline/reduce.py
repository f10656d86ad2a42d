"""A lossless two-action summary of a logged row for one target policy (memory O(rows), not O(rows × items)).

IPS, SNIPS, DM, DR and switch-DR read a target policy π and a reward model q̂ only through
π(a_i | x_i), q̂(x_i, a_i) and Σ_a π(a | x_i) q̂(x_i, a); the true value reads Σ_a π q. So each
row can be rewritten over two actions — 0: the logged action, 1: "any other action" with mass
1 − π(a_i | x_i) and the π-weighted mean of q̂ (and q) over the other actions — and every
estimator of :mod:`banditsim.sim.ope` returns exactly the same numbers on the summary as on the full
(rows × n_items) arrays, which are never kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.sim.ope import BanditLog


@dataclass(frozen=True)
class ReducedLog:
    """``log`` (2 actions, logged action always 0, ``expected_reward`` = truth), ``action_dist``
    (n, 2, 1) of the target policy and the reward model's ``estimated_rewards`` (n, 2, 1)."""

    log: BanditLog
    action_dist: np.ndarray
    estimated_rewards: np.ndarray


def _other(total: np.ndarray, p: np.ndarray, at_logged: np.ndarray) -> np.ndarray:
    """Mean value over the other actions: (total − p·v_a) / (1 − p); 0 where p = 1 (no mass)."""
    rest = 1.0 - p
    return np.where(rest > 0, (total - p * at_logged) / np.where(rest > 0, rest, 1.0), 0.0)


def reduce_rows(pscore, reward, pi_logged, pi_q, q_logged, pi_qhat, qhat_logged) -> ReducedLog:
    """Build the summary from per-row statistics, all (n,).

    ``pi_logged`` = π(a_i|x_i); ``pi_q`` = Σ_a π q (truth); ``q_logged`` = q(x_i, a_i);
    ``pi_qhat`` = Σ_a π q̂; ``qhat_logged`` = q̂(x_i, a_i).

    Examples
    --------
    >>> from banditsim.sim.ope import synthetic_log, softmax_target_policy, doubly_robust, snips, true_policy_value
    >>> log = synthetic_log(3_000, 6, random_state=0)
    >>> pi = softmax_target_policy(log)[:, :, 0]
    >>> qhat = log.expected_reward + 0.1                      # any reward model
    >>> r = np.arange(log.n_rounds); a = log.action
    >>> red = reduce_rows(log.pscore, log.reward, pi[r, a], (pi * log.expected_reward).sum(1),
    ...                   log.expected_reward[r, a], (pi * qhat).sum(1), qhat[r, a])
    >>> full = doubly_robust(log, pi[:, :, None], estimated_rewards=qhat[:, :, None]).value
    >>> small = doubly_robust(red.log, red.action_dist, estimated_rewards=red.estimated_rewards).value
    >>> bool(abs(full - small) < 1e-12), bool(abs(snips(log, pi[:, :, None]).value - snips(red.log, red.action_dist).value) < 1e-12)
    (True, True)
    >>> bool(abs(true_policy_value(red.log, red.action_dist) - true_policy_value(log, pi[:, :, None])) < 1e-12)
    True
    """
    p = np.clip(np.asarray(pi_logged, dtype=np.float64), 0.0, 1.0)
    n = p.shape[0]
    dist = np.stack([p, 1.0 - p], axis=1)[:, :, None]
    q = np.stack([q_logged, _other(pi_q, p, q_logged)], axis=1)
    qhat = np.stack([qhat_logged, _other(pi_qhat, p, qhat_logged)], axis=1)[:, :, None]
    log = BanditLog(n_actions=2, action=np.zeros(n, dtype=np.int64), reward=reward, pscore=pscore,
                    expected_reward=q)
    return ReducedLog(log=log, action_dist=dist, estimated_rewards=qhat)
