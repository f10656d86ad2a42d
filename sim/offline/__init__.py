"""The off-policy experiment (``banditsim ope``): log a frozen policy in the simulator, estimate
each target policy's value with the estimators of :mod:`banditsim.sim.ope` (the library, beside
this wing), and hold every estimate against the simulator's exact truth; or estimate on a user's
own log, which has no truth. Its policies are sim/policies/'s frozen ones; it stands on sim/run/
(to prepare the world) and writes through sim/report/."""

from banditsim.sim.offline.config import OPEConfig, load_ope_config
from banditsim.sim.offline.experiment import OPEResult, estimate_all, run_ope_experiment, run_ope_from_config
from banditsim.sim.offline.log_file import estimate_log_file
from banditsim.sim.offline.output import ope_table, write_log_ope_results, write_ope_results

__all__ = ["OPEConfig", "OPEResult", "estimate_all", "estimate_log_file", "load_ope_config", "ope_table",
           "run_ope_experiment", "run_ope_from_config", "write_log_ope_results", "write_ope_results"]
