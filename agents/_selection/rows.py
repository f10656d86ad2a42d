"""The rows of a call: a Context built from checked fields, a subset of its rows, range checks."""

from __future__ import annotations

import numpy as np

from banditsim.agents.types import Context


def too_few_allowed(mask: np.ndarray, k: int) -> bool:
    """True when some row of a bool mask allows fewer than k items (for k = 1 a row's any() answers
    without counting)."""
    if k == 1:
        return not mask.any(axis=1).all()
    return bool((mask.view(np.uint8).sum(axis=1, dtype=np.int64) < k).any())


def out_of_range(values: np.ndarray, n: int) -> bool:
    """True when some integer lies outside [0, n); for int64 one reduction (negatives read as huge unsigned),
    for a single value none."""
    if values.size == 1:
        return not 0 <= values.item() < n
    if values.dtype != np.int64:
        return bool(values.min() < 0 or values.max() >= n)
    return int(values.view(np.uint64).max()) >= n


_ZEROS: dict[int, np.ndarray] = {}


def zero_replicas(n_rows: int) -> np.ndarray:
    """Read-only int64 zeros (n_rows,): the replica of rows that name none (shared, never written)."""
    out = _ZEROS.get(n_rows)
    if out is None:
        out = np.zeros(n_rows, dtype=np.int64)
        out.setflags(write=False)
        if n_rows <= 1024:
            _ZEROS[n_rows] = out
    return out


def checked_context(features, arm_features, mask, replica, n_rows) -> Context:
    """A Context from already-validated fields, skipping ``__post_init__`` (hot path)."""
    ctx = object.__new__(Context)
    ctx.__dict__.update(features=features, arm_features=arm_features, mask=mask, replica=replica, n_rows=n_rows)
    return ctx


def take_rows(rows: Context, idx: np.ndarray) -> Context:
    """The rows ``idx`` of a checked Context (the item matrix is shared)."""
    return checked_context(None if rows.features is None else rows.features[idx], rows.arm_features,
                            None if rows.mask is None else rows.mask[idx], rows.replica[idx], int(idx.size))
