"""Reusable scratch arrays: fresh multi-megabyte temporaries cost page faults on every step."""

from __future__ import annotations

import math

import numpy as np


class Scratch:
    """Named buffers grown on demand and reused; never pickled (a copy starts empty).

    >>> s = Scratch()
    >>> a = s.buffer("x", (2, 3))
    >>> a.shape, s.buffer("x", (3,)).base is a.base
    ((2, 3), True)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` (a view of the buffer ``name``)."""
        size = math.prod(shape)
        buf = self._arrays.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._arrays[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)

    def __reduce__(self):
        return (Scratch, ())
