"""The shipped example configs validate, and the cold-start one releases items mid-run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.config.files import load_config
from banditsim.sim.run.runner import run_experiment

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_there_are_example_configs():
    assert {p.stem for p in CONFIGS} >= {"quickstart", "slate", "personas", "cold_start"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_example_config_validates(path):
    cfg = load_config(path)
    assert cfg.agents and cfg.run.horizon > 0
    if cfg.population.personas_file:
        assert Path(cfg.population.personas_file).is_file()


def test_quickstart_file_equals_builtin_default():
    assert load_config(CONFIGS[[p.stem for p in CONFIGS].index("quickstart")]) == RunConfig()


def test_cold_start_items_appear_only_after_release(tmp_path):
    cfg = load_config(None, ["cold_start.new_item_fraction=0.3", "cold_start.release_step=5",
                             "run.horizon=10", "run.seeds=1", "world.n_users=32", "run.workers=1",
                             "agents=[{name: linucb, params: {mode: shared}}, {name: random}]"])
    out = tmp_path / "cold"
    run_experiment(cfg, out, progress=False, log=lambda *_: None)
    log = pq.read_table(out / "log.parquet").to_pydict()
    step, action = np.array(log["step"]), np.array(log["action"])
    n_initial = 1682 - round(0.3 * 1682)
    assert (action[step < 5] < n_initial).all(), "held-back items must not be shown before release"
    assert (action[step >= 5] >= n_initial).any(), "released items must be recommendable"
