"""Run a sweep: every (agent, seed) cell of a config, into a results directory.

Results directory::

    manifest.json     config with every default, seeds, versions, git commit, embedding model/cache key
    metrics.parquet   per agent, seed and step
    summary.json      per agent: figures with 95% intervals over seeds
    log.parquet       interaction log with propensities (OBP-style columns)
    genres.parquet    recommendations per genre, items.parquet per item
    *.png             plots
    cells/            per-cell files; a killed sweep resumes from them (``resume=True``)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from envs.errors import BanditsimError
from sim.atomic import write_json
from sim.cells import Cell, is_complete, merge_cells, write_cell
from sim.config import RunConfig
from sim.prepare import Prepared, prepare

MANIFEST = "manifest.json"


@dataclass
class RunResult:
    """Where a run wrote its results and what it found."""

    out_dir: Path
    summary: dict
    cells_run: int
    cells_reused: int
    seconds: float
    plots: list[Path]


def all_cells(cfg: RunConfig) -> list[Cell]:
    """Cells in a fixed order: seed-major, then agent."""
    return [Cell(a, spec.label, s) for s in range(cfg.run.seeds) for a, spec in enumerate(cfg.agents)]


def _cell_job(prep: Prepared, cell: Cell) -> dict:
    from sim.play import play_cell

    return play_cell(prep, cell)


def _is_partial(path: Path) -> bool:
    """A temporary file of :mod:`sim.atomic` that a killed run left behind (never a result)."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _remove_partials(out_dir: Path) -> None:
    for folder in (out_dir, out_dir / "cells"):
        if folder.is_dir():
            for p in folder.iterdir():
                if _is_partial(p) and p.is_file():
                    p.unlink(missing_ok=True)


def _check_out_dir(out_dir: Path, cfg: RunConfig, resume: bool) -> None:
    manifest = out_dir / MANIFEST
    if not out_dir.exists():
        parent = next((p for p in out_dir.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():  # found now, not after the embedding
            raise BanditsimError(f"cannot create output folder {out_dir}: {parent} is not a folder")
        return
    if not out_dir.is_dir():
        raise BanditsimError(f"output path {out_dir} exists and is not a folder")
    if not manifest.is_file():
        if any(not _is_partial(p) for p in out_dir.iterdir()):
            raise BanditsimError(f"output folder {out_dir} is not empty and holds no banditsim run; "
                                 "choose another --out")
        return
    try:
        old = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError):
        raise BanditsimError(f"{manifest} is unreadable; choose another --out") from None
    if not resume:
        raise BanditsimError(f"{out_dir} already holds a run; pass --resume to continue it or choose "
                             "another --out")
    if old.get("config") != json.loads(cfg.model_dump_json()):
        raise BanditsimError(f"{out_dir} holds a run of a different config; --resume needs the same "
                             "config (or choose another --out)")


def check_agents(prep: Prepared) -> None:
    """Build every agent of the config once, so a bad parameter value (``epsilon: 2``) is one
    error line before the results folder exists, not a crash in the first cell."""
    from sim.play import build_agent

    for index, spec in enumerate(prep.config.agents):
        try:
            build_agent(prep, index, 0)
        except (ValueError, TypeError) as exc:  # a parameter's value or type
            raise BanditsimError(f"agent {spec.label!r}: {exc}") from None


def manifest_dict(cfg: RunConfig, prep: Prepared | None, status: str, extra: dict | None = None) -> dict:
    """The manifest: config with defaults, seeds, environment, embedding identity."""
    from sim.manifest import environment
    from sim.seeding import agent_seed, world_seed

    seeds = [{"seed": s, "world_entropy": str(world_seed(cfg.run.root_seed, s).entropy),
              "world_spawn_key": list(world_seed(cfg.run.root_seed, s).spawn_key),
              "agent_spawn_keys": [list(agent_seed(cfg.run.root_seed, s, a).spawn_key)
                                   for a in range(len(cfg.agents))]}
             for s in range(min(cfg.run.seeds, 1000))]
    out = {"status": status, "config": json.loads(cfg.model_dump_json()), "seeds": seeds,
           "environment": environment()}
    if prep is not None:
        out["embedding"] = prep.embedding_info
        out["catalog"] = {"n_items": len(prep.item_ids), "n_initial": prep.n_initial,
                          "population": getattr(prep.population, "source", "?"),
                          "n_people": int(prep.population.n_users)}
    out.update(extra or {})
    return out


def run_experiment(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True,
                   log: Callable[[str], None] = print) -> RunResult:
    """Run every unfinished cell of ``cfg`` and write the results directory."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, cfg, resume)
    prep = prepare(cfg, progress=progress)
    check_agents(prep)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_partials(out_dir)  # half-written files of a killed run
    write_json(out_dir / MANIFEST, manifest_dict(cfg, prep, "running"))
    cells = all_cells(cfg)
    todo = [c for c in cells if not is_complete(out_dir, c)]
    reused = len(cells) - len(todo)
    if reused:
        log(f"resuming: {reused} of {len(cells)} cells already done, {len(todo)} to run")
    run_cells(prep, todo, out_dir, progress)
    return finish(out_dir, cfg, prep, cells, len(todo), reused, start)


def run_cells(prep: Prepared, cells: list[Cell], out_dir: Path, progress: bool) -> None:
    """Play ``cells`` on the config's backend and write each one's files as it finishes."""
    from tqdm.auto import tqdm

    from sim.backends import run_local, run_ray

    run = prep.config.run
    if run.backend == "ray":
        stream = run_ray(_cell_job, prep, cells, address=run.ray_address, workers=run.workers)
    else:
        stream = run_local(_cell_job, prep, cells, workers=run.workers)
    with tqdm(total=len(cells), desc="cells (agent × seed)", unit="cell", disable=not progress) as bar:
        for cell, tables in stream:
            write_cell(out_dir, cell, tables)
            bar.update(1)


def finish(out_dir: Path, cfg: RunConfig, prep: Prepared, cells: list[Cell], ran: int, reused: int,
           start: float) -> RunResult:
    """Merge cell files, write summary, plots and the final manifest."""
    from sim.plots import plot_results, read_columns
    from sim.summary import summarise

    for part, name in (("metrics", "metrics.parquet"), ("log", "log.parquet"),
                       ("genres", "genres.parquet"), ("items", "items.parquet")):
        merge_cells(out_dir, cells, part, out_dir / name)
    summary = summarise(read_columns(out_dir / "metrics.parquet"))
    write_json(out_dir / "summary.json", {"config_name": cfg.name, "agents": summary})
    plots = plot_results(out_dir)
    seconds = time.perf_counter() - start
    write_json(out_dir / MANIFEST, manifest_dict(cfg, prep, "complete",
                                                 {"cells": len(cells), "cells_run": ran,
                                                  "cells_reused": reused, "seconds": round(seconds, 2)}))
    return RunResult(out_dir, summary, ran, reused, seconds, plots)
