"""Experiments over the world and the agents: runs, metrics, logs, estimates, plots, CLI."""
