"""Off-policy evaluation on logged bandit feedback (numpy only; obp-compatible formats).

Examples
--------
>>> from sim.ope import synthetic_log, softmax_target_policy, true_policy_value, ips, doubly_robust
>>> log = synthetic_log(20_000, 5, random_state=0)
>>> pi = softmax_target_policy(log)
>>> est = doubly_robust(log, pi)
>>> bool(est.low < true_policy_value(log, pi) < est.high)
True
"""

from sim.ope.direct import direct_method
from sim.ope.doubly_robust import doubly_robust
from sim.ope.intervals import Estimate, bootstrap_interval, clt_interval
from sim.ope.ipw import ips, snips
from sim.ope.log import BanditLog, OPEInputError, check_action_dist
from sim.ope.obp_format import from_obp_dict, to_obp_dict
from sim.ope.open_bandit_dataset import (
    evaluate_bts_from_random,
    load_open_bandit_dataset,
    obd_data_dir,
    on_policy_value,
    policy_from_pscores,
)
from sim.ope.reward_model import RidgeRewardModel
from sim.ope.slate import SlateLog, cascade_pscore, independent_ips, reward_interaction_ips
from sim.ope.switch_dr import switch_dr
from sim.ope.synthetic import softmax_target_policy, synthetic_log, true_policy_value

__all__ = [
    "BanditLog", "Estimate", "OPEInputError", "RidgeRewardModel", "SlateLog",
    "bootstrap_interval", "cascade_pscore", "check_action_dist", "clt_interval",
    "direct_method", "doubly_robust", "evaluate_bts_from_random", "from_obp_dict",
    "independent_ips", "ips", "load_open_bandit_dataset", "obd_data_dir", "on_policy_value",
    "policy_from_pscores", "reward_interaction_ips", "snips", "softmax_target_policy",
    "switch_dr", "synthetic_log", "to_obp_dict", "true_policy_value",
]  # fmt: skip
