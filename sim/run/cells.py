"""Per-cell result files of a sweep, and merging them into the results directory.

A cell is one (agent, seed) pair. Its files live in ``<out>/cells/``:
``<agent>__seed<k>.genres.parquet``, ``…items.parquet``, ``…log.parquet`` (optional),
``…metrics.parquet`` and, written last, ``…done.json``: the row count and SHA-256 of every part.
A cell is complete exactly when its ``done.json`` parses and every part it lists still has
that hash, and its metrics have one row per step. Every file is written atomically, so a sweep
killed at any point resumes by recomputing only the cells that are not complete; a damaged
cell (unreadable, truncated, replaced, wrong length) is recomputed too, never merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from banditsim.envs.file_digest import sha256_file
from banditsim.sim.atomic import write_json, write_parquet

PARTS = ("log", "genres", "items", "metrics")  # written in this order, then the done record


@dataclass(frozen=True)
class Cell:
    """One (agent, seed) unit of work."""

    agent_index: int
    agent_label: str
    seed_index: int

    @property
    def stem(self) -> str:
        """File-name stem of the cell's files."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.agent_label)
        return f"{self.agent_index:02d}-{safe}__seed{self.seed_index:04d}"


def cell_path(out_dir: Path, cell: Cell, part: str) -> Path:
    """Path of one part (``metrics``, ``genres``, ``log``) of a cell."""
    return Path(out_dir) / "cells" / f"{cell.stem}.{part}.parquet"


def done_path(out_dir: Path, cell: Cell) -> Path:
    """The record, written last, that says a cell's files are complete."""
    return Path(out_dir) / "cells" / f"{cell.stem}.done.json"


def cell_problem(out_dir: Path, cell: Cell, horizon: int) -> str | None:
    """Why a cell is not complete: ``"missing"`` when it never finished, a reason when its files are
    damaged, None when it is complete and can be reused."""
    import json

    record = done_path(out_dir, cell)
    if not record.is_file():
        return "missing"
    try:
        done = json.loads(record.read_text())
        parts = done["parts"]
        if not isinstance(parts, dict) or "metrics" not in parts:
            return "its done record lists no metrics"
        if parts["metrics"].get("rows") != horizon:
            return f"its metrics have {parts['metrics'].get('rows')} rows, not {horizon} (run.horizon)"
        for part, info in parts.items():
            path = cell_path(out_dir, cell, part)
            if not path.is_file():
                return f"{path.name} is missing"
            if sha256_file(path) != info["sha256"]:
                return f"{path.name} changed after it was written"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"its done record is unreadable ({type(exc).__name__})"
    return None


def is_complete(out_dir: Path, cell: Cell, horizon: int) -> bool:
    """True when the cell's files are all there, unchanged, with one metrics row per step."""
    return cell_problem(out_dir, cell, horizon) is None


def remove_cell(out_dir: Path, cell: Cell) -> None:
    """Delete a cell's files (before recomputing it), the done record first."""
    import shutil

    for path in (done_path(out_dir, cell), *(cell_path(out_dir, cell, part) for part in PARTS)):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def write_cell(out_dir: Path, cell: Cell, tables: dict) -> None:
    """Write a cell's tables (pyarrow), each atomically, then the done record with their hashes."""
    parts = {}
    for part in PARTS:
        table = tables.get(part)
        if table is not None:
            path = cell_path(out_dir, cell, part)
            write_parquet(path, table)
            parts[part] = {"rows": int(table.num_rows), "sha256": sha256_file(path)}
    write_json(done_path(out_dir, cell), {"cell": cell.stem, "parts": parts})


def merge_cells(out_dir: Path, cells: list[Cell], part: str, target: Path) -> bool:
    """Concatenate one part over all cells into ``target`` (atomic); False if no cell has it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = [cell_path(out_dir, c, part) for c in cells]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return False
    table = pa.concat_tables([pq.read_table(p) for p in paths])
    write_parquet(target, table)
    return True
