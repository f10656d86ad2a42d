"""How many CPU threads torch may use, and a scope that sets them and puts them back.

torch starts with one intra-op thread per core it counts, which is more than this process may
use when a CPU affinity mask or a container quota (cgroup ``cpu.max``) allows fewer. A thread
more than the CPUs there are is not free: every operator waits at a barrier for its slowest
thread, so one descheduled thread stalls them all: on a loaded machine more threads can be much
slower than one (figures: bench/README.md).
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs the container quota allows (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), None if none.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "cpu.max").write_text("150000 100000\\n")
    >>> cgroup_cpu_limit(d)
    1.5
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: the affinity mask, capped by the container quota (rounded up)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None and limit > 0:
        n = min(n, math.ceil(limit))
    return max(1, n)


def default_threads() -> int:
    """torch's current intra-op thread count, capped by :func:`usable_cpus`."""
    import torch

    return max(1, min(torch.get_num_threads(), usable_cpus()))


@contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads; the previous count is restored after."""
    import torch

    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
