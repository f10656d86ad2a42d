"""Constructor-argument validation shared by every agent (clear one-line ValueErrors)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

RandomState = int | np.random.Generator | None


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn an int seed, a Generator or None into a ``np.random.Generator``.

    >>> bool(check_random_state(3).integers(10) == check_random_state(3).integers(10))
    True
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        if isinstance(random_state, bool):
            raise ValueError(f"random_state must be an int, a numpy Generator or None, got {random_state!r}")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise ValueError(
        f"random_state must be an int, a numpy Generator or None, got {type(random_state).__name__}"
    )


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004 (contract: ValueError)
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float inside the interval, else raise ``ValueError``.

    >>> check_float("epsilon", 1.5, 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: epsilon must be in [0, 1], got 1.5
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number, got {value!r}")  # noqa: TRY004 (contract: ValueError)
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        if low is None:
            left = "("
        if high is None:
            right = ")"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value:g}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_range(name: str, value: Any) -> tuple[float, float]:
    """Validate a ``(low, high)`` pair with ``low < high``."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{name} must satisfy low < high (finite), got {value!r}")
    return low, high


def check_kind_values(value: Any) -> np.ndarray | None:
    """Validate ``kind_values``: None or a non-empty 1-D sequence of finite floats, |v| <= ``MAX_ABS_REWARD``."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.abs(arr) <= MAX_ABS_REWARD):
        raise ValueError(f"kind_values must be a non-empty sequence of finite numbers with magnitude "
                         f"<= {MAX_ABS_REWARD:g}, got {value!r}")
    return arr


MAX_ABS_REWARD = 1e6
"""Largest reward magnitude an agent learns from (the bound ``banditsim.sim.config`` puts on a reward map):
sums of squares over a long run stay far from float overflow, even in float32 models."""

MAX_ABS_FEATURE = 1e6
"""Largest feature magnitude an agent accepts: products of features (xxᵀ) stay finite in float32."""

_FLOAT64 = np.dtype(np.float64)
_SMALL = 4096  # arrays up to this size are checked with one dot product (never BLAS-threaded at this size)


def check_finite_array(name: str, arr: np.ndarray | None, bound: float) -> None:
    """Raise ``ValueError`` naming ``name`` and its first bad row unless every entry of ``arr``
    is finite with magnitude ≤ ``bound``. In the common (clean) case: one Python comparison for a
    single float64 value, one dot product for small float64 arrays, two reductions (no copy) for
    the others.

    >>> check_finite_array("context.features", np.array([[0.5, 1.0], [np.nan, 0.0]]), 1e6)
    Traceback (most recent call last):
    ...
    ValueError: context.features row 1, column 0 is nan: must be finite, with magnitude <= 1e+06
    """
    if arr is None or arr.size == 0:
        return
    if arr.size == 1 and arr.dtype is _FLOAT64 and -bound <= arr.item() <= bound:  # one row's reward
        return
    if arr.size <= _SMALL and arr.dtype == np.float64:
        # one call instead of two reductions (a single stream's features): Σx² < bound²
        # implies every |x| < bound (each rounded square is ≤ the rounded sum; NaN compares False);
        # anything else, a value exactly at the bound included, takes the exact check below
        if np.vdot(arr, arr) < bound * bound:
            return
    if -bound <= arr.min() and arr.max() <= bound:  # NaN makes both comparisons False
        return
    where = np.argwhere(~(np.abs(arr) <= bound))[0]
    at = f"row {where[0]}" if arr.ndim == 1 else f"row {where[0]}, column {where[1]}"
    raise ValueError(f"{name} {at} is {float(arr[tuple(where)]):g}: must be finite, with magnitude <= {bound:g}")


class CheckedOnce:
    """:func:`check_finite_array` that skips an array it has already passed, when that array is
    read-only and owns its data (item embeddings handed to every ``act`` and ``update``: checking
    them again would be a full pass over the catalog on every call). Never pickled: a copy checks
    again.

    >>> arms = np.ones((3, 2))
    >>> arms.setflags(write=False)
    >>> seen = CheckedOnce()
    >>> seen.check("context.arm_features", arms, 1e6); seen.check("context.arm_features", arms, 1e6)
    >>> seen.last is arms
    True
    """

    def __init__(self) -> None:
        self.last: np.ndarray | None = None

    def check(self, name: str, arr: np.ndarray | None, bound: float) -> None:
        """Raise like :func:`check_finite_array`, unless ``arr`` is the read-only array passed last."""
        if arr is None or (arr is self.last and not arr.flags.writeable):
            return
        check_finite_array(name, arr, bound)
        self.last = arr if (not arr.flags.writeable and arr.base is None) else None

    def __reduce__(self):
        return (CheckedOnce, ())
