"""Checks every catalog reader applies to the columns it read (:mod:`banditsim.envs.catalog_files`,
:mod:`banditsim.envs.catalog_parquet`): each needed column present once, every cell valid UTF-8 text."""

from __future__ import annotations

from typing import Sequence

from banditsim.envs.catalog_text import has_bad_bytes
from banditsim.envs.errors import CatalogError


def check_columns(name: str, names: list[str], needed: Sequence[str], n_rows: int) -> None:
    """Every needed column is present exactly once; header names are valid text."""
    if any(has_bad_bytes(n) for n in names):
        raise CatalogError(f"cannot read catalog {name}: the column names (header) are not valid UTF-8 text")
    if not names and not n_rows:
        raise CatalogError(f"catalog {name} has no items")
    for col in needed:
        count = names.count(col)
        if count == 0:
            raise CatalogError(f"catalog {name}: unknown column {col!r}; columns are "
                               f"{', '.join(map(repr, names))}")
        if count > 1:
            raise CatalogError(f"catalog {name}: column {col!r} appears {count} times; rename the copies")


def check_utf8(name: str, column: str, values: list) -> None:
    """A cell with bytes that are not UTF-8 is an error naming its column and row."""
    flat = [p for v in values if v is not None for p in (v if isinstance(v, tuple) else (v,))]
    if not has_bad_bytes("".join(flat)):
        return
    for row, v in enumerate(values, 1):
        parts = v if isinstance(v, tuple) else (v,)
        if any(p is not None and has_bad_bytes(p) for p in parts):
            raise CatalogError(f"catalog {name}: column {column!r} is not valid UTF-8 text (row {row})")
