"""Off-policy evaluation on logged bandit feedback (numpy only; obp-compatible formats).

Examples
--------
>>> from banditsim.sim.ope import synthetic_log, softmax_target_policy, true_policy_value, ips, doubly_robust
>>> log = synthetic_log(20_000, 5, random_state=0)
>>> pi = softmax_target_policy(log)
>>> est = doubly_robust(log, pi)
>>> bool(est.low < true_policy_value(log, pi) < est.high)
True
"""

from banditsim.sim.ope.bernoulli_ts_zozotown import bernoulli_ts_action_dist, load_zozotown_prior
from banditsim.sim.ope.diagnostics import weight_diagnostics
from banditsim.sim.ope.direct import direct_method
from banditsim.sim.ope.doubly_robust import doubly_robust
from banditsim.sim.ope.intervals import Estimate, bootstrap_interval, clt_interval
from banditsim.sim.ope.ipw import ips, snips
from banditsim.sim.ope.log import BanditLog, OPEInputError, check_action_dist
from banditsim.sim.ope.log_file import read_log_file
from banditsim.sim.ope.obd_bts_check import bts_relative_value
from banditsim.sim.ope.obp_format import from_obp_dict, to_obp_dict
from banditsim.sim.ope.open_bandit_dataset import (
    evaluate_bts_from_random,
    load_open_bandit_dataset,
    obd_data_dir,
    on_policy_value,
    policy_from_pscores,
    zozotown_bts_action_dist,
)
from banditsim.sim.ope.reward_model import RidgeRewardModel
from banditsim.sim.ope.slate import SlateLog, cascade_pscore, independent_ips, reward_interaction_ips, standard_ips
from banditsim.sim.ope.switch_dr import switch_dr
from banditsim.sim.ope.synthetic import softmax_target_policy, synthetic_log, true_policy_value

__all__ = [
    "BanditLog", "Estimate", "OPEInputError", "RidgeRewardModel", "SlateLog",
    "bernoulli_ts_action_dist", "bootstrap_interval", "bts_relative_value", "cascade_pscore",
    "check_action_dist", "clt_interval", "direct_method", "doubly_robust", "evaluate_bts_from_random",
    "from_obp_dict", "independent_ips", "ips", "load_open_bandit_dataset", "load_zozotown_prior",
    "obd_data_dir", "on_policy_value", "policy_from_pscores", "read_log_file", "reward_interaction_ips",
    "snips", "softmax_target_policy", "standard_ips", "switch_dr", "synthetic_log", "to_obp_dict",
    "true_policy_value", "weight_diagnostics", "zozotown_bts_action_dist",
]  # fmt: skip
