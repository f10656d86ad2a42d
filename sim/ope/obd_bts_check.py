"""The Open Bandit Dataset check: Bernoulli TS (ZOZOTOWN prior) against the random policy.

Open Bandit Pipeline's README evaluates ``BernoulliTS(is_zozotown_prior=True)`` on the
random policy's log of campaign ``all`` by IPW and divides by the random log's mean click
rate: a relative value of **1.198**. :func:`bts_relative_value` does the same with
:mod:`banditsim.sim.ope.bernoulli_ts_zozotown` (obp's action distribution, exactly, for the same
seed) and reports two errors:

- sampling error of the 10,000 logged rounds: a delta-method CLT interval of the ratio
  ``sum(w r) / sum(r)`` (``relative.low``, ``relative.high``);
- Monte-Carlo error of the ``n_sim`` simulated slates (``mc_se``). The estimate is linear in
  the action distribution, so it is the mean over simulated slates ``s`` of
  ``Y_s = sum_k c[slate_s[k], k] / mean(r)`` with ``c[a, k] = sum_{i: a_i=a, k_i=k}
  r_i / pscore_i / n``; the slates are iid, so ``mc_se = std(Y) / sqrt(n_sim)`` exactly.

The random log of ``all`` has only 38 clicks, so ``Y`` is lumpy: obp's ``n_sim=100_000``
leaves a Monte-Carlo error of 0.0049 (0.4%) on 1.198; the default here, ``n_sim=1_000_000``
(about 8 s of CPU for ``all``), brings it to about 0.0016 (0.13%). The sampling error of
the log is far larger (95% interval about 0.19 to 2.21 for ``all``): the check pins the
arithmetic to obp's, it does not show that BTS beats random.

Run ``python -m banditsim.sim.ope.obd_bts_check [--n-sim N] [--seed S] [campaign ...]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from banditsim.sim.ope.bernoulli_ts_zozotown import ZOZOTOWN_CAMPAIGNS, load_zozotown_prior, sample_bernoulli_ts_slates
from banditsim.sim.ope.bernoulli_ts_zozotown import slate_action_dist
from banditsim.sim.ope.intervals import Estimate, make_estimate
from banditsim.sim.ope.ipw import ips
from banditsim.sim.ope.log import BanditLog, OPEInputError
from banditsim.sim.ope.open_bandit_dataset import load_open_bandit_dataset, on_policy_value

# obp 0.4.1 README, "relative_policy_value_of_bernoulli_ts" (BernoulliTS, ZOZOTOWN prior, IPW)
OBP_README_RELATIVE_VALUE = {"all": 1.198}


@dataclass(frozen=True)
class BTSRelativeValue:
    """Bernoulli TS's IPW value on a campaign's random log, relative to the random policy."""

    campaign: str
    n_sim: int
    random_state: int
    relative: Estimate  # value with the sampling (delta-method CLT) interval
    mc_se: float  # Monte-Carlo standard error of relative.value (n_sim simulated slates)
    bts_ipw: Estimate  # IPW estimate of BTS's click rate
    random_value: Estimate  # on-policy click rate of the random log

    def __str__(self) -> str:
        ref = OBP_README_RELATIVE_VALUE.get(self.campaign)
        ref_text = f"{ref:.3f}" if ref is not None else "-"
        return (f"{self.campaign:<6} {self.relative.value:8.4f} ± {self.mc_se:.4f} (MC) "
                f"[{self.relative.low:.3f}, {self.relative.high:.3f}]  obp README {ref_text}  "
                f"BTS IPW {self.bts_ipw.value:.5f}  random {self.random_value.value:.5f}")


def bts_relative_value(
    campaign: str = "all",
    n_sim: int = 1_000_000,
    random_state: int = 12345,
    data_dir: str | Path | None = None,
    alpha: float = 0.05,
    log: BanditLog | None = None,
) -> BTSRelativeValue:
    """IPW value of Bernoulli TS (ZOZOTOWN prior) / random policy's value, on the random log.

    ``log`` (optional) is the campaign's random log already loaded, to skip reading the CSV.

    Examples
    --------
    >>> res = bts_relative_value("all", n_sim=20_000)    # MC error ~1%: use the default
    >>> round(res.relative.value, 3), round(res.mc_se, 3)
    (1.219, 0.011)
    """
    if log is None:
        log = load_open_bandit_dataset("random", campaign, data_dir)
    alpha_prior, beta_prior = load_zozotown_prior(campaign)
    if alpha_prior.size != log.n_actions:
        raise OPEInputError(f"the ZOZOTOWN prior of campaign {campaign!r} has {alpha_prior.size} "
                            f"items, the log has {log.n_actions}")
    mean_reward = float(log.reward.mean())
    if mean_reward <= 0.0:
        raise OPEInputError(f"campaign {campaign!r}: the random log has no clicks, no relative value")
    slates = sample_bernoulli_ts_slates(alpha_prior, beta_prior, log.len_list, n_sim, random_state)
    dist = slate_action_dist(slates, log.n_actions)
    action_dist = np.broadcast_to(dist, (log.n_rounds, *dist.shape))
    bts_ipw = ips(log, action_dist, alpha=alpha)
    # per-round IPW terms, and the same ratio with a delta-method interval
    w = dist[log.action, log.position] / log.pscore
    relative = make_estimate("bts/random (ipw)", w * log.reward, log.reward, alpha=alpha)
    coef = np.zeros((log.n_actions, log.len_list))
    np.add.at(coef, (log.action, log.position), log.reward / log.pscore)
    per_slate = coef[slates, np.arange(log.len_list)[None, :]].sum(axis=1) / (log.n_rounds * mean_reward)
    mc_se = float(per_slate.std(ddof=1) / np.sqrt(n_sim)) if n_sim > 1 else float("inf")
    return BTSRelativeValue(campaign, n_sim, random_state, relative, mc_se, bts_ipw, on_policy_value(log, alpha))


def main(argv: list[str] | None = None) -> int:
    """Print the check for the given campaigns (default: all three); exit 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m banditsim.sim.ope.obd_bts_check", description=__doc__.split("\n")[0])
    parser.add_argument("campaigns", nargs="*", default=list(ZOZOTOWN_CAMPAIGNS))
    parser.add_argument("--n-sim", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    try:
        results = [bts_relative_value(c, args.n_sim, args.seed) for c in args.campaigns]
    except OPEInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Bernoulli TS (ZOZOTOWN prior) / random, IPW on the random log; n_sim={args.n_sim}, "
          f"seed={args.seed}; ± Monte-Carlo s.e., [95% sampling interval]")
    for res in results:
        print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
