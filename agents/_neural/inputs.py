"""Host arrays → float32 torch tensors for ``neural_linear_ts``, the item matrix converted once.

The runner hands the same read-only item matrix (1,682 × 384) to every ``act`` and ``update``;
converting it costs a copy each call, so ``ItemTensor`` keeps the converted tensor while the same
read-only array that owns its data comes back (the rule of ``banditsim.agents._validation.CheckedOnce``).  A
writable array, or a view, is converted every call: its contents may have changed in between.
"""

from __future__ import annotations

import numpy as np


def float_tensor(values: np.ndarray, device):
    """A float32 copy of ``values`` on ``device`` (always a copy: the caller may change its array)."""
    import torch

    return torch.from_numpy(np.array(values, dtype=np.float32)).to(device)


def long_tensor(values: np.ndarray, device):
    """An int64 copy of ``values`` on ``device`` (ids, replicas: read-only arrays are fine)."""
    import torch

    return torch.from_numpy(np.array(values, dtype=np.int64)).to(device)


class ItemTensor:
    """The item matrix as a float32 tensor, converted once per read-only array. Never pickled.

    >>> items = np.eye(2)
    >>> items.setflags(write=False)
    >>> cache = ItemTensor()
    >>> cache.get(items, "cpu") is cache.get(items, "cpu")
    True
    >>> writable = np.eye(2)
    >>> cache.get(writable, "cpu") is cache.get(writable, "cpu")
    False
    """

    def __init__(self) -> None:
        self._array: np.ndarray | None = None
        self._tensor = None
        self._device = None

    def get(self, items: np.ndarray, device):
        """``float_tensor(items, device)``, reused while ``items`` is the same read-only owner array."""
        if items is self._array and not items.flags.writeable and device == self._device:
            return self._tensor
        tensor = float_tensor(items, device)
        keep = not items.flags.writeable and items.base is None
        self._array, self._tensor, self._device = (items, tensor, device) if keep else (None, None, None)
        return tensor

    def __reduce__(self):
        return (ItemTensor, ())

