"""Per-cell result files of a sweep, and merging them into the results directory.

A cell is one (agent, seed) pair. Its files live in ``<out>/cells/``:
``<agent>__seed<k>.genres.parquet``, ``…items.parquet``, ``…log.parquet`` (optional) and, written
last, ``…metrics.parquet``. A cell is complete exactly when its metrics file
exists; every file is written atomically, so a sweep killed at any point
resumes by recomputing only the cells without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sim.atomic import write_parquet

PARTS = ("log", "genres", "items", "metrics")  # written in this order; metrics marks completion


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


def is_complete(out_dir: Path, cell: Cell) -> bool:
    """True when the cell's metrics file exists (it is written last)."""
    return cell_path(out_dir, cell, "metrics").is_file()


def write_cell(out_dir: Path, cell: Cell, tables: dict) -> None:
    """Write a cell's tables (pyarrow), metrics last, each atomically."""
    for part in PARTS:
        table = tables.get(part)
        if table is not None:
            write_parquet(cell_path(out_dir, cell, part), table)


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
