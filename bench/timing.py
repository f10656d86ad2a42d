"""Small timing helpers shared by the benchmark parts: load average, process age and best-of-N."""

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


def process_age() -> float | None:
    """Seconds since this process started, interpreter start-up included (Linux ``/proc``; else None)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime", encoding="ascii") as f:
            return float(f.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return None
