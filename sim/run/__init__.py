"""Running an experiment: prepare the world and the agents from a run config, play every
(agent, seed) cell on a local or Ray backend with delayed feedback, and keep the results folder
(claimed, resumable, with its manifest). :func:`run_experiment` is the one runner;
:func:`run_prepared` starts it from a world already prepared. It stands on sim/config/ and
sim/metrics/ and writes its results through sim/report/; the learning trace replays its cells."""

from banditsim.sim.run.cells import Cell
from banditsim.sim.run.feedback_delay import FeedbackSchedule
from banditsim.sim.run.learning_trace import plot_trace, trace_recommendations, trace_table
from banditsim.sim.run.play import build_agent, play_cell, start_world
from banditsim.sim.run.prepare import Prepared, prepare
from banditsim.sim.run.results_folder import claimed
from banditsim.sim.run.runner import RunResult, run_experiment, run_prepared
from banditsim.sim.run.seeding import agent_seed, world_seed

__all__ = ["Cell", "FeedbackSchedule", "Prepared", "RunResult", "agent_seed", "build_agent", "claimed",
           "play_cell", "plot_trace", "prepare", "run_experiment", "run_prepared", "start_world",
           "trace_recommendations", "trace_table", "world_seed"]
