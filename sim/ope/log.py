"""The logged bandit feedback (:class:`BanditLog`) and validation of target policies.

A :class:`BanditLog` holds what a behaviour policy logged, one row per round, in the
shape of Open Bandit Pipeline's ``bandit_feedback`` dict. Target policies are given as
obp-style ``action_dist`` arrays of shape ``(n_rounds, n_actions, len_list)``: the
probability that the target policy puts each action at each position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class OPEInputError(ValueError):
    """Bad input to an off-policy estimator: the message names the field."""


def _float_vector(name: str, value, n: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite 1-d float array, checking its length against ``n``."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise OPEInputError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise OPEInputError(f"{name} has length {arr.shape[0]}, expected {n} (one per round)")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise OPEInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise OPEInputError(f"{name} contains NaN or infinite values")
    return arr


def _int_vector(name: str, value, n: int | None, upper: int | None) -> np.ndarray:
    """Return ``value`` as a 1-d int64 array with entries in ``[0, upper)``."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise OPEInputError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise OPEInputError(f"{name} has length {arr.shape[0]}, expected {n} (one per round)")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise OPEInputError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise OPEInputError(f"{name} must be non-negative, found {arr.min()}")
    if upper is not None and arr.size and arr.max() >= upper:
        raise OPEInputError(f"{name} out of range: found {arr.max()}, must be < {upper}")
    return arr


def check_pscore(name: str, value, n: int | None = None) -> np.ndarray:
    """Return propensities as a float array, all in ``(0, 1]``, or raise :class:`OPEInputError`."""
    arr = _float_vector(name, value, n)
    if arr.size and (arr.min() <= 0.0 or arr.max() > 1.0):
        bad = arr.min() if arr.min() <= 0.0 else arr.max()
        raise OPEInputError(f"{name} must lie in (0, 1], found {bad}")
    return arr


@dataclass(frozen=True, eq=False)
class BanditLog:
    """Logged bandit feedback, one row per round, as in obp's ``bandit_feedback`` dict.

    Parameters
    ----------
    n_actions: number of actions (items).
    action: (n,) logged action indices in ``[0, n_actions)``.
    reward: (n,) observed rewards (finite).
    pscore: (n,) behaviour-policy propensity of the logged action at its position, in (0, 1].
    position: (n,) slot index of each round; ``None`` means all zeros (non-slate log).
    context: (n, d) optional context features.
    action_context: (n_actions, d_a) optional action features.
    expected_reward: (n, n_actions) optional ground-truth mean reward (simulated logs).

    Examples
    --------
    >>> log = BanditLog(n_actions=3, action=[0, 2, 1], reward=[1.0, 0.0, 1.0],
    ...                 pscore=[0.5, 0.25, 0.25])
    >>> log.n_rounds, log.len_list, log.position.tolist()
    (3, 1, [0, 0, 0])
    >>> try:
    ...     BanditLog(n_actions=3, action=[0, 3], reward=[1.0, 0.0], pscore=[0.5, 0.5])
    ... except ValueError as err:
    ...     print(err)
    action out of range: found 3, must be < 3
    """

    n_actions: int
    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    position: np.ndarray | None = None
    context: np.ndarray | None = None
    action_context: np.ndarray | None = None
    expected_reward: np.ndarray | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n_actions, bool) or not isinstance(self.n_actions, (int, np.integer)):
            raise OPEInputError(f"n_actions must be an integer, got {self.n_actions!r}")
        if self.n_actions < 1:
            raise OPEInputError(f"n_actions must be at least 1, got {self.n_actions}")
        set_ = object.__setattr__
        set_(self, "n_actions", int(self.n_actions))
        action = _int_vector("action", self.action, None, self.n_actions)
        n = action.shape[0]
        if n == 0:
            raise OPEInputError("action is empty: a log needs at least one round")
        set_(self, "action", action)
        set_(self, "reward", _float_vector("reward", self.reward, n))
        set_(self, "pscore", check_pscore("pscore", self.pscore, n))
        if self.position is None:
            set_(self, "position", np.zeros(n, dtype=np.int64))
        else:
            set_(self, "position", _int_vector("position", self.position, n, None))
        if self.context is not None:
            ctx = np.asarray(self.context, dtype=np.float64)
            if ctx.ndim == 1:
                ctx = ctx[:, None]
            if ctx.ndim != 2 or ctx.shape[0] != n:
                raise OPEInputError(f"context must have shape ({n}, d), got {ctx.shape}")
            if not np.all(np.isfinite(ctx)):
                raise OPEInputError("context contains NaN or infinite values")
            set_(self, "context", ctx)
        if self.action_context is not None:
            actx = np.asarray(self.action_context, dtype=np.float64)
            if actx.ndim == 1:
                actx = actx[:, None]
            if actx.ndim != 2 or actx.shape[0] != self.n_actions:
                raise OPEInputError(
                    f"action_context must have shape ({self.n_actions}, d_a), got {actx.shape}"
                )
            if not np.all(np.isfinite(actx)):
                raise OPEInputError("action_context contains NaN or infinite values")
            set_(self, "action_context", actx)
        if self.expected_reward is not None:
            q = np.asarray(self.expected_reward, dtype=np.float64)
            if q.shape != (n, self.n_actions):
                raise OPEInputError(
                    f"expected_reward must have shape ({n}, {self.n_actions}), got {q.shape}"
                )
            if not np.all(np.isfinite(q)):
                raise OPEInputError("expected_reward contains NaN or infinite values")
            set_(self, "expected_reward", q)

    @property
    def n_rounds(self) -> int:
        """Number of logged rounds."""
        return int(self.action.shape[0])

    @property
    def len_list(self) -> int:
        """Number of positions (1 for a non-slate log)."""
        return int(self.position.max()) + 1

    def __len__(self) -> int:
        return self.n_rounds

    def take(self, rows) -> BanditLog:
        """A new log with only ``rows`` (indices or boolean mask); ``n_actions`` kept.

        Examples
        --------
        >>> log = BanditLog(n_actions=2, action=[0, 1, 1], reward=[1, 0, 1], pscore=[0.5] * 3)
        >>> log.take(np.array([2, 0])).action.tolist()
        [1, 0]
        """
        rows = np.asarray(rows)
        if rows.dtype == bool and rows.shape != (self.n_rounds,):
            raise OPEInputError(f"rows mask has shape {rows.shape}, expected ({self.n_rounds},)")

        def pick(arr):
            return None if arr is None else arr[rows]

        return BanditLog(
            n_actions=self.n_actions, action=self.action[rows], reward=self.reward[rows],
            pscore=self.pscore[rows], position=self.position[rows], context=pick(self.context),
            action_context=self.action_context, expected_reward=pick(self.expected_reward),
        )


def check_action_dist(action_dist, log: BanditLog, name: str = "action_dist") -> np.ndarray:
    """Validate an obp-style target policy ``(n_rounds, n_actions, len_list)`` against ``log``.

    Each ``action_dist[i, :, k]`` must be a probability vector (non-negative, summing to
    1 within 1e-6), and ``len_list`` must cover every logged position.

    Examples
    --------
    >>> log = BanditLog(n_actions=2, action=[0, 1], reward=[1, 0], pscore=[0.5, 0.5])
    >>> check_action_dist(np.full((2, 2, 1), 0.5), log).shape
    (2, 2, 1)
    >>> try:
    ...     check_action_dist(np.full((2, 2, 1), 0.4), log)
    ... except ValueError as err:
    ...     print(err)
    action_dist rows must sum to 1 over actions (worst row sums to 0.8)
    """
    dist = np.asarray(action_dist)
    if dist.ndim == 2:
        dist = dist[:, :, None]
    if dist.ndim != 3:
        raise OPEInputError(f"{name} must have shape (n_rounds, n_actions, len_list), got {dist.shape}")
    if dist.shape[0] != log.n_rounds or dist.shape[1] != log.n_actions:
        raise OPEInputError(
            f"{name} has shape {dist.shape}, expected ({log.n_rounds}, {log.n_actions}, len_list)"
        )
    if dist.shape[2] < log.len_list:
        raise OPEInputError(
            f"{name} has len_list {dist.shape[2]} but the log has positions up to {log.len_list - 1}"
        )
    if not np.issubdtype(dist.dtype, np.floating):
        dist = dist.astype(np.float64)
    if not np.all(np.isfinite(dist)) or dist.min() < 0.0:
        raise OPEInputError(f"{name} must hold finite non-negative probabilities")
    sums = dist.sum(axis=1, dtype=np.float64)
    worst = np.abs(sums - 1.0).max()
    if worst > 1e-6:
        bad = sums.ravel()[np.abs(sums - 1.0).argmax()]
        raise OPEInputError(f"{name} rows must sum to 1 over actions (worst row sums to {bad:.6g})")
    return dist
