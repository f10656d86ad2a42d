"""The runner: results directory, determinism across workers and backends, kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from banditsim.sim.config.files import load_config
from banditsim.sim.run.runner import run_experiment

SMALL = """
name: small
agents:
  - {name: beta_ts, label: thompson, params: {n_propensity_draws: 8}}
  - {name: linucb}
  - {name: epsilon_greedy, params: {epsilon: 0.2}}
  - {name: random}
run: {seeds: 2, horizon: 12, workers: 1}
world: {n_users: 16}
log: {max_rows_per_cell: 100}
"""


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def reference(small_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    result = run_experiment(load_config(small_config), out, progress=False, log=lambda *_: None)
    return out, result


def sorted_metrics(out):
    table = pq.read_table(out / "metrics.parquet").sort_by([("agent", "ascending"), ("seed", "ascending"),
                                                           ("step", "ascending")])
    return table


def test_results_directory_is_complete(reference):
    out, result = reference
    for name in ("manifest.json", "metrics.parquet", "summary.json", "log.parquet", "genres.parquet",
                 "items.parquet", "regret.png", "feedback_rates.png", "session_length.png", "genres.png"):
        assert (out / name).is_file(), name
    metrics = pq.read_table(out / "metrics.parquet")
    assert metrics.num_rows == 4 * 2 * 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["config"]["world"]["fatigue"]["recovery"] == 0.8  # defaults written back
    assert manifest["embedding"]["model"] == "all-MiniLM-L6-v2" and manifest["embedding"]["cache_key"]
    assert manifest["environment"]["packages"]["numpy"]
    summary = json.loads((out / "summary.json").read_text())["agents"]
    assert set(summary) == {"thompson", "linucb", "epsilon_greedy", "random"}
    regret = metrics.column("regret").to_numpy()
    assert (regret >= -1e-9).all(), "single-item regret against the exact best item is never negative"


def test_no_genre_plot_without_categories(reference, tmp_path):
    """A catalog without categories gets no (empty, warning-raising) genres.png."""
    import shutil
    import warnings

    from banditsim.sim.report.plots import plot_results

    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    (out / "genres.png").unlink()
    genres = pq.read_table(out / "genres.parquet")
    pq.write_table(genres.slice(0, 0), out / "genres.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = plot_results(out)
    assert [p.name for p in written] == ["regret.png", "feedback_rates.png", "session_length.png", "metrics.png",
                                         "fairness.png"]
    assert not (out / "genres.png").exists()


def test_log_has_valid_propensities(reference):
    out, _ = reference
    log = pq.read_table(out / "log.parquet")
    assert log.num_rows == 4 * 2 * 100  # capped per cell
    p = log.column("pscore").to_numpy()
    assert np.isfinite(p).all() and (p > 0).all() and (p <= 1).all()
    eps = log.filter(pq.ParquetFile(out / "log.parquet").read().column("agent").to_numpy() == "epsilon_greedy")
    # ε-greedy's propensity of its greedy choice is at least 1 - ε + ε/n
    assert eps.column("pscore").to_numpy().max() >= 0.8
    assert set(log.column("feedback_kind").to_pylist()) <= {"block", "dislike", "skip", "neutral", "click",
                                                             "like", "save", "share"}


def test_worker_count_does_not_change_numbers(reference, small_config, tmp_path):
    out, _ = reference
    cfg = load_config(small_config, ["run.workers=2"])
    run_experiment(cfg, tmp_path / "w2", progress=False, log=lambda *_: None)
    assert sorted_metrics(tmp_path / "w2").equals(sorted_metrics(out))


def test_ray_backend_gives_identical_metrics(reference, small_config, tmp_path):
    out, _ = reference
    cfg = load_config(small_config, ["run.backend=ray", "run.workers=2"])
    run_experiment(cfg, tmp_path / "ray", progress=False, log=lambda *_: None)
    assert sorted_metrics(tmp_path / "ray").equals(sorted_metrics(out))


def test_existing_results_need_resume(reference, small_config, capsys):
    from banditsim.sim.cli import main

    out, _ = reference
    assert main(["run", str(small_config), "--out", str(out), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["run", str(small_config), "--out", str(out), "--quiet", "--resume",
                 "--set", "run.horizon=5"]) == 2
    assert "config key run.horizon was 12, now 5" in capsys.readouterr().err


def test_killed_run_resumes_to_identical_results(reference, small_config, tmp_path):
    out_ref, _ = reference
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "banditsim.sim.cli", "run", str(small_config), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    cells = out / "cells"
    while time.time() < deadline:
        if cells.is_dir() and len(list(cells.glob("*.metrics.parquet"))) >= 3:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in cells.glob("*.metrics.parquet")}
    assert 0 < len(done_before) < 8, "the kill should land mid-sweep"
    assert not (out / "summary.json").exists()
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_before)} of 8 cells already done" in resumed.stdout
    for name, mtime in done_before.items():
        assert (cells / name).stat().st_mtime_ns == mtime, f"completed cell {name} was recomputed"
    assert sorted_metrics(out).equals(sorted_metrics(out_ref))
