"""Run a sweep: every (agent, seed) cell of a config, into a results directory.

:func:`run_experiment` prepares the catalog, embeddings and users itself; :func:`run_prepared`
takes them already prepared (a notebook that looked at the items and users through
:func:`banditsim.sim.run.prepare.prepare` embeds and fits only once). Both write the same folder.

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

from banditsim.envs.errors import BanditsimError
from banditsim.sim.atomic import is_partial, write_json
from banditsim.sim.run.cells import Cell, cell_problem, is_complete, merge_cells, remove_cell, write_cell
from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.run.prepare import Prepared, prepare
from banditsim.sim.run.results_folder import claimed

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
    report: Path | None = None


def all_cells(cfg: RunConfig) -> list[Cell]:
    """Cells in a fixed order: seed-major, then agent."""
    return [Cell(a, spec.label, s) for s in range(cfg.run.seeds) for a, spec in enumerate(cfg.agents)]


def _cell_job(prep: Prepared, cell: Cell) -> dict:
    from banditsim.sim.run.play import play_cell

    return play_cell(prep, cell)


def _remove_partials(out_dir: Path) -> None:
    """Delete the temporary files a killed run of ours left (only our own name pattern)."""
    for folder in (out_dir, out_dir / "cells"):
        if folder.is_dir():
            for p in folder.iterdir():
                if is_partial(p) and p.is_file():
                    p.unlink(missing_ok=True)


#: settings that decide where cells run, never their numbers: they may differ on --resume
WHERE_NOT_WHAT = ("run.workers", "run.backend", "run.ray_address")


def _flat(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flat(v, f"{prefix}{i}."))
        return out or {prefix[:-1]: []}
    return {prefix[:-1]: obj}


def first_difference(old: dict, new: dict, ignore: tuple[str, ...] = ()) -> tuple[str, object, object] | None:
    """The first dotted key whose value differs between two nested dicts, with both values.

    >>> first_difference({"run": {"seeds": 2, "workers": 1}}, {"run": {"seeds": 3, "workers": 4}},
    ...                  ignore=("run.workers",))
    ('run.seeds', 2, 3)
    """
    a, b = _flat(old), _flat(new)
    for key in list(dict.fromkeys([*a, *b])):
        if key in ignore:
            continue
        if a.get(key, "(absent)") != b.get(key, "(absent)"):
            return key, a.get(key, "(absent)"), b.get(key, "(absent)")
    return None


def _read_manifest(out_dir: Path) -> dict | None:
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return None
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise BanditsimError(f"{manifest} is unreadable; choose another --out") from None
    if not isinstance(old, dict) or not isinstance(old.get("config"), dict):
        raise BanditsimError(f"{manifest} is not a banditsim manifest (no config object); choose another --out")
    return old


def _check_resume(out_dir: Path, old: dict | None, cfg: RunConfig, resume: bool) -> None:
    """Refuse, before any work, a folder holding another run, or a resume of a different config."""
    if old is None:
        return
    if not resume:
        raise BanditsimError(f"{out_dir} already holds a run; pass --resume to continue it or choose "
                             "another --out")
    diff = first_difference(old["config"], json.loads(cfg.model_dump_json()), WHERE_NOT_WHAT)
    if diff:
        key, was, now = diff
        raise BanditsimError(f"cannot resume {out_dir}: config key {key} was {was!r}, now {now!r}; "
                             "--resume needs the same config (or choose another --out)")


def _check_inputs(out_dir: Path, old: dict | None, prep: Prepared) -> None:
    """On resume, the catalog, population sources and embedding model must hash as before."""
    if old is None:
        return
    before = old.get("inputs")
    if not isinstance(before, dict):
        raise BanditsimError(f"cannot resume {out_dir}: its manifest records no input hashes (written by an "
                             "older banditsim), so the catalog and users cannot be checked; choose another --out")
    diff = first_difference(before, prep.inputs)
    if diff:
        key, was, now = diff
        raise BanditsimError(f"cannot resume {out_dir}: input {key} changed since the run started "
                             f"(was {was}, now {now}); --resume needs the same inputs (or choose another --out)")


def check_agents(cfg: RunConfig, n_items: int) -> None:
    """Build every agent of the config once over the catalog's ``n_items`` arms, so a bad parameter
    value (``epsilon: 2``) is one error line before the embedding and before the results folder is
    written, not a crash in the first cell."""
    from banditsim.sim.run.play import make_config_agent

    for index, spec in enumerate(cfg.agents):
        try:
            make_config_agent(cfg, index, n_items, 0)
        except (ValueError, TypeError) as exc:  # a parameter's value or type
            raise BanditsimError(f"agent {spec.label!r}: {exc}") from None


def manifest_dict(cfg: RunConfig, prep: Prepared | None, status: str, extra: dict | None = None) -> dict:
    """The manifest: config with defaults, seeds, environment, embedding identity."""
    from banditsim.sim.run.manifest import environment
    from banditsim.sim.run.seeding import agent_seed, world_seed

    seeds = [{"seed": s, "world_entropy": str(world_seed(cfg.run.root_seed, s).entropy),
              "world_spawn_key": list(world_seed(cfg.run.root_seed, s).spawn_key),
              "agent_spawn_keys": [list(agent_seed(cfg.run.root_seed, s, a).spawn_key)
                                   for a in range(len(cfg.agents))]}
             for s in range(min(cfg.run.seeds, 1000))]
    out = {"status": status, "config": json.loads(cfg.model_dump_json()), "seeds": seeds,
           "environment": environment()}
    if prep is not None:
        out["inputs"] = prep.inputs
        out["embedding"] = prep.embedding_info
        out["catalog"] = {"n_items": len(prep.item_ids), "n_initial": prep.n_initial,
                          "population": getattr(prep.population, "source", "?"),
                          "n_people": int(prep.population.n_users)}
    out.update(extra or {})
    return out


def run_experiment(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True,
                   log: Callable[[str], None] = print) -> RunResult:
    """Run every unfinished cell of ``cfg`` and write the results directory.

    The folder is held exclusively (:func:`banditsim.sim.run.results_folder.claimed`) from the first check to the
    last write; a second writer is refused. A run that fails before any cell is done leaves no
    folder that "holds a run"; a failed resume never touches a finished run's manifest.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    with claimed(out_dir, "run"):
        old = _read_manifest(out_dir)
        _check_resume(out_dir, old, cfg, resume)
        prep = prepare(cfg, progress=progress, before_embedding=lambda n: check_agents(cfg, n))
        _check_inputs(out_dir, old, prep)
        return run_in_folder(prep, out_dir, old, start, log, progress)


def run_prepared(prep: Prepared, out_dir: str | Path, *, progress: bool = False,
                 log: Callable[[str], None] = print) -> RunResult:
    """Run every cell of ``prep.config`` into a new results directory ``out_dir``.

    ``out_dir`` must not exist or be empty (use :func:`run_experiment` with ``resume=True`` to
    continue a killed sweep). Same files, same numbers as ``run_experiment(prep.config, out_dir)``.
    """
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


def run_in_folder(prep: Prepared, out_dir: Path, old: dict | None, start: float,
                  log: Callable[[str], None], progress: bool) -> RunResult:
    """The part of a run that writes: cells, then the merged results (folder already claimed)."""
    cfg = prep.config
    _remove_partials(out_dir)  # half-written files of a killed run
    cells = all_cells(cfg)
    problems = {c: cell_problem(out_dir, c, cfg.run.horizon) for c in cells}
    todo = [c for c in cells if problems[c] is not None]
    for c in todo:
        if problems[c] != "missing":
            log(f"warning: cell {c.stem}: {problems[c]}; recomputing it")
        remove_cell(out_dir, c)
    reused = len(cells) - len(todo)
    if reused:
        log(f"resuming: {reused} of {len(cells)} cells already done, {len(todo)} to run")
    finished = old is not None and old.get("status") == "complete"
    if not finished:
        write_json(out_dir / MANIFEST, manifest_dict(cfg, prep, "running"))
    try:
        run_cells(prep, todo, out_dir, progress)
    except BaseException:
        if old is None and reused == 0 and not any(is_complete(out_dir, c, cfg.run.horizon) for c in todo):
            _forget_run(out_dir)  # nothing done: leave no folder that "holds a run"
        raise
    return finish(out_dir, cfg, prep, cells, len(todo), reused, start)


def _forget_run(out_dir: Path) -> None:
    """Remove what a run that finished no cell wrote (its manifest, an empty cells folder)."""
    (out_dir / MANIFEST).unlink(missing_ok=True)
    cells = out_dir / "cells"
    if cells.is_dir():
        for p in cells.iterdir():
            if is_partial(p) or p.suffix in (".parquet", ".json"):
                p.unlink(missing_ok=True)
        if not any(cells.iterdir()):
            cells.rmdir()


def run_cells(prep: Prepared, cells: list[Cell], out_dir: Path, progress: bool) -> None:
    """Play ``cells`` on the config's backend and write each one's files as it finishes."""
    from banditsim.sim.run.backends import run_local, run_ray
    from banditsim.sim.progress import progress_bar

    run = prep.config.run
    if run.backend == "ray":
        stream = run_ray(_cell_job, prep, cells, address=run.ray_address, workers=run.workers)
    else:
        stream = run_local(_cell_job, prep, cells, workers=run.workers)
    with progress_bar(len(cells), "cells (agent × seed)", "cell", progress) as bar:
        for cell, tables in stream:
            write_cell(out_dir, cell, tables)
            bar.update(1)


def finish(out_dir: Path, cfg: RunConfig, prep: Prepared, cells: list[Cell], ran: int, reused: int,
           start: float) -> RunResult:
    """Merge cell files, write summary, plots, the final manifest and ``report.html``."""
    from banditsim.sim.report.html_report import write_report
    from banditsim.sim.report.plots import plot_results, read_columns
    from banditsim.sim.report.summary import summarise

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
    report = write_report(out_dir)  # after the final manifest: the report shows the finished run's
    return RunResult(out_dir, summary, ran, reused, seconds, plots, report)
