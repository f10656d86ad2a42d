"""Reading a catalog file's columns exactly as written: CSV, TSV, JSON Lines, JSON arrays, parquet.

:func:`read_catalog_columns` returns, for each column asked for, one cell per row: ``None``
(missing), a ``str`` holding the cell's text exactly as written, or a tuple of such strings (a
JSON or parquet list). Nothing is guessed: ``00123`` stays ``00123``, ``1`` and ``1.0`` differ,
and ``NA``, ``null``, ``None``, ``nan``, ``#N/A`` or ``-`` are text. Only a truly empty cell is
missing: an empty CSV/TSV field, a JSON ``null`` or absent key, a parquet null.

* CSV (``.csv``): RFC 4180 quoting; a quote inside an unquoted field is kept, a field that
  opens a quote must close it before the next comma (``"Heat" (1995)`` is an error, not
  ``Heat (1995)``).
* TSV (``.tsv``, ``.tab``): tab-separated, no quoting: every character is kept.
* JSON Lines (``.jsonl``, ``.ndjson``): one object per line. A ``.json`` file holds one JSON
  array of objects, or JSON Lines. A number keeps its digits as written (``1.50`` stays
  ``1.50``); ``true``/``false`` read as that text; ``NaN``/``Infinity`` (not JSON), a key
  written twice in one object, or a cell holding an object or a list of lists is an error.
* Parquet (``.parquet``, ``.pq``): see :mod:`banditsim.envs.catalog_parquet`.

Every problem is one :class:`~banditsim.envs.errors.CatalogError` naming the file (and the column and
row where there is one).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Sequence

from banditsim.envs.catalog_columns import check_columns, check_utf8
from banditsim.envs.catalog_parquet import read_parquet_columns
from banditsim.envs.catalog_text import decode_catalog_bytes
from banditsim.envs.errors import CatalogError

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


def read_catalog_columns(path: Path, needed: Sequence[str]) -> tuple[int, dict[str, list]]:
    """(number of rows, {column: cells}) for the ``needed`` columns of the catalog file ``path``."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CatalogError(f"catalog {path}: unsupported file type {path.suffix.lower() or '(none)'}; "
                           "use .csv, .tsv, .jsonl, .json or .parquet")
    if kind == "parquet":
        return read_parquet_columns(path, needed)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror or exc}") from None
    text = decode_catalog_bytes(raw, path.name)
    if kind in ("csv", "tsv"):
        names, rows = _delimited_rows(text, path.name, tsv=kind == "tsv")
        check_columns(path.name, names, needed, len(rows))
        index = {c: names.index(c) for c in needed}
        cells = {c: [r[index[c]] if r[index[c]] != "" else None for r in rows] for c in needed}
        n_rows = len(rows)
    else:
        names, records = _json_records(text, path.name, array_allowed=kind == "json")
        check_columns(path.name, names, needed, len(records))
        cells = {c: [_json_cell(r.get(c), c, row, path.name) for row, r in enumerate(records, 1)]
                 for c in needed}
        n_rows = len(records)
    for column, values in cells.items():
        check_utf8(path.name, column, values)
    return n_rows, cells


def _delimited_rows(text: str, name: str, tsv: bool) -> tuple[list[str], list[list[str]]]:
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {"delimiter": ",", "strict": True}
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, len(text) + 1))  # a 1 MB title is a title, not an error
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    header, rows = None, []
    try:
        for record in reader:
            if not record:
                continue  # a blank line
            if header is None:
                header = record
            elif len(record) != len(header):
                raise CatalogError(f"cannot read catalog {name}: line {reader.line_num} has {len(record)} "
                                   f"fields but the header has {len(header)}")
            else:
                rows.append(record)
    except csv.Error as exc:
        raise CatalogError(f"cannot read catalog {name}: line {reader.line_num}: {exc}") from None
    finally:
        csv.field_size_limit(old_limit)
    if header is None:
        raise CatalogError(f"cannot read catalog {name}: the file is empty (no header line)")
    return header, rows


class _NotJson(ValueError):
    pass


def _constant(word: str):
    raise _NotJson(f"{word} is not valid JSON (write null for a missing value)")


def _object(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _NotJson(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


# Numbers keep their digits as written: parse_int/parse_float hand back the literal text.
_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=_constant, object_pairs_hook=_object)


def _decode(doc: str, name: str, line: int | None = None):
    where = f"line {line}: " if line is not None else ""
    try:
        return _DECODER.decode(doc)
    except _NotJson as exc:
        raise CatalogError(f"cannot read catalog {name}: {where}{exc}") from None
    except json.JSONDecodeError as exc:
        at = f"column {exc.colno}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
        raise CatalogError(f"cannot read catalog {name}: {where}{exc.msg} ({at})") from None
    except RecursionError:
        raise CatalogError(f"cannot read catalog {name}: {where}JSON nested too deeply") from None


def _json_records(text: str, name: str, array_allowed: bool) -> tuple[list[str], list[dict]]:
    if array_allowed and text.lstrip().startswith("["):
        doc = _decode(text, name)
        if not isinstance(doc, list):
            raise CatalogError(f"cannot read catalog {name}: not a JSON array of objects")
        records = doc
        for i, rec in enumerate(records, 1):
            if not isinstance(rec, dict):
                raise CatalogError(f"cannot read catalog {name}: item {i} of the JSON array is not an object")
    else:
        records = []
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            if line.lstrip().startswith("["):
                raise CatalogError(
                    f"cannot read catalog {name}: line {number} is a JSON array; a JSON Lines catalog holds "
                    "one object per line (a single JSON array of objects belongs in a .json file)")
            rec = _decode(line, name, number)
            if not isinstance(rec, dict):
                raise CatalogError(f"cannot read catalog {name}: line {number} is not a JSON object")
            records.append(rec)
    names = list(dict.fromkeys(k for rec in records for k in rec))
    return names, records


def _json_cell(value, column: str, row: int, name: str):
    if value is None or isinstance(value, str):  # numbers arrive as their literal text
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, (list, dict)):
                raise CatalogError(f"catalog {name}: column {column!r} row {row} holds a nested list or "
                                   "object; a cell holds text, a number or a list of them")
            if v is not None:
                out.append(_json_cell(v, column, row, name))
        return tuple(out)
    raise CatalogError(f"catalog {name}: column {column!r} row {row} holds a JSON object; a cell holds "
                       "text, a number or a list of them")
