"""Slate estimators on long-format slate logs: independent IPS and reward-interaction IPS.

A :class:`SlateLog` has one row per (slate, position), as obp's slate feedback. The policy
value is the expected sum of rewards over a slate's positions:

- IIPS (Li et al. 2018): ``V = mean_slates sum_k r_k * pi_e(a_k at k) / pi_b(a_k at k)``,
  item-position marginal propensities; unbiased when position k's reward depends only
  on the item at k.
- RIPS (McInerney et al. 2020; Kiyohara et al. 2022): ``V = mean_slates sum_k r_k *
  pi_e(a_1..a_k) / pi_b(a_1..a_k)``, cascade (prefix) propensities; unbiased when position
  k's reward depends on the items at positions 1..k.
- standard slate IPS (:func:`standard_ips`): ``V = mean_slates (sum_k r_k) * pi_e(slate) /
  pi_b(slate)``, whole-slate propensities (the cascade propensity at a slate's last position);
  unbiased whatever the reward model, with the largest variance.

``cluster`` (one id per row, e.g. the user; constant within a slate) makes the intervals
cluster-robust over the slates of one user.

Point estimates match obp 0.4.1's ``SlateIndependentIPS`` / ``SlateRewardInteractionIPS``.
Intervals: CLT (or Poisson bootstrap) over the per-slate sums (slates are the i.i.d. units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.sim.ope.intervals import Estimate, make_estimate
from banditsim.sim.ope.log import OPEInputError, _float_vector, _int_vector, check_pscore


@dataclass(frozen=True, eq=False)
class SlateLog:
    """A long-format slate log: one row per (slate, position).

    Parameters
    ----------
    slate_id: (n,) integer id of each row's slate.
    position: (n,) slot index of the row within its slate (unique within a slate).
    reward: (n,) reward observed at that slot.
    pscore_item_position: (n,) behaviour marginal P(item at this position), in (0, 1]; optional.
    pscore_cascade: (n,) behaviour P(items at positions 0..k), in (0, 1]; optional.

    Examples
    --------
    >>> log = SlateLog(slate_id=[0, 0, 1, 1], position=[0, 1, 0, 1], reward=[1, 0, 0, 1],
    ...                pscore_item_position=[0.5, 0.5, 0.5, 0.5])
    >>> log.n_slates, log.len_list
    (2, 2)
    """

    slate_id: np.ndarray
    position: np.ndarray
    reward: np.ndarray
    pscore_item_position: np.ndarray | None = None
    pscore_cascade: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        slate_id = _int_vector("slate_id", self.slate_id, None, None)
        n = slate_id.shape[0]
        if n == 0:
            raise OPEInputError("slate_id is empty: a slate log needs at least one row")
        set_(self, "slate_id", slate_id)
        set_(self, "position", _int_vector("position", self.position, n, None))
        set_(self, "reward", _float_vector("reward", self.reward, n))
        for name in ("pscore_item_position", "pscore_cascade"):
            if getattr(self, name) is not None:
                set_(self, name, check_pscore(name, getattr(self, name), n))
        uniq, inverse = np.unique(slate_id, return_inverse=True)
        key = inverse * (int(self.position.max()) + 1) + self.position
        if np.unique(key).shape[0] != n:
            raise OPEInputError("position repeats within a slate: each (slate_id, position) must be unique")
        set_(self, "_slate_index", inverse)
        set_(self, "n_slates", int(uniq.shape[0]))

    @property
    def len_list(self) -> int:
        """Number of slots per slate."""
        return int(self.position.max()) + 1


def cascade_pscore(slate_id, position, pscore_conditional) -> np.ndarray:
    """Prefix probabilities ``prod_{j <= k} P(a_j | a_0..a_{j-1})`` within each slate.

    Vectorised: a sort by (slate, position), then a grouped cumulative sum of logs.

    Examples
    --------
    >>> cascade_pscore([7, 7, 7, 3], [0, 1, 2, 0], [0.5, 0.5, 0.2, 0.9]).tolist()
    [0.5, 0.25, 0.05, 0.9]
    """
    slate_id = _int_vector("slate_id", slate_id, None, None)
    n = slate_id.shape[0]
    position = _int_vector("position", position, n, None)
    p = check_pscore("pscore_conditional", pscore_conditional, n)
    order = np.lexsort((position, slate_id))
    logp = np.log(p[order])
    csum = np.cumsum(logp)
    sid = slate_id[order]
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    offset = np.repeat(csum[starts] - logp[starts], np.diff(np.r_[starts, n]))
    out = np.empty(n)
    out[order] = np.exp(csum - offset)
    return out


def _slate_cluster(log: SlateLog, cluster):
    """Per-slate cluster ids from per-row ``cluster`` (None passes through)."""
    if cluster is None:
        return None
    cluster = np.asarray(cluster)
    if cluster.shape != log.slate_id.shape:
        raise OPEInputError(f"cluster has shape {cluster.shape}, expected {log.slate_id.shape} (one id per row)")
    out = np.empty(log.n_slates, dtype=cluster.dtype)
    out[log._slate_index] = cluster
    return out


def _slate_estimate(method, log: SlateLog, behavior, target, target_name, cluster=None, **kw) -> Estimate:
    if behavior is None:
        raise OPEInputError(f"the slate log has no {method} behaviour propensities")
    target = _float_vector(target_name, target, log.slate_id.shape[0])
    if target.min() < 0 or target.max() > 1:
        raise OPEInputError(f"{target_name} must lie in [0, 1]")
    per_slate = np.bincount(log._slate_index, weights=log.reward * target / behavior,
                            minlength=log.n_slates)
    return make_estimate(method, per_slate, cluster=_slate_cluster(log, cluster), **kw)


def whole_slate(log: SlateLog, per_row: np.ndarray) -> np.ndarray:
    """Each row gets its slate's value of ``per_row`` at the slate's last position (e.g. the
    whole-slate propensity from cascade propensities).

    >>> log = SlateLog(slate_id=[0, 0, 1, 1], position=[0, 1, 0, 1], reward=[0, 0, 0, 0])
    >>> whole_slate(log, np.array([0.5, 0.25, 0.9, 0.3])).tolist()
    [0.25, 0.25, 0.3, 0.3]
    """
    last = np.full(log.n_slates, -1)
    np.maximum.at(last, log._slate_index, log.position)
    pick = np.zeros(log.n_slates)
    at_last = log.position == last[log._slate_index]
    pick[log._slate_index[at_last]] = np.asarray(per_row, dtype=np.float64)[at_last]
    return pick[log._slate_index]


def standard_ips(
    log: SlateLog,
    evaluation_pscore_cascade: np.ndarray,
    *,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
    cluster=None,
) -> Estimate:
    """Standard slate IPS: every position's reward weighted by the whole-slate ratio.

    >>> log = SlateLog(slate_id=[0, 0, 1, 1], position=[0, 1, 0, 1], reward=[1, 1, 0, 1],
    ...                pscore_cascade=[0.5, 0.25, 0.5, 0.25])
    >>> standard_ips(log, [1.0, 0.5, 1.0, 0.0]).value   # ((1 + 1) * 2 + 0) / 2
    2.0
    """
    if log.pscore_cascade is None:
        raise OPEInputError("the slate log has no sips behaviour propensities (pscore_cascade)")
    target = _float_vector("evaluation_pscore_cascade", evaluation_pscore_cascade, log.slate_id.shape[0])
    return _slate_estimate("sips", log, whole_slate(log, log.pscore_cascade), whole_slate(log, target),
                           "evaluation_pscore_cascade", cluster=cluster, alpha=alpha, interval=interval,
                           n_bootstrap=n_bootstrap, random_state=random_state)


def independent_ips(
    log: SlateLog,
    evaluation_pscore_item_position: np.ndarray,
    *,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
    cluster=None,
) -> Estimate:
    """Independent IPS (IIPS) estimate of the expected slate reward sum.

    Examples
    --------
    >>> log = SlateLog(slate_id=[0, 0, 1, 1], position=[0, 1, 0, 1], reward=[1, 0, 0, 1],
    ...                pscore_item_position=[0.5, 0.5, 0.5, 0.5])
    >>> independent_ips(log, [1.0, 0.5, 0.0, 0.5]).value     # ((2 + 0) + (0 + 1)) / 2
    1.5
    """
    return _slate_estimate("iips", log, log.pscore_item_position, evaluation_pscore_item_position,
                           "evaluation_pscore_item_position", cluster=cluster, alpha=alpha, interval=interval,
                           n_bootstrap=n_bootstrap, random_state=random_state)


def reward_interaction_ips(
    log: SlateLog,
    evaluation_pscore_cascade: np.ndarray,
    *,
    alpha: float = 0.05,
    interval: str = "clt",
    n_bootstrap: int = 200,
    random_state=None,
    cluster=None,
) -> Estimate:
    """Reward-interaction IPS (RIPS) estimate of the expected slate reward sum.

    Examples
    --------
    >>> log = SlateLog(slate_id=[0, 0, 1, 1], position=[0, 1, 0, 1], reward=[1, 1, 0, 1],
    ...                pscore_cascade=[0.5, 0.25, 0.5, 0.25])
    >>> reward_interaction_ips(log, [1.0, 0.5, 0.0, 0.0]).value   # ((2 + 2) + 0) / 2
    2.0
    """
    return _slate_estimate("rips", log, log.pscore_cascade, evaluation_pscore_cascade,
                           "evaluation_pscore_cascade", cluster=cluster, alpha=alpha, interval=interval,
                           n_bootstrap=n_bootstrap, random_state=random_state)
