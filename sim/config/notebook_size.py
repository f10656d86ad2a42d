"""The notebooks' size switch: ``BANDITSIM_NOTEBOOK_SIZE`` = ``ci`` (tiny, for CI) or ``full``.

The notebooks in ``notebooks/`` read it in their first (parameter) cell; the test suite
sets it to ``ci`` so that executing them under ``pytest --nbmake`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

SIZE_ENV = "BANDITSIM_NOTEBOOK_SIZE"
SIZES = ("ci", "full")

T = TypeVar("T")


def notebook_size(environ: Mapping[str, str] | None = None) -> str:
    """``"ci"`` or ``"full"`` from ``$BANDITSIM_NOTEBOOK_SIZE`` (unset or empty: ``"full"``).

    Examples
    --------
    >>> notebook_size({})
    'full'
    >>> notebook_size({"BANDITSIM_NOTEBOOK_SIZE": " CI "})
    'ci'
    >>> notebook_size({"BANDITSIM_NOTEBOOK_SIZE": "huge"})
    Traceback (most recent call last):
    ...
    ValueError: BANDITSIM_NOTEBOOK_SIZE must be 'ci' or 'full', got 'huge'
    """
    env = os.environ if environ is None else environ
    raw = env.get(SIZE_ENV, "")
    value = raw.strip().lower() or "full"
    if value not in SIZES:
        raise ValueError(f"{SIZE_ENV} must be 'ci' or 'full', got {raw!r}")
    return value


def pick(ci: T, full: T, size: str | None = None) -> T:
    """``ci`` at CI size, ``full`` otherwise (``size`` defaults to :func:`notebook_size`).

    >>> pick(ci=10, full=1000, size="ci"), pick(ci=10, full=1000, size="full")
    (10, 1000)
    """
    size = notebook_size() if size is None else size
    if size not in SIZES:
        raise ValueError(f"size must be 'ci' or 'full', got {size!r}")
    return ci if size == "ci" else full
