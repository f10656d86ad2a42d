"""Watchdog of a local Ray cluster, run as ``python -S _ray_watchdog.py DRIVER_PID`` (stdlib only).

It records the processes the driver starts while Ray comes up (gcs_server, raylet, ...) and, until
the end, everything below them (the agents, the workers). When its stdin reaches EOF without a
"bye" line (the driver died, even by SIGKILL) it ends every recorded process still running (same
pid *and* start time): SIGTERM, then SIGKILL after 2 s. Started by :class:`banditsim.sim.run.ray_reaper.RayReaper`.
"""

import os
import select
import signal
import sys
import time


def process_table() -> dict:
    """``{pid: (state, parent pid, start time)}`` of every process, read from /proc."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    f = fh.read().rsplit(")", 1)[1].split()
                procs[int(name)] = (f[0], int(f[1]), f[19])
            except (OSError, IndexError, ValueError):
                pass
    return procs


class Watch:
    """The processes recorded so far (pid → start time) below the driver's new children."""

    def __init__(self, driver: int):
        self.driver, self.me = driver, os.getpid()
        # the driver's children that are not Ray's: it starts Ray only after our "ready"
        self.before = {p for p, st in process_table().items() if st[1] == driver}
        self.known: dict = {}
        self.roots_open = True

    def scan(self) -> None:
        procs = process_table()
        kids: dict = {}
        for p, st in procs.items():
            kids.setdefault(st[1], []).append(p)
        stack = [p for p, t in self.known.items() if p in procs and procs[p][2] == t]
        if self.roots_open:
            stack += [p for p in kids.get(self.driver, []) if p not in self.before and p != self.me]
        while stack:
            p = stack.pop()
            if p in procs and procs[p][0] != "Z":
                self.known.setdefault(p, procs[p][2])
            stack += [c for c in kids.get(p, []) if c not in self.known]

    def alive(self) -> list:
        procs = process_table()
        return [p for p, t in self.known.items()
                if p in procs and procs[p][2] == t and procs[p][0] != "Z"]

    def end_all(self) -> None:
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 0.0)):
            for p in self.alive():
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
            end = time.monotonic() + grace
            while self.alive() and time.monotonic() < end:
                time.sleep(0.05)


def main(driver: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C / hang-up reach the driver, not us:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # we must outlive it to clean up
    watch = Watch(driver)
    os.write(1, b"ready\n")
    bye, buf = False, b""
    while True:
        if select.select([0], [], [], 0.25)[0]:
            chunk = os.read(0, 256)
            if not chunk:
                break
            buf += chunk
            if b"started" in buf:
                watch.scan()
                watch.roots_open = False  # from now on only what lies below Ray's own processes
            if b"bye" in buf:
                bye = True
                break
        watch.scan()
    if not bye:
        watch.scan()
        watch.end_all()


if __name__ == "__main__":
    main(int(sys.argv[1]))
