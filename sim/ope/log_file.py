"""Read your own logged bandit feedback from a file: parquet, CSV, or an OBP ``bandit_feedback`` ``.npz``.

Columns (parquet/CSV), banditsim's log names:

- required: ``action`` (integer ids ``>= 0``), ``pscore`` (logging propensity of the logged
  action, in (0, 1]), ``reward`` (number);
- optional: ``position`` (slot, default 0), ``user_id`` (rows of one user form a cluster for
  the intervals; without it, banditsim's ``context_id`` — the simulated person — is used, and
  without either every row is its own cluster), context features as one list column
  ``features`` (banditsim's ``log.parquet``) or scalar columns ``x_0, x_1, ...``;
- targets: ``pi_<label>`` — the target policy's probability of the logged action, in [0, 1];
- ``step``: the decision step of each row (banditsim's ``log.parquet`` has it), read by
  :meth:`LoadedLog.steps` when agents are trained from the log: a forgetting agent
  (``discounted_*``, ``sliding_window_ucb``) ages each row by it (``banditsim.agents.Feedback.step``). A log
  without it (e.g. OBP's ``bandit_feedback``) is one decision per row, in file order.

``.npz`` (``numpy.savez`` of obp's ``bandit_feedback`` dict, read with ``allow_pickle=False`` —
never pickle): ``n_actions``, ``action``, ``reward``, ``pscore``, optional ``position``,
``context``, ``action_context``, ``user_id`` and ``pi_<label>`` arrays, and obp's ``pi_b``: the
logging policy's whole distribution (n, n_actions[, len_list]) — not a target — which makes the
support and expected-ESS diagnostics exact for agent targets (it must agree with ``pscore``).

Every problem is one :class:`~banditsim.sim.ope.log.OPEInputError` line naming the file and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from banditsim.sim.ope.log import BanditLog, OPEInputError

FORMATS = (".parquet", ".csv", ".npz")
REQUIRED = ("action", "pscore", "reward")


@dataclass(frozen=True)
class LoadedLog:
    """A validated log: the :class:`BanditLog`, user ids (or None) and target probabilities of
    the logged actions by label (``pi_<label>`` columns)."""

    log: BanditLog
    user: np.ndarray | None
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    behavior: np.ndarray | None = None          # (n, n_actions): pi_b at each row's position, if given
    step: np.ndarray | None = None              # the ``step`` column as read (checked by :meth:`steps`)

    def steps(self) -> np.ndarray:
        """(n,) int64 decision step of each row: the ``step`` column, or the row index without one.

        >>> import numpy as np
        >>> from banditsim.sim.ope.log import BanditLog
        >>> log = BanditLog(n_actions=2, action=np.array([0, 1]), reward=np.array([1.0, 0.0]), pscore=np.array([.5, .5]))
        >>> LoadedLog(log, None).steps().tolist(), LoadedLog(log, None, step=np.array([3.0, 3.0])).steps().tolist()
        ([0, 1], [3, 3])
        """
        if self.step is None:
            return np.arange(self.log.n_rounds, dtype=np.int64)
        return checked_log_steps(self.step, self.log.n_rounds, self.source)


def _columns_table(path: Path) -> dict[str, np.ndarray]:
    """Columns of a parquet/CSV file as numpy arrays (a list column becomes a 2-d array)."""
    import pyarrow as pa

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(path)
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if col.null_count:
            raise OPEInputError(f"{path.name}: column {name!r} has {col.null_count} missing values")
        if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type) or pa.types.is_large_list(col.type):
            rows = col.to_pylist()
            lengths = {len(r) for r in rows}
            if len(lengths) > 1:
                raise OPEInputError(f"{path.name}: column {name!r} has lists of different lengths {sorted(lengths)}")
            out[name] = np.asarray(rows, dtype=np.float64)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def _columns_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise OPEInputError(f"{path.name}: holds pickled objects; save plain arrays "
                                "(numpy.savez of the bandit_feedback arrays), never pickle") from None
        raise OPEInputError(f"{path.name}: not a readable .npz ({exc})") from None


def _numeric(name: str, arr: np.ndarray, src: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise OPEInputError(f"{src}: column {name!r} must be numeric, got {arr.dtype}")
    return arr


def read_log_file(path: str | Path) -> LoadedLog:
    """Read and validate a log file (see the module docstring).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "log.csv")
    >>> _ = open(p, "w").write("action,pscore,reward,user_id,pi_new\\n0,0.5,1,7,0.9\\n1,0.5,0,7,0.1\\n")
    >>> got = read_log_file(p)
    >>> got.log.n_rounds, got.log.n_actions, sorted(got.targets), got.user.tolist()
    (2, 2, ['new'], [7, 7])
    """
    path = Path(path)
    src = path.name
    if path.suffix not in FORMATS:
        raise OPEInputError(f"{src}: unknown log format {path.suffix!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise OPEInputError(f"{src}: no such file")
    try:
        cols = _columns_npz(path) if path.suffix == ".npz" else _columns_table(path)
    except OPEInputError:
        raise
    except Exception as exc:  # a corrupt file: pyarrow's own error, on one line
        raise OPEInputError(f"{src}: cannot read the file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise OPEInputError(f"{src}: missing column(s) {', '.join(missing)}; a log needs action, pscore and reward")
    for name in (*REQUIRED, "position", "user_id"):
        if name in cols:
            _numeric(name, np.asarray(cols[name]), src)
    action = np.asarray(cols["action"])
    n_actions = cols.get("n_actions")
    if n_actions is not None:
        n_actions = int(np.asarray(n_actions).reshape(-1)[0])
    elif action.size:
        if np.issubdtype(action.dtype, np.floating) and not np.all(action == np.round(action)):
            raise OPEInputError(f"{src}: column 'action' must hold integer ids, got {action.dtype}")
        n_actions = int(np.max(action)) + 1 if np.min(action) >= 0 else 1
    if action.size and np.min(action) < 0:
        raise OPEInputError(f"{src}: unknown action id {int(np.min(action))}: ids must be >= 0")
    if n_actions is not None and action.size and np.max(action) >= n_actions:
        raise OPEInputError(f"{src}: unknown action id {int(np.max(action))}: the log has {n_actions} actions")
    context = cols.get("context", cols.get("features"))
    if context is None:
        xs = sorted((c for c in cols if c.startswith("x_") and c[2:].isdigit()), key=lambda c: int(c[2:]))
        if xs:
            context = np.column_stack([_numeric(c, np.asarray(cols[c]), src) for c in xs]).astype(np.float64)
    elif not np.issubdtype(np.asarray(context).dtype, np.number):
        raise OPEInputError(f"{src}: context features must be numeric")
    try:
        log = BanditLog(n_actions=n_actions if n_actions is not None else 1, action=action, reward=cols["reward"],
                        pscore=cols["pscore"], position=cols.get("position"), context=context,
                        action_context=cols.get("action_context"))
    except OPEInputError as exc:
        raise OPEInputError(f"{src}: {exc}") from None
    user = cols.get("user_id", cols.get("context_id"))  # banditsim's log names the person context_id
    if user is not None:
        user = np.asarray(user)
        if user.shape != (log.n_rounds,):
            raise OPEInputError(f"{src}: user_id/context_id has shape {user.shape}, expected ({log.n_rounds},)")
    behavior = None
    if "pi_b" in cols and np.asarray(cols["pi_b"]).ndim >= 2:
        behavior = _behavior(np.asarray(cols.pop("pi_b")), log, src)
    targets = {}
    for name in cols:
        if name.startswith("pi_"):
            p = np.asarray(_numeric(name, np.asarray(cols[name]), src), dtype=np.float64)
            if p.shape != (log.n_rounds,) or not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
                raise OPEInputError(f"{src}: column {name!r} must hold one probability in [0, 1] per row")
            targets[name[3:]] = p
    return LoadedLog(log=log, user=user, targets=targets, source=src, behavior=behavior, step=cols.get("step"))


def checked_log_steps(raw, n_rows: int, src: str) -> np.ndarray:
    """``raw`` as (n_rows,) int64 decision steps >= 0, or one ``OPEInputError`` line naming ``src``.

    >>> checked_log_steps(np.array([0.0, 2.0]), 2, "log.csv").tolist()
    [0, 2]
    >>> checked_log_steps(np.array([0, -3]), 2, "log.csv")
    Traceback (most recent call last):
    ...
    banditsim.sim.ope.log.OPEInputError: log.csv: column 'step' must hold decision steps >= 0, got -3 in row 1
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


def _behavior(pi_b: np.ndarray, log: BanditLog, src: str) -> np.ndarray:
    """obp's ``pi_b`` (n, n_actions[, len_list]) at each row's position, checked against ``pscore``."""
    if pi_b.ndim == 2:
        pi_b = pi_b[:, :, None]
    if pi_b.ndim != 3 or pi_b.shape[:2] != (log.n_rounds, log.n_actions) or pi_b.shape[2] < log.len_list:
        raise OPEInputError(f"{src}: pi_b has shape {pi_b.shape}, expected ({log.n_rounds}, {log.n_actions}, "
                            "len_list)")
    if not np.issubdtype(pi_b.dtype, np.number) or not np.all(np.isfinite(pi_b)) or pi_b.min() < 0:
        raise OPEInputError(f"{src}: pi_b must hold finite non-negative probabilities")
    rows = np.arange(log.n_rounds)
    at = pi_b[rows, :, log.position].astype(np.float64)
    worst = float(np.abs(at[rows, log.action] - log.pscore).max())
    if worst > 1e-6:
        raise OPEInputError(f"{src}: pi_b disagrees with pscore at the logged actions (by up to {worst:.3g})")
    return at
