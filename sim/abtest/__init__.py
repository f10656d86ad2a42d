"""Simulated A/B tests (``banditsim abtest``): two frozen policies on split users, the lift of every
metric with its Welch interval and p-value, guardrails, the users per arm a test needs, and a
power check by repeated simulated tests; plus the ship/hold decision over A/B lifts and OPE rows.
Its policies are sim/policies/'s frozen ones; it prepares the world through sim/run/ and writes
through sim/report/."""

from banditsim.sim.abtest.config import ABTestConfig, load_abtest_config
from banditsim.sim.abtest.decision import ab_decision, plot_lifts, rank_candidates
from banditsim.sim.abtest.experiment import ABResult, run_abtest, run_abtest_from_config
from banditsim.sim.abtest.output import lift_rich_table, power_rich_table, write_abtest_results

__all__ = ["ABResult", "ABTestConfig", "ab_decision", "lift_rich_table", "load_abtest_config", "plot_lifts",
           "power_rich_table", "rank_candidates", "run_abtest", "run_abtest_from_config", "write_abtest_results"]
