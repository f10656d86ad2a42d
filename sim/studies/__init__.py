"""Studies beside the main workflow: fitted-user fidelity, realism, RL clients."""
