"""Run a sweep from an already prepared config, so a notebook embeds and fits users only once.

:func:`sim.runner.run_experiment` prepares the catalog, embeddings and users itself. A notebook
that first looks at the items and users (through :func:`sim.prepare.prepare`) passes that same
:class:`~sim.prepare.Prepared` here and gets the same results directory and
:class:`~sim.runner.RunResult`, without a second embedding pass and population fit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from banditsim.envs.errors import BanditsimError


def run_prepared(prep, out_dir: str | Path, *, progress: bool = False,
                 log: Callable[[str], None] = print):
    """Run every cell of ``prep.config`` into a new results directory ``out_dir``.

    ``out_dir`` must not exist or be empty (use :func:`sim.runner.run_experiment` with
    ``resume=True`` to continue a killed sweep). Same files, same numbers as
    ``run_experiment(prep.config, out_dir)``.
    """
    from banditsim.sim.run.results_folder import claimed
    from banditsim.sim.run.runner import check_agents, run_in_folder

    start = time.perf_counter()
    cfg = prep.config
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BanditsimError(f"{out_dir} exists and is not an empty folder; choose another out_dir")
    check_agents(cfg, len(prep.item_ids))
    with claimed(out_dir, "run"):
        log(f"{cfg.name}: {cfg.run.seeds * len(cfg.agents)} cells ({len(cfg.agents)} agents × {cfg.run.seeds} "
            f"seeds), {cfg.world.n_users} users × {cfg.run.horizon} steps each")
        return run_in_folder(prep, out_dir, None, start, log, progress)
