"""Atomic file writes: a temporary file in the same folder, then a rename.

Temporary files are named ``.<name>.banditsim-<random>.tmp`` (:data:`PARTIAL_MARK`), so a resumed run
removes only the partial files it wrote itself, never a user's ``*.tmp``. Finished files get the
permissions of the user's umask (``mkstemp`` alone would leave them 0600). JSON is strict: an
undefined number (NaN, ±inf) is written as ``null``, so every JSON reader can parse it.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from banditsim.envs.file_digest import umask

PARTIAL_MARK = ".banditsim-"
_PARTIAL = re.compile(r"^\..+\.banditsim-[A-Za-z0-9_]+\.tmp$")


def is_partial(path: str | Path) -> bool:
    """True for a temporary file of :func:`atomic_path` (what a killed writer leaves behind).

    >>> is_partial(".summary.json.banditsim-k2j3.tmp"), is_partial(".notes.tmp"), is_partial("x.tmp")
    (True, False, False)
    """
    return bool(_PARTIAL.match(Path(path).name))


def file_mode() -> int:
    """Permissions a new file gets under the process's umask (0644 under the usual 022)."""
    return 0o666 & ~umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{PARTIAL_MARK}", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def strict_json_value(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` (numpy scalars and arrays included).

    >>> strict_json_value({"a": float("nan"), "b": [1.5, float("-inf")], "c": (2, "x")})
    {'a': None, 'b': [1.5, None], 'c': [2, 'x']}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict_json_value(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json_value(v) for v in obj]
    if type(obj).__module__ == "numpy":
        import numpy as np

        if isinstance(obj, np.ndarray):
            return strict_json_value(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return strict_json_value(float(obj))
    return obj


def dumps_strict(obj: Any) -> str:
    """Indented, strict JSON (RFC 8259): undefined numbers become ``null``.

    >>> dumps_strict({"x": float("inf")})
    '{\\n  "x": null\\n}'
    """
    return json.dumps(strict_json_value(obj), indent=2, sort_keys=False, default=str, allow_nan=False)


def write_json(path: str | Path, obj) -> None:
    """Write ``obj`` as indented strict JSON, atomically."""
    text = dumps_strict(obj) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_parquet(path: str | Path, table) -> None:
    """Write a pyarrow Table as parquet (zstd), atomically."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
