"""The Open Bandit Dataset sample (ZOZOTOWN, Saito et al. 2021) as :class:`BanditLog` s.

The sample ships inside the ``obp`` wheel under ``obp/dataset/obd/{random,bts}/{campaign}/``
as ``{campaign}.csv`` (10,000 rounds; ``item_id``, ``position`` 1..3, ``click``,
``propensity_score``, hashed ``user_feature_0..3``) and ``item_context.csv``. The CSVs are
read by path with pyarrow: ``obp`` is located with :func:`importlib.util.find_spec`
(which does not import it), or pass ``data_dir`` (the ``obd`` folder) yourself.

Features follow obp's ``OpenBanditDataset.pre_process``: context = one-hot user features
(first category dropped), action_context = label-encoded categorical item features then
``item_feature_0``; positions are re-indexed 0..2.

:func:`evaluate_bts_from_random` evaluates Bernoulli TS with the ZOZOTOWN prior (obp's
evaluation policy) on the random log; :func:`policy_from_pscores` is only a proxy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from banditsim.sim.ope.bernoulli_ts_zozotown import bernoulli_ts_action_dist, load_zozotown_prior
from banditsim.sim.ope.doubly_robust import doubly_robust
from banditsim.sim.ope.intervals import Estimate, make_estimate
from banditsim.sim.ope.ipw import ips, snips
from banditsim.sim.ope.log import BanditLog, OPEInputError

OBD_POLICIES = ("random", "bts")
OBD_CAMPAIGNS = ("all", "men", "women")


def obd_data_dir() -> Path:
    """The ``obd`` folder inside the installed ``obp`` wheel (``obp`` is not imported)."""
    spec = importlib.util.find_spec("obp")
    if spec is None or not spec.submodule_search_locations:
        raise OPEInputError("data_dir not given and obp is not installed: pip install --no-deps obp==0.4.1")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "obd"
    if not path.is_dir():
        raise OPEInputError(f"data_dir: the obp install has no Open Bandit Dataset sample at {path}")
    return path


def _codes(column) -> np.ndarray:
    return np.unique(column.to_numpy(zero_copy_only=False), return_inverse=True)[1].ravel()


def _one_hot_drop_first(codes: np.ndarray) -> np.ndarray:
    k = int(codes.max()) + 1
    return (codes[:, None] == np.arange(1, k)[None, :]).astype(np.float64)


def load_open_bandit_dataset(
    behavior_policy: str = "random", campaign: str = "all", data_dir: str | Path | None = None
) -> BanditLog:
    """Load one behaviour policy's log of one campaign as a :class:`BanditLog`.

    Examples
    --------
    >>> log = load_open_bandit_dataset("random", "all")
    >>> log.n_rounds, log.n_actions, log.len_list, log.context.shape[0]
    (10000, 80, 3, 10000)
    """
    from pyarrow import csv

    if behavior_policy not in OBD_POLICIES:
        raise OPEInputError(f"behavior_policy must be one of {OBD_POLICIES}, got {behavior_policy!r}")
    if campaign not in OBD_CAMPAIGNS:
        raise OPEInputError(f"campaign must be one of {OBD_CAMPAIGNS}, got {campaign!r}")
    folder = (Path(data_dir) if data_dir is not None else obd_data_dir()) / behavior_policy / campaign
    log_path, item_path = folder / f"{campaign}.csv", folder / "item_context.csv"
    for path in (log_path, item_path):
        if not path.is_file():
            raise OPEInputError(f"data_dir: missing Open Bandit Dataset file {path}")
    table = csv.read_csv(log_path)
    items = csv.read_csv(item_path)
    item_order = np.argsort(items["item_id"].to_numpy())
    n_actions = int(items.num_rows)
    user_cols = sorted(c for c in table.column_names if c.startswith("user_feature"))
    context = np.hstack([_one_hot_drop_first(_codes(table[c])) for c in user_cols])
    item_cat = [c for c in sorted(items.column_names) if c.startswith("item_feature") and c != "item_feature_0"]
    action_context = np.column_stack(
        [_codes(items[c]) for c in item_cat] + [items["item_feature_0"].to_numpy()]
    )[item_order].astype(np.float64)
    position = np.unique(table["position"].to_numpy(), return_inverse=True)[1].ravel()
    return BanditLog(
        n_actions=n_actions,
        action=table["item_id"].to_numpy(),
        reward=table["click"].to_numpy().astype(np.float64),
        pscore=table["propensity_score"].to_numpy(),
        position=position,
        context=context,
        action_context=action_context,
    )


def policy_from_pscores(log: BanditLog) -> np.ndarray:
    """A PROXY policy, not Bernoulli TS: the mean logged ``pscore`` per (item, position) of
    a log, normalised to sum to 1 per position, as a context-free ``(n_actions, len_list)``.

    It only summarises what the logging policy did on average; it is not the policy that
    logged it (on the Open Bandit Dataset it gives BTS a relative value of 1.594, against
    1.198 for obp's actual Bernoulli TS). For Bernoulli TS use
    :func:`banditsim.sim.ope.bernoulli_ts_zozotown.bernoulli_ts_action_dist`. Pairs never logged get
    probability 0.

    Examples
    --------
    >>> log = BanditLog(n_actions=3, action=[0, 1, 1, 0], reward=[0, 1, 0, 0],
    ...                 pscore=[0.6, 0.2, 0.4, 0.3], position=[0, 0, 0, 1])
    >>> policy_from_pscores(log).round(3).tolist()
    [[0.667, 1.0], [0.333, 0.0], [0.0, 0.0]]
    """
    key = log.position * log.n_actions + log.action
    size = log.len_list * log.n_actions
    counts = np.bincount(key, minlength=size)
    mean = np.bincount(key, weights=log.pscore, minlength=size) / np.maximum(counts, 1)
    mean = mean.reshape(log.len_list, log.n_actions).T
    return mean / mean.sum(axis=0, keepdims=True)


def on_policy_value(log: BanditLog, alpha: float = 0.05) -> Estimate:
    """Mean reward in a policy's own log, with a CLT interval."""
    return make_estimate("on-policy", log.reward, alpha=alpha)


def zozotown_bts_action_dist(
    campaign: str, n_actions: int, len_list: int = 3, n_sim: int = 100_000, random_state: int = 12345
) -> np.ndarray:
    """Bernoulli TS with the ZOZOTOWN prior of ``campaign``: ``(n_actions, len_list)`` by
    ``n_sim`` simulations (obp's ``compute_batch_action_dist``; exact for the same seed).

    Examples
    --------
    >>> zozotown_bts_action_dist("women", 46, n_sim=1_000).shape
    (46, 3)
    """
    alpha_prior, beta_prior = load_zozotown_prior(campaign)
    if alpha_prior.size != n_actions:
        raise OPEInputError(
            f"the ZOZOTOWN prior of campaign {campaign!r} has {alpha_prior.size} items, "
            f"the log has {n_actions}"
        )
    return bernoulli_ts_action_dist(alpha_prior, beta_prior, len_list, n_sim, random_state)


def evaluate_bts_from_random(
    campaign: str = "all",
    data_dir: str | Path | None = None,
    alpha: float = 0.05,
    n_sim: int = 100_000,
    random_state: int = 12345,
) -> dict[str, Estimate]:
    """Estimate Bernoulli TS's click rate from the random log (IPS, SNIPS, DR) beside the
    deployed BTS's on-policy click rate (its own log).

    The target is Bernoulli TS with the ZOZOTOWN prior of ``campaign`` (obp's evaluation
    policy; :func:`zozotown_bts_action_dist`, ``n_sim`` simulations). The deployed BTS
    updated its posterior while logging, so "on-policy" is a reference, not the truth for
    the prior-only policy. DR uses a :class:`~banditsim.sim.ope.reward_model.RidgeRewardModel`
    (context ⊗ item one-hot, per position) fitted on the random log. For the relative
    value and its Monte-Carlo error see :mod:`banditsim.sim.ope.obd_bts_check`.

    Examples
    --------
    >>> res = evaluate_bts_from_random("all", n_sim=10_000)
    >>> sorted(res)
    ['dr', 'ips', 'on-policy', 'snips']
    >>> all(e.low <= e.value <= e.high for e in res.values())
    True
    """
    random_log = load_open_bandit_dataset("random", campaign, data_dir)
    bts_log = load_open_bandit_dataset("bts", campaign, data_dir)
    if bts_log.n_actions != random_log.n_actions or bts_log.len_list != random_log.len_list:
        raise OPEInputError("data_dir: the random and bts logs disagree on items or positions")
    pi = zozotown_bts_action_dist(campaign, random_log.n_actions, random_log.len_list, n_sim, random_state)
    action_dist = np.broadcast_to(pi, (random_log.n_rounds, *pi.shape))
    return {
        "ips": ips(random_log, action_dist, alpha=alpha),
        "snips": snips(random_log, action_dist, alpha=alpha),
        "dr": doubly_robust(random_log, action_dist, alpha=alpha),
        "on-policy": on_policy_value(bts_log, alpha=alpha),
    }
