"""Crashes lose nothing (issue #9, item 2): SIGKILL ``banditsim run`` at random points, resume.

Each trial forks ``banditsim run --resume`` (a child of a pre-imported server, so a trial costs
no interpreter start-up), kills it with SIGKILL at a seeded random point — after a random
number of new cell files, or after a random delay, mid-cell, mid-write or in the final merge —
and checks that every cell completed before that run started still has the same file (same
inode, size and mtime: an atomic rewrite would change the inode), that every cell file is
whole, and, for workers=2, that no worker outlives the killed parent. Each sweep then resumes
to completion and must equal the uninterrupted run byte for byte (``metrics.parquet``) and
field for field (``summary.json``), reporting exactly the cells done before as reused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from tests.reliability.rel_helpers import (
    cell_snapshot,
    children_of,
    file_sha,
    kill_damage,
    wait_until,
)

N_AGENTS, N_SEEDS, HORIZON = 4, 3, 60  # as conftest.SWEEP
N_CELLS = N_AGENTS * N_SEEDS
MIN_KILLS = 10
# (workers, kills in this sweep): two sweeps, 10 kills in all
SWEEPS = [(1, 8), (2, 2)]


def _n_done(out: Path) -> int:
    return len(cell_snapshot(out))


def test_sigkill_at_random_points_then_resume_loses_nothing(forkserver, sweep_config, sweep_reference, tmp_path):
    rng = np.random.default_rng(2026)
    ref_metrics = file_sha(sweep_reference / "metrics.parquet")
    ref_summary = json.loads((sweep_reference / "summary.json").read_text())
    kills, lost, corrupt, orphans, phases = 0, 0, 0, 0, []
    for sweep, (workers, n_kills) in enumerate(SWEEPS):
        out = tmp_path / f"sweep{sweep}"
        argv = ["run", str(sweep_config), "--out", str(out), "--quiet", "--resume", "--workers", str(workers)]
        for k in range(n_kills):
            before = cell_snapshot(out)
            remaining = N_CELLS - len(before)
            pid = forkserver.banditsim(argv, tmp_path / f"s{sweep}k{k}.log")
            if rng.random() < 0.6:  # after r new cells (r = remaining: in the final merge), then a bit more
                r = remaining if rng.random() < 0.15 else int(rng.integers(0, min(3, remaining) + 1))
                target = len(before) + r
                wait_until(lambda out=out, n=target, pid=pid: _n_done(out) >= n or not forkserver.alive(pid), 120)
                time.sleep(float(rng.uniform(0.0, 0.3)))
                how = f"after {r} new cells"
            else:
                delay = float(rng.uniform(0.0, 1.2))
                wait_until(lambda pid=pid: not forkserver.alive(pid), delay)
                how = f"after {delay:.2f} s"
            workers_now = children_of(pid)
            if not forkserver.alive(pid):
                forkserver.wait(pid)
                phases.append(f"{how}: finished before the kill")
                break  # this sweep completed; it gets no more kills
            status = forkserver.kill(pid)
            assert status["signal"] == 9
            kills += 1
            after, n_lost, n_corrupt = kill_damage(out, before, HORIZON)
            lost, corrupt = lost + n_lost, corrupt + n_corrupt
            phases.append(f"{how}: {len(after) - len(before)} new cells, {N_CELLS - len(after)} left"
                          + (", killed in the final merge" if len(after) == N_CELLS else ""))
            # the pool's workers (and resource tracker) must end with their parent
            if workers_now and not wait_until(lambda w=workers_now: not any(map(forkserver.alive, w)), 5.0):
                orphans += sum(forkserver.alive(c) for c in workers_now)
        before = cell_snapshot(out)
        log = tmp_path / f"s{sweep}final.log"
        pid = forkserver.banditsim(argv, log)
        status = forkserver.wait(pid)
        text = log.read_text()
        assert status["exit"] == 0, text[-3000:]
        if before:
            assert f"resuming: {len(before)} of {N_CELLS} cells already done" in text, text[-2000:]
        manifest = json.loads((out / "manifest.json").read_text())
        assert (manifest["status"], manifest["cells_reused"], manifest["cells_run"]) == \
            ("complete", len(before), N_CELLS - len(before))
        after = cell_snapshot(out)
        lost += sum(1 for name, st in before.items() if after.get(name) != st)
        assert file_sha(out / "metrics.parquet") == ref_metrics, f"sweep {sweep}: metrics differ from the reference"
        for name in ("log.parquet", "items.parquet", "genres.parquet"):  # workers=2 included: byte-identical
            assert file_sha(out / name) == file_sha(sweep_reference / name), (sweep, name)
        assert json.loads((out / "summary.json").read_text()) == ref_summary
        partial = [p.name for p in out.rglob("*.tmp")]
        assert partial == [], f"half-written files left: {partial}"
    print(f"\nkill-and-resume: {kills} SIGKILLs in {len(SWEEPS)} sweeps, {lost} completed cells lost or "
          f"recomputed, {corrupt} corrupt cell files, {orphans} orphaned workers")
    for p in phases:
        print("  kill", p)
    assert kills >= MIN_KILLS, phases
    assert (lost, corrupt, orphans) == (0, 0, 0)


def test_partial_files_of_a_killed_writer_do_not_block_resume(forkserver, sweep_config, sweep_reference, tmp_path):
    """A kill mid-write leaves a temporary file (``.name.XXXX.tmp``) next to the results, and a
    kill between creating the folder and renaming the first manifest leaves nothing else:
    --resume must work in both cases, clean the leftovers and reuse every finished cell."""
    import shutil

    out = tmp_path / "killed-in-merge"
    shutil.copytree(sweep_reference, out)
    stale = [out / "cells" / ".00-beta_ts__seed0000.metrics.parquet.banditsim-abcd.tmp",
             out / ".summary.json.banditsim-ef01.tmp"]
    for p in stale:
        p.write_bytes(b"PAR1 half a file")
    users = [out / ".notes.tmp", out / "draft.tmp", out / "cells" / ".mine.abcd.tmp"]  # not ours: kept
    for p in users:
        p.write_text("the user's own file")
    (out / "summary.json").unlink()
    log = tmp_path / "a.log"
    pid = forkserver.banditsim(["run", str(sweep_config), "--out", str(out), "--quiet", "--resume"], log)
    assert forkserver.wait(pid)["exit"] == 0, log.read_text()[-2000:]
    assert f"resuming: {N_CELLS} of {N_CELLS} cells already done" in log.read_text()
    assert not any(p.exists() for p in stale) and sorted(out.rglob("*.tmp")) == sorted(users)
    assert all(p.read_text() == "the user's own file" for p in users)
    assert file_sha(out / "metrics.parquet") == file_sha(sweep_reference / "metrics.parquet")
    assert (out / "summary.json").read_text() == (sweep_reference / "summary.json").read_text()

    fresh = tmp_path / "killed-before-manifest"
    fresh.mkdir()
    (fresh / ".manifest.json.banditsim-k1ll.tmp").write_text('{"status": "runn')
    log = tmp_path / "b.log"
    pid = forkserver.banditsim(["run", str(sweep_config), "--out", str(fresh), "--quiet", "--resume",
                                "--set", "run.seeds=1", "--set", "run.horizon=5"], log)
    assert forkserver.wait(pid)["exit"] == 0, log.read_text()[-2000:]
    assert json.loads((fresh / "manifest.json").read_text())["status"] == "complete"
    assert list(fresh.rglob("*.tmp")) == []
