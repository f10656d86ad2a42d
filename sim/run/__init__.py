"""Running an experiment: prepare the world and agents, play the cells, keep the results folder."""
