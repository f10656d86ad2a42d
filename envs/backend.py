"""The world's arrays on numpy or torch, written once over the array API.

Randomness always comes from a ``numpy.random.Generator`` and is moved to the backend,
so both backends see the same draws and give the same numbers (up to float rounding).
"""

from __future__ import annotations

from banditsim._device import cuda_missing
from banditsim._xp import (arange_on, asarray_on, namespace_on, pair_dots, sigmoid, take_flat, take_rows, to_host,
                           top_k_indices, vec_dot, zeros_on)
from banditsim.envs.world_errors import WorldConfigError

_DTYPES = ("float32", "float64", "int64", "bool")


class Backend:
    """The world's arrays on numpy (``name="numpy"``) or torch (``name="torch"``, on ``device``).

    ``xp`` is the array-API namespace of either (``array_api_compat.numpy`` or ``.torch``): the world
    writes its array operations once over it. The backend adds arrays made on its device from host
    values and dtype names (:meth:`asarray`, :meth:`zeros`, :meth:`ones`, :meth:`arange`, :meth:`cat`)
    and, under the names the world uses, the operations numpy and torch spell or round differently
    (:mod:`banditsim._xp`).

    >>> be = Backend("numpy")
    >>> be.to_numpy(be.sigmoid(be.asarray([0.0]))).tolist()
    [0.5]
    """

    def __init__(self, name: str = "numpy", device: str | None = None):
        if name not in ("numpy", "torch"):
            raise WorldConfigError(f"unknown backend {name!r}; expected 'numpy' or 'torch'")
        self.name = name
        self.device = device or "cpu"
        if name == "torch":
            try:
                why = cuda_missing(self.device)
            except ValueError as e:
                raise WorldConfigError(f"backend {e}") from None
            if why is not None:
                raise WorldConfigError(f"backend device {self.device!r}: {why}")
        elif device not in (None, "cpu"):
            raise WorldConfigError(f"the numpy backend runs on 'cpu' only, not {device!r}")
        self._where = self.device if name == "torch" else None  # for banditsim._xp's *_on: None is numpy
        self.xp = namespace_on(self._where)[0]
        self._dtypes = {d: getattr(self.xp, d) for d in _DTYPES}

    def __reduce__(self):
        """Copied and pickled as its name and device: its namespace is a module, which can be
        neither, and a World is deep-copied per cell."""
        return Backend, (self.name, self.device)

    def asarray(self, x, dtype: str = "float32"):
        """``x`` (host values or a backend array) as a backend array of ``dtype``, copied only when
        the dtype or the device changes."""
        return asarray_on(x, dtype, self._where)

    def zeros(self, shape, dtype: str = "float32"):
        return zeros_on(shape, dtype, self._where)

    def ones(self, shape, dtype: str = "bool"):
        return self.xp.ones(shape, dtype=self._dtypes[dtype], device=self.device)

    def arange(self, n: int):
        return arange_on(n, self._where)

    def cat(self, xs, axis: int = 0):
        return self.xp.concat(xs, axis=axis)

    @staticmethod
    def gather(x, rows, cols):
        """``x[rows, cols]`` for a C-contiguous 2-d ``x`` (rows, cols broadcast), via flat indices."""
        return take_flat(x, rows * x.shape[1] + cols)

    # the operations numpy and torch spell or round differently (banditsim._xp)
    to_numpy = staticmethod(to_host)
    sigmoid = staticmethod(sigmoid)
    topk_indices = staticmethod(top_k_indices)
    take = staticmethod(take_flat)
    take_rows = staticmethod(take_rows)
    rowdot = staticmethod(vec_dot)
    pair_dots = staticmethod(pair_dots)
