"""Clean-up of a local Ray cluster whose driver died without ``ray.shutdown()``."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

_WATCHDOG = Path(__file__).with_name("_ray_watchdog.py")


class RayReaper:
    """Ends the local Ray cluster's processes when the driver dies without ``ray.shutdown()``.

    Ray ties gcs_server and the raylet to the driver (PR_SET_PDEATHSIG) and its workers leave
    when the raylet is gone, but the raylet's dashboard and runtime-env agents, once they see it
    die, block 60 s trying to report that to the (dead) GCS: a SIGKILLed sweep would leave them
    running for a minute after each kill. Linux only (/proc); elsewhere a no-op.
    """

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    def start(cls) -> RayReaper | None:
        if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"):
            return None
        import subprocess

        try:
            proc = subprocess.Popen([sys.executable, "-S", str(_WATCHDOG), str(os.getpid())],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, close_fds=True)
        except OSError:
            return None
        if proc.stdout.readline() != b"ready\n":  # it could not start: run without it
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()
            return None
        proc.stdout.close()
        return cls(proc)

    def _send(self, line: bytes) -> None:
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def started(self) -> None:
        """``ray.init()`` returned: the processes started so far are the cluster's."""
        self._send(b"started\n")

    def close(self, kill: bool = False) -> None:
        """The driver is done with Ray (``kill``: end what is left of the cluster too)."""
        if not kill:
            self._send(b"bye\n")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        import subprocess

        with contextlib.suppress(subprocess.TimeoutExpired):  # never let the watchdog fail the run
            self.proc.wait(timeout=10)
