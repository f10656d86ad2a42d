"""The interaction log of one cell, written step by step into preallocated column buffers.

:func:`banditsim.sim.run.play.play_cell` logs up to ``log.max_rows_per_cell`` rows (one per shown
item). Each column is one array of the cell's final length, allocated at its first step and filled
in place, rather than fresh arrays per step concatenated at the end (two copies of the log at
once); a step past the budget is cut to its first rows that fit, the rows a concatenate-then-cut
would keep.
"""

from __future__ import annotations

import numpy as np


class LogBuffer:
    """Column buffers holding at most ``capacity`` rows.

    >>> log = LogBuffer(5)
    >>> log.add(3, {"step": 0, "action": np.array([4, 1, 2])})
    >>> log.add(3, {"step": 1, "action": np.array([7, 8, 9])})   # only two rows fit
    >>> log.full, {k: v.tolist() for k, v in log.columns().items()}
    (True, {'step': [0, 0, 0, 1, 1], 'action': [4, 1, 2, 7, 8]})
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.size = 0
        self._cols: dict[str, np.ndarray] = {}

    @property
    def full(self) -> bool:
        """True when no more rows fit."""
        return self.size >= self.capacity

    def add(self, n: int, columns: dict) -> None:
        """Append one step's ``n`` rows; each value an (n,) array or a scalar repeated ``n`` times.

        Column order is the first step's; a later step must give the same columns. A value of a
        wider dtype than its buffer widens the buffer (the result of concatenating the steps)."""
        take = min(n, self.capacity - self.size)
        if take <= 0:
            return
        if self._cols and columns.keys() != self._cols.keys():
            raise ValueError(f"log step columns {sorted(columns)} differ from the first step's {sorted(self._cols)}")
        lo, hi = self.size, self.size + take
        for name, value in columns.items():
            value = np.asarray(value)
            buf = self._cols.get(name)
            if buf is None or np.result_type(buf, value) != buf.dtype:
                buf = self._grow(name, value.dtype)
            if value.ndim == 0:
                buf[lo:hi] = value
            else:
                if value.shape != (n,):
                    raise ValueError(f"log column {name!r}: {value.shape[0]} rows in a step of {n}")
                buf[lo:hi] = value[:take]
        self.size = hi

    def _grow(self, name: str, dtype) -> np.ndarray:
        old = self._cols.get(name)
        dtype = dtype if old is None else np.result_type(old, np.empty(0, dtype))
        buf = np.empty(self.capacity, dtype=dtype)
        if old is not None:
            buf[: self.size] = old[: self.size]
        self._cols[name] = buf
        return buf

    def columns(self) -> dict[str, np.ndarray]:
        """The rows logged so far, column by column (views of the buffers)."""
        return {k: v[: self.size] for k, v in self._cols.items()}
