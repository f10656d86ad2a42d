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

from envs.errors import BanditsimError


def run_prepared(prep, out_dir: str | Path, *, progress: bool = False,
                 log: Callable[[str], None] = print):
    """Run every cell of ``prep.config`` into a new results directory ``out_dir``.

    ``out_dir`` must not exist or be empty (use :func:`sim.runner.run_experiment` with
    ``resume=True`` to continue a killed sweep). Same files, same numbers as
    ``run_experiment(prep.config, out_dir)``.
    """
    from sim.atomic import write_json
    from sim.runner import MANIFEST, all_cells, check_agents, finish, manifest_dict, run_cells

    start = time.perf_counter()
    cfg = prep.config
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BanditsimError(f"{out_dir} exists and is not an empty folder; choose another out_dir")
    check_agents(prep)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / MANIFEST, manifest_dict(cfg, prep, "running"))
    cells = all_cells(cfg)
    log(f"{cfg.name}: {len(cells)} cells ({len(cfg.agents)} agents × {cfg.run.seeds} seeds), "
        f"{cfg.world.n_users} users × {cfg.run.horizon} steps each")
    run_cells(prep, cells, out_dir, progress)
    return finish(out_dir, cfg, prep, cells, len(cells), 0, start)
