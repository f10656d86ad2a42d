"""A thin array backend so the world runs on numpy or torch with the same code.

Randomness always comes from a ``numpy.random.Generator`` and is moved to the backend,
so both backends see the same draws and give the same numbers (up to float rounding).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from banditsim._device import cuda_missing
from banditsim.envs.world_errors import WorldConfigError

_DTYPES = ("float32", "float64", "int64", "bool")
_PAIR_BLOCK = 1 << 24  # products formed at a time by Backend.pair_dots on torch


def _vecdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products over the last axis, one kernel call per pair (broadcasting the others)."""
    if hasattr(np, "vecdot"):
        return np.vecdot(a, b)
    return np.einsum("...j,...j->...", a, b)  # pragma: no cover - numpy < 2.0


class Backend:
    """Array operations on numpy (``name="numpy"``) or torch (``name="torch"``).

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
            torch = self.torch
            self._dt = {"float32": torch.float32, "float64": torch.float64,
                        "int64": torch.int64, "bool": torch.bool}
        elif device not in (None, "cpu"):
            raise WorldConfigError(f"the numpy backend runs on 'cpu' only, not {device!r}")

    @property
    def torch(self):
        """The torch module (a property, not an attribute: modules cannot be deep-copied or pickled,
        and a World on the torch backend is deep-copied per cell)."""
        import torch

        return torch

    # construction / conversion
    def asarray(self, x, dtype: str = "float32"):
        if self.name == "numpy":
            return np.asarray(x, dtype=dtype)
        if isinstance(x, self.torch.Tensor):
            return x.to(device=self.device, dtype=self._dt[dtype])
        return self.torch.as_tensor(np.asarray(x, dtype=dtype), device=self.device)

    def zeros(self, shape, dtype: str = "float32"):
        if self.name == "numpy":
            return np.zeros(shape, dtype=dtype)
        return self.torch.zeros(shape, dtype=self._dt[dtype], device=self.device)

    def ones(self, shape, dtype: str = "bool"):
        if self.name == "numpy":
            return np.ones(shape, dtype=dtype)
        return self.torch.ones(shape, dtype=self._dt[dtype], device=self.device)

    def arange(self, n: int):
        return np.arange(n) if self.name == "numpy" else self.torch.arange(n, device=self.device)

    def to_numpy(self, x) -> np.ndarray:
        if self.name == "numpy" or isinstance(x, np.ndarray):
            return np.asarray(x)
        return x.detach().cpu().numpy()

    def copy(self, x):
        return x.copy() if self.name == "numpy" else x.clone()

    def cat(self, xs, axis: int = 0):
        return np.concatenate(xs, axis=axis) if self.name == "numpy" else self.torch.cat(xs, dim=axis)

    def astype(self, x, dtype: str):
        return x.astype(dtype) if self.name == "numpy" else x.to(self._dt[dtype])

    # math
    def sigmoid(self, x):
        return expit(x) if self.name == "numpy" else self.torch.sigmoid(x)

    def where(self, cond, a, b):
        if self.name == "numpy":
            return np.where(cond, a, b)
        t = self.torch
        a = a if isinstance(a, t.Tensor) else t.as_tensor(a, device=self.device, dtype=b.dtype if isinstance(b, t.Tensor) else None)
        b = b if isinstance(b, t.Tensor) else t.as_tensor(b, device=self.device, dtype=a.dtype)
        return t.where(cond, a, b)

    def max(self, x, axis: int):
        return x.max(axis=axis) if self.name == "numpy" else x.amax(dim=axis)

    def min(self, x, axis: int):
        return x.min(axis=axis) if self.name == "numpy" else x.amin(dim=axis)

    def argmax(self, x, axis: int):
        return x.argmax(axis=axis) if self.name == "numpy" else x.argmax(dim=axis)

    def any(self, x, axis: int):
        return x.any(axis=axis) if self.name == "numpy" else x.any(dim=axis)

    def sum(self, x, axis: int):
        return x.sum(axis=axis) if self.name == "numpy" else x.sum(dim=axis)

    def sqrt(self, x):
        return np.sqrt(x) if self.name == "numpy" else self.torch.sqrt(x)

    def matmul(self, a, b):
        return a @ b

    def topk_indices(self, x, k: int):
        """Indices of the ``k`` largest entries of each row (unordered), shape (rows, k)."""
        n = x.shape[1]
        k = min(k, n)
        if self.name == "numpy":
            # a copy: a slice would keep the whole (rows, n) int64 partition alive
            return np.argpartition(x, n - k, axis=1)[:, n - k:].copy()
        return self.torch.topk(x, k, dim=1, sorted=False).indices

    def take(self, x, flat):
        """``x.reshape(-1)[flat]`` (flat indices into a C-contiguous ``x``)."""
        if self.name == "numpy":
            return x.reshape(-1).take(flat)
        return x.reshape(-1)[flat]

    def take_valid(self, x, flat):
        """:meth:`take` for indices known to be in range (numpy: no bounds check, ~30 % faster
        on large gathers; an out-of-range index would wrap instead of raising)."""
        if self.name == "numpy":
            return x.reshape(-1).take(flat, mode="wrap")
        return x.reshape(-1)[flat]

    def take_rows(self, x, idx):
        """Rows ``x[idx]`` (a copy)."""
        if self.name == "numpy":
            return x.take(idx, axis=0)
        return x.index_select(0, idx)

    def rowdot(self, a, b):
        """Row-wise dot products of two (n, d) arrays → (n,).

        Every pair goes through the same kernel as :meth:`pair_dots` (and as
        ``envs.taste_rows.TasteRows.dot_items``), so a pair's value does not depend on which
        other pairs share the call: the world's exact values agree bit for bit.
        """
        if self.name == "numpy":
            return _vecdot(a, b)
        return (a * b).sum(-1)

    def pair_dots(self, a, x):
        """(m, n) dot products of every row of ``a`` (m, d) with every row of ``x`` (n, d), each
        pair by :meth:`rowdot`'s kernel (not a matrix product, whose rounding depends on blocking);
        torch works in blocks of rows so no (m, n, d) product is ever whole."""
        if self.name == "numpy":
            return _vecdot(a[:, None, :], x[None, :, :])
        n, d = x.shape
        step = max(1, _PAIR_BLOCK // max(1, n * d))
        parts = [(a[lo:lo + step, None, :] * x[None]).sum(-1) for lo in range(0, a.shape[0], step)]
        return self.torch.cat(parts) if parts else self.zeros((0, n), "float32")

    def gather(self, x, rows, cols):
        """``x[rows, cols]`` for a C-contiguous 2-d ``x`` (rows, cols broadcast), via flat indices."""
        flat = rows * x.shape[1] + cols
        if self.name == "numpy":
            return x.reshape(-1).take(flat)
        return x.reshape(-1)[flat]
