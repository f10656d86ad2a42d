"""The off-policy experiment: log a policy in the simulator, estimate targets, compare with the truth
(the estimators themselves live in :mod:`banditsim.sim.ope`)."""
