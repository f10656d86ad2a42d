"""Crashes lose nothing on the Ray backend (issue #9, item 2): SIGKILL the driver, resume.

Forks ``banditsim run --backend ray --workers 2 --resume`` (a child of the pre-imported fork
server) and kills the driver with SIGKILL at seeded random points — after a few new cell files,
or a random delay after its local Ray cluster came up — then resumes with the Ray backend until
the sweep completes. Every cell completed before a run started must keep its file (same inode,
size and mtime), no cell file may be half-written, and the finished folder must equal the
uninterrupted local-backend reference (``metrics.parquet`` byte for byte, ``summary.json``
field for field): results do not depend on the backend or on the kills.

Orphans: while a driver runs, every process below it (gcs_server, raylet, the dashboard and
runtime-env agents, the workers) is recorded with its start time; after the SIGKILL each must
be gone within ``ORPHAN_WAIT`` seconds. Without help Ray's two agents outlive a SIGKILLed driver
by about 60 s (each blocks 60 s trying to tell the dead GCS that the raylet died), so
``sim.backends.run_ray`` starts a small watchdog that ends them when the driver dies.
"""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from tests.reliability.rel_helpers import cell_snapshot, file_sha, kill_damage, wait_until

pytest.importorskip("ray")

N_AGENTS, N_SEEDS, HORIZON = 4, 3, 60  # as conftest.SWEEP
N_CELLS = N_AGENTS * N_SEEDS
N_KILLS = 3
ORPHAN_WAIT = 30.0  # seconds a killed driver's Ray processes may take to end


# --------------------------------------------------------------------------- /proc
def _stat(pid: int) -> tuple[str, int, str, str] | None:
    """(state, ppid, start time, name) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    f = text.rsplit(")", 1)[1].split()
    return f[0], int(f[1]), f[19], name


def _descendants(root: int, known: dict[int, tuple[str, str]]) -> None:
    """Add every live process below ``root`` — or below a process already in ``known`` (Ray's
    agents are re-parented to init once the raylet dies) — to ``known``: pid -> (start, name)."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                procs[int(name)] = st
    kids: dict[int, list[int]] = {}
    for pid, st in procs.items():
        kids.setdefault(st[1], []).append(pid)
    stack = [root] + [p for p, (start, _) in known.items() if p in procs and procs[p][2] == start]
    while stack:
        for c in kids.get(stack.pop(), []):
            if c not in known and procs[c][0] != "Z":
                known[c] = (procs[c][2], procs[c][3])
                stack.append(c)


def _name(pid: int, fallback: str) -> str:
    """What ``ps`` shows (Ray renames its processes: ``ray::IDLE``, ``ray::DashboardAgent``)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return fallback
    first = argv[0].decode(errors="replace").strip()
    if first.endswith("python") or "/python" in first:  # a script: name it by the script
        if b"-c" in argv:
            return "python -c"  # sim.backends' watchdog of the cluster
        first = next((a.decode(errors="replace") for a in argv[1:] if a.endswith(b".py")), first)
    return os.path.basename(first.split()[0]) if first else fallback


def _alive(known: dict[int, tuple[str, str]]) -> dict[int, str]:
    """The processes of ``known`` still running (same pid and start time, not a zombie): pid -> name."""
    out = {}
    for pid, (start, name) in known.items():
        st = _stat(pid)
        if st is not None and st[2] == start and st[0] != "Z":
            out[pid] = _name(pid, name)
    return out


def _is_up(known: dict[int, tuple[str, str]]) -> bool:
    """The driver's local Ray cluster runs: a raylet and at least one worker."""
    names = list(_alive(known).values())
    return "raylet" in names and any(n.startswith("ray::") and "Agent" not in n for n in names)


# --------------------------------------------------------------------------- results folder
def _watch(forkserver, pid: int, known: dict, until, timeout: float) -> bool:
    """Record the driver's process tree until ``until()`` holds or the driver ends."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        _descendants(pid, known)
        if until() or not forkserver.alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_sigkill_ray_driver_then_resume_loses_nothing_and_leaves_no_ray_processes(
        forkserver, sweep_config, sweep_reference, tmp_path):
    rng = np.random.default_rng(77)  # kills: 0.92 s after Ray is up, then after 2 new cells, after 1
    t_start = time.monotonic()
    ref_summary = json.loads((sweep_reference / "summary.json").read_text())
    out = tmp_path / "ray-sweep"
    argv = ["run", str(sweep_config), "--out", str(out), "--quiet", "--resume",
            "--backend", "ray", "--workers", "2"]
    kills, lost, corrupt, phases = 0, 0, 0, []
    orphans, linger, seen_names, every = 0, [], set(), {}
    try:
        for k in range(N_KILLS):
            before = cell_snapshot(out)
            remaining = N_CELLS - len(before)
            known: dict[int, tuple[str, str]] = {}
            pid = forkserver.banditsim(argv, tmp_path / f"k{k}.log")
            t0 = time.monotonic()
            # Ray up first (its start is no point of interest: a kill there is a kill of a
            # process that wrote nothing), then: after 1-2 new cells, or a random delay
            _watch(forkserver, pid, known, lambda known=known: _is_up(known), 120)
            t_up = time.monotonic() - t0
            if rng.random() < 0.65 and remaining > 4:
                r = int(rng.integers(1, 3))
                target = len(before) + r
                _watch(forkserver, pid, known, lambda n=target: len(cell_snapshot(out)) >= n, 120)
                pause = float(rng.uniform(0.0, 0.1))
                how = f"{r} new cells after Ray was up ({t_up:.1f} s) + {pause:.2f} s"
            else:  # the workers' start-up, or the first cells (a cell takes ~0.2 s)
                pause = float(rng.uniform(0.2, 1.5))
                how = f"{pause:.2f} s after Ray was up ({t_up:.1f} s)"
            _watch(forkserver, pid, known, lambda: False, pause)
            _descendants(pid, known)
            names = set(_alive(known).values())
            if not forkserver.alive(pid):
                forkserver.wait(pid)
                phases.append(f"{how}: finished before the kill")
                break
            status = forkserver.kill(pid)
            t_kill = time.monotonic()
            assert status["signal"] == signal.SIGKILL
            kills += 1
            every.update(known)
            seen_names.update(names)
            after, n_lost, n_corrupt = kill_damage(out, before, HORIZON)
            lost, corrupt = lost + n_lost, corrupt + n_corrupt
            # every Ray process the killed driver started must end (within ORPHAN_WAIT)
            gone = wait_until(lambda pid=pid, known=known: _descendants(pid, known) or not _alive(known),
                              ORPHAN_WAIT, 0.1)
            left = _alive(known)
            linger.append(time.monotonic() - t_kill if gone else float("inf"))
            orphans += len(left)
            phases.append(f"{how}: {len(after) - len(before)} new cells, {N_CELLS - len(after)} left; "
                          f"{len(known)} Ray processes, all gone {linger[-1]:.1f} s after the kill"
                          + (f"; still alive after {ORPHAN_WAIT:.0f} s: {sorted(left.values())}" if left else ""))

        before = cell_snapshot(out)
        log = tmp_path / "final.log"
        known = {}
        pid = forkserver.banditsim(argv, log)
        _watch(forkserver, pid, known, lambda: False, 300)
        status = forkserver.wait(pid)
        every.update(known)
        text = log.read_text()
        assert status["exit"] == 0, text[-3000:]
        # a driver that ends normally leaves nothing either (ray.shutdown)
        wait_until(lambda: not _alive(known), ORPHAN_WAIT, 0.1)
        clean_left = _alive(known)
        assert before, "no cell finished before the kills: the resume reused nothing"
        assert f"resuming: {len(before)} of {N_CELLS} cells already done" in text, text[-2000:]
        manifest = json.loads((out / "manifest.json").read_text())
        assert (manifest["status"], manifest["cells_reused"], manifest["cells_run"]) == \
            ("complete", len(before), N_CELLS - len(before))
        phases.append(f"none (final resume on Ray): {len(before)} cells reused, {N_CELLS - len(before)} run")
        after = cell_snapshot(out)
        lost += sum(1 for name, st in before.items() if after.get(name) != st)
        assert file_sha(out / "metrics.parquet") == file_sha(sweep_reference / "metrics.parquet"), \
            "the Ray backend's metrics differ from the local reference"
        for name in ("log.parquet", "items.parquet", "genres.parquet"):
            assert file_sha(out / name) == file_sha(sweep_reference / name), name
        assert json.loads((out / "summary.json").read_text()) == ref_summary
        partial = [p.name for p in out.rglob("*.tmp")]
        assert partial == [], f"half-written files left: {partial}"
    finally:
        for p in _alive(every):  # never leave a stray Ray process to the next test
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    worst = max(linger, default=0.0)
    print(f"\nray kill-and-resume: {kills} SIGKILLs of the driver, {lost} completed cells lost or recomputed, "
          f"{corrupt} corrupt cell files, {orphans} orphaned Ray processes (all gone within {worst:.1f} s "
          f"of a kill; {len(clean_left)} left by the clean run); {time.monotonic() - t_start:.0f} s")
    for p in phases:
        print("  kill", p)
    print("  Ray processes seen:", ", ".join(sorted(seen_names)))
    assert kills >= N_KILLS, phases
    assert (lost, corrupt) == (0, 0)
    assert orphans == 0, phases
    assert clean_left == {}, f"Ray processes left by a driver that ended normally: {clean_left}"
