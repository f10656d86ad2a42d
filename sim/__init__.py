"""Experiments over the world and the agents, in wings that read as the workflow.

From the ground up (each wing imports only wings below it):

- ``atomic``, ``progress``, ``interrupts``, ``errors_cli``: the process's leaves (atomic writes,
  progress bars, Ctrl-C, one-line errors);
- ``config/``: the YAML/TOML schema and its files; ``stats/``: intervals and the Welch test;
  ``metrics/``: the metric registry; ``ope/``: the off-policy estimator library;
- ``report/``: summary, tables, plots and ``report.html`` of a results folder;
- ``run/``: prepare the world, play the cells, keep the results folder (writes through report/);
- ``policies/``: frozen policies for the experiments that compare policies;
- ``offline/`` (``banditsim ope``) and ``abtest/`` (``banditsim abtest``): the two experiments;
- ``studies/``: fidelity, production realism, RL clients;
- ``cli``: the ``banditsim`` command on top.

Each wing's ``__init__`` gathers its public names (``from banditsim.sim.run import
run_experiment``); this package imports none of them, so ``import banditsim.sim.cli`` stays light.
"""
