"""Experiments over the world and the agents: runs, metrics, logs, estimates, plots, CLI."""

__version__ = "0.1.0"
