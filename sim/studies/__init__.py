"""Studies beside the main workflow, each behind a notebook or a bench: how well fitted users
predict held-out ratings (fidelity), what production realism (delays, update cadence, drift,
privacy) costs each agent, and bandits against RL clients on the Gymnasium env. They sit on top
and may use every other wing; nothing imports them but the CLI."""

from banditsim.sim.studies.fidelity import fidelity
from banditsim.sim.studies.realism_study import RealismStudy
from banditsim.sim.studies.rl_compare import compare

__all__ = ["RealismStudy", "compare", "fidelity"]
