"""Reading a parquet catalog's columns as exact text (see :mod:`banditsim.envs.catalog_files`).

Each cell becomes the string that spells its value, never a Python repr of a container:

* text: as stored; bytes (binary columns): decoded as UTF-8, or an error naming column and row;
* integers: their digits (``12`` → ``"12"``); decimals keep their scale (``1.50``);
* floating point: the shortest text that reads back as the same number at the column's own
  precision (``1.0`` → ``"1.0"``, float32 ``0.1`` → ``"0.1"``), so a float id ``1.0`` is the id
  ``"1.0"``, never ``"1"``. NaN and ±infinity are the float column's missing value (pandas
  writes NaN for a missing number): a missing id or title is an error, as an empty one is;
* booleans: ``"true"``/``"false"``; dates: ISO ``YYYY-MM-DD``; dictionary (categorical) columns:
  their values;
* a list of any of those (``list<string>`` tags): a tuple of strings, nulls dropped;
* anything else — a struct, a map, a list of lists or of structs, timestamps — is one error
  naming the file, the column and its type.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from banditsim.envs.catalog_columns import check_columns, check_utf8
from banditsim.envs.errors import CatalogError


def read_parquet_columns(path: Path, needed: Sequence[str]) -> tuple[int, dict[str, list]]:
    """(number of rows, {column: cells}) for the ``needed`` columns of a parquet catalog."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        n_rows = pf.metadata.num_rows
    except UnicodeDecodeError:
        raise CatalogError(f"cannot read catalog {path.name}: the column names (header) are not valid "
                           "UTF-8 text") from None
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(f"cannot read catalog {path.name}: {_first_line(exc)}") from None
    check_columns(path.name, names, needed, n_rows)
    try:
        table = pf.read(columns=list(dict.fromkeys(needed)))
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(f"cannot read catalog {path.name}: {_first_line(exc)}") from None
    cells = {c: _column_cells(table.column(c), c, path.name) for c in needed}
    for column, values in cells.items():
        check_utf8(path.name, column, values)
    return table.num_rows, cells


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _column_cells(col, column: str, name: str) -> list:
    import pyarrow as pa

    t = col.type
    if pa.types.is_dictionary(t):
        col = pa.chunked_array([c.dictionary_decode() for c in col.chunks], t.value_type)
        t = t.value_type
    if pa.types.is_null(t):
        return [None] * len(col)
    if _is_list(t):
        item = t.value_type
        if pa.types.is_dictionary(item):
            item = item.value_type
        convert = _scalar(item)
        if convert is None:
            raise _unsupported(name, column, t)
        values = _pylist(col, column, name)
        return [None if v is None else tuple(s for s in map(convert, v) if s is not None) for v in values]
    convert = _scalar(t)
    if convert is None:
        raise _unsupported(name, column, t)
    return [convert(v) for v in _pylist(col, column, name)]


def _pylist(col, column: str, name: str) -> list:
    import pyarrow as pa

    try:
        return col.to_pylist()
    except UnicodeDecodeError:  # a string column holding bytes that are not UTF-8: find the row
        pass
    try:
        raw = col.cast(pa.large_binary()).to_pylist()
    except (pa.ArrowException, UnicodeDecodeError):
        raise CatalogError(f"catalog {name}: column {column!r} is not valid UTF-8 text") from None
    return [None if v is None else v.decode("utf-8", errors="surrogateescape") for v in raw]


def _is_list(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
            or getattr(pa.types, "is_list_view", lambda _: False)(t)
            or getattr(pa.types, "is_large_list_view", lambda _: False)(t))


def _unsupported(name: str, column: str, t) -> CatalogError:
    shown = str(t).replace("\n", " ")
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    what = "nested values" if _is_nested(t) else "values"
    return CatalogError(f"catalog {name}: column {column!r} holds {what} of type {shown}; catalog columns "
                        "hold text or numbers (text and category columns also lists of them)")


def _is_nested(t) -> bool:
    import pyarrow as pa

    return _is_list(t) or pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_union(t)


def _scalar(t) -> Callable | None:
    """How one value of arrow type ``t`` becomes text (None stays None); None when unsupported."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view",
                                                                           lambda _: False)(t):
        return lambda v: v
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or getattr(pa.types, "is_binary_view", lambda _: False)(t)):
        return lambda v: None if v is None else v.decode("utf-8", errors="surrogateescape")
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return lambda v: None if v is None else str(v)
    if pa.types.is_boolean(t):
        return lambda v: None if v is None else ("true" if v else "false")
    if pa.types.is_floating(t):
        width = {16: np.float16, 32: np.float32}.get(t.bit_width)
        return lambda v: _float_text(v, width)
    if pa.types.is_date(t):
        return lambda v: None if v is None else v.isoformat()
    return None


def _float_text(v, width) -> str | None:
    if v is None or not math.isfinite(float(v)):
        return None
    return str(width(v)) if width is not None else repr(float(v))
