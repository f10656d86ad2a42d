"""world.history_k in the run config: one-line errors, the printed config, and a run's consumers
(the learning trace asks named users with an empty history)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from banditsim.envs.clusters import cluster_population
from banditsim.envs.population import unit_rows
from banditsim.sim.cli import main
from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.config.printer import default_config_text
from banditsim.sim.run.prepare import Prepared, world_config

torch.set_num_threads(1)


@pytest.mark.parametrize("value, message", [("-1", "world.history_k: Input should be greater than or equal to 0"),
                                            ("two", "world.history_k: Input should be a valid integer"),
                                            ("2.5", "world.history_k"),
                                            ("0", None)])
def test_bad_history_k_is_one_line(tmp_path, capsys, value, message):
    if message is None:
        assert world_config(RunConfig.model_validate({"world": {"history_k": int(value)}})).history_k == 0
        return
    out = tmp_path / "r"
    assert main(["run", "--set", f"world.history_k={value}", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err, err
    assert not out.exists()


def test_history_keys_are_printed_with_comments_and_reach_the_world():
    text = default_config_text()
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("history_k:"))
    assert "#" in line and "positively answered" in line
    assert any(ln.strip().startswith("history_dim:") and "#" in ln for ln in text.splitlines())
    wc = world_config(RunConfig.model_validate({"world": {"history_k": 7, "history_dim": 5}}))
    assert (wc.history_k, wc.history_dim) == (7, 5)


def test_learning_trace_with_history_on():
    from banditsim.sim.run.learning_trace import trace_recommendations

    rng = np.random.default_rng(0)
    x = unit_rows(rng.normal(size=(40, 16))).astype(np.float32)
    cfg = RunConfig.model_validate({"world": {"n_users": 8, "history_k": 3, "history_dim": 4},
                                    "run": {"horizon": 10, "seeds": 1},
                                    "agents": [{"name": "linucb", "params": {"mode": "shared", "arm_dim": 4}}]})
    prep = Prepared(cfg, x, cluster_population(x, 60, n_clusters=4, seed=0), [str(i) for i in range(40)],
                    [f"item {i}" for i in range(40)], np.zeros((40, 0), bool), [], np.arange(40), 40,
                    {"model": "none"})
    rows = trace_recommendations(prep, 0, [1, 2], [0, 10])
    assert [r["step"] for r in rows] == [0, 0, 10, 10]
