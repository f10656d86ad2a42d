"""Small timing helpers shared by the benchmark parts: load average and best-of-N."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def load() -> float:
    """One-minute load average (NaN where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Shortest wall time (seconds) of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
