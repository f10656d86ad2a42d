"""The decision step of each row of a log file (its ``step`` column), for agents trained from a log.

banditsim's ``log.parquet`` has a ``step`` column: the decision step of each row (when the item
was shown; with feedback delays ``decision_step`` holds the same and ``arrival_step`` the
arrival).  A forgetting agent (``discounted_*``, ``sliding_window_ucb``) trained from the log in one
update call ages each row by it (``agents.Feedback.step``, ``agents._step_clock``), as if it had
learned the rows step by step.  A log without the column (e.g. OBP's ``bandit_feedback``) is read
as one decision per row, in file order: OBP's rounds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.ope.log import OPEInputError

STEP_COLUMN = "step"


def _raw_steps(path: Path) -> np.ndarray | None:
    """The ``step`` column of a parquet/CSV/.npz file as read, or None when it has none."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return np.asarray(data[STEP_COLUMN]) if STEP_COLUMN in data.files else None
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        if STEP_COLUMN not in pq.read_schema(path).names:
            return None
        col = pq.read_table(path, columns=[STEP_COLUMN]).column(STEP_COLUMN)
    else:
        import pyarrow.csv as pacsv

        with pacsv.open_csv(path) as reader:
            names = reader.schema.names
        if STEP_COLUMN not in names:
            return None
        col = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=[STEP_COLUMN])).column(
            STEP_COLUMN)
    if col.null_count:
        raise OPEInputError(f"{path.name}: column 'step' has {col.null_count} missing values")
    return col.to_numpy(zero_copy_only=False)


def checked_log_steps(raw, n_rows: int, src: str) -> np.ndarray:
    """``raw`` as (n_rows,) int64 decision steps >= 0, or one ``OPEInputError`` line naming ``src``.

    >>> checked_log_steps(np.array([0.0, 2.0]), 2, "log.csv").tolist()
    [0, 2]
    >>> checked_log_steps(np.array([0, -3]), 2, "log.csv")
    Traceback (most recent call last):
    ...
    sim.ope.log.OPEInputError: log.csv: column 'step' must hold decision steps >= 0, got -3 in row 1
    """
    arr = np.asarray(raw)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)) or arr.dtype == bool:
        raise OPEInputError(f"{src}: column 'step' must hold integer decision steps, got {arr.dtype}")
    if arr.shape != (n_rows,):
        raise OPEInputError(f"{src}: column 'step' has shape {arr.shape}, expected ({n_rows},)")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise OPEInputError(f"{src}: column 'step' must hold integer decision steps, "
                                f"got {float(arr[i])} in row {i}")
        if arr.size and np.abs(arr).max() >= 2.0**62:
            raise OPEInputError(f"{src}: column 'step' holds a step too large for an integer ({np.abs(arr).max():g})")
    if arr.size and arr.min() < 0:
        i = int(np.flatnonzero(arr < 0)[0])
        raise OPEInputError(f"{src}: column 'step' must hold decision steps >= 0, got {arr[i]:g} in row {i}")
    return arr.astype(np.int64)


def log_steps(path: str | Path, n_rows: int) -> np.ndarray:
    """(n_rows,) int64 decision step of each row of the log file at ``path``: its ``step`` column, or
    the row index when it has none (one decision per row, in file order)."""
    path = Path(path)
    try:
        raw = _raw_steps(path)
    except OPEInputError:
        raise
    except Exception as exc:  # read_log_file read this file already: a step column pyarrow cannot parse
        raise OPEInputError(f"{path.name}: cannot read column 'step' ({str(exc).splitlines()[0]})") from None
    if raw is None:
        return np.arange(n_rows, dtype=np.int64)
    return checked_log_steps(raw, n_rows, path.name)
