"""Peak RSS of the runner (issue 8 item 4): a horizon-H/4 run and a horizon-H run of ``banditsim run``.

Each run is a child process; its peak resident set comes from ``os.wait4`` (the kernel's
``ru_maxrss`` of that child).  If memory does not grow with the horizon the two peaks are
about equal.  Decisions = n_users × horizon × seeds × agents.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.timing import load


def _cmd() -> list[str]:
    exe = shutil.which("banditsim")
    return [exe] if exe else [sys.executable, "-c", "from banditsim.sim.cli import main; main()"]


def peak_rss(n_users: int, horizon: int, agent: str = "epsilon_greedy") -> dict:
    """Run the runner once in a child process; its peak RSS (MiB), wall seconds, decisions."""
    with tempfile.TemporaryDirectory() as tmp:
        args = _cmd() + ["run", "--out", f"{tmp}/run", "--quiet", "--workers", "1",
                         "--set", f"world.n_users={n_users}", "--set", f"run.horizon={horizon}",
                         "--set", "run.seeds=1", "--set", f"agents=[{{name: {agent}}}]",
                         "--set", "log.enabled=false"]
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"banditsim run failed: {err[-1] if err else status}")
    return {"n_users": n_users, "horizon": horizon, "decisions": n_users * horizon,
            "peak_rss_mib": usage.ru_maxrss / 1024, "seconds": wall, "agent": agent, "load": load()}


def run_memory(n_users: int, horizon: int, log=print) -> list[dict]:
    """Rows for the memory check: horizon H/4 and H (the 10M-decision run: B=4096, H=2442)."""
    rows = []
    for h in (max(1, horizon // 4), horizon):
        r = peak_rss(n_users, h)
        r.update(problem="(m) runner peak RSS", policy=f"epsilon_greedy H={h}", impl="banditsim",
                 note="banditsim run, 1 seed, log off; ru_maxrss of the child")
        rows.append(r)
        log(f"  (m) B={n_users} H={h:<6} {r['decisions']:>12,} decisions  peak RSS {r['peak_rss_mib']:8.1f} MiB  "
            f"{r['seconds']:6.1f} s   (load {r['load']:.2f})")
    return rows
