"""``run.compute`` / ``run.device`` / ``banditsim run --device``: the torch path, tested on the CPU.

The torch path on the CPU (``run.compute: torch``) must make the same decisions as numpy, with
expected rewards equal up to float32 rounding; ``--device cuda`` without CUDA is one error line.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from banditsim.sim.config.run_config import validate_config
from banditsim.sim.config.errors import ConfigError
from banditsim.sim.config.files import load_config
from banditsim.sim.run.runner import run_experiment
from tests.sim.tiny_world import TINY_CSV

torch.set_num_threads(1)

CONFIG = """
name: device
catalog: {source: tiny.csv}
population: {kind: clusters, n_users: 100, n_clusters: 3}
world: {n_users: 16}
agents:
  - {name: beta_ts, params: {n_propensity_draws: 8}}
  - {name: linucb}
  - {name: lin_ts, params: {n_propensity_draws: 8}}
  - {name: lin_ts, label: lin_ts_shared, params: {n_propensity_draws: 8, mode: shared, arm_dim: 4}}
  - {name: logistic_ts, params: {n_propensity_draws: 8}}
  - {name: random}
run: {seeds: 2, horizon: 10, workers: 1}
log: {max_rows_per_cell: 100}
"""
TORCH_AGENTS = {"linucb", "lin_ts", "lin_ts_shared", "logistic_ts"}
SORT = [("agent", "ascending"), ("seed", "ascending")]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("device-cfg")
    (folder / "tiny.csv").write_text(TINY_CSV)
    (folder / "device.yaml").write_text(CONFIG)
    return folder / "device.yaml"


@pytest.fixture(scope="module")
def numpy_run(config_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("device-np") / "run"
    run_experiment(load_config(config_path), out, progress=False, log=lambda *_: None)
    return out


def _table(out, name, order):
    return pq.read_table(out / name).sort_by(SORT + [(order, "ascending")])


def _assert_same_run(a, b, order: str, float_tol: float) -> None:
    """Integer/string columns identical, float columns equal up to ``float_tol``."""
    assert a.column_names == b.column_names and a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            np.testing.assert_allclose(y, x, rtol=0, atol=float_tol, err_msg=name)
        else:
            assert (x == y).all(), f"{name} differs ({order})"


def test_torch_on_cpu_matches_numpy(numpy_run, config_path, tmp_path, capsys):
    from banditsim.sim.cli import main

    out = tmp_path / "torch"
    assert main(["run", str(config_path), "--out", str(out), "--quiet", "--device", "cpu",
                 "--set", "run.compute=torch"]) == 0
    printed = capsys.readouterr().out
    assert "compute: world torch on cpu, embedding on cpu; agents torch on cpu: linucb, lin_ts, " \
           "lin_ts_shared, logistic_ts; numpy: beta_ts, random" in printed.replace("\n", "")
    # measured: every action, feedback kind and reward identical; expected rewards (float32 world,
    # tastes drifted step by step in each backend's float32 rounding) within 1.0e-6 with the default
    # user-history context (7.5e-7 with world.history_k: 0), propensities within 3e-8 (2026-12-06)
    _assert_same_run(_table(numpy_run, "metrics.parquet", "step"), _table(out, "metrics.parquet", "step"),
                     "metrics", 2e-6)
    _assert_same_run(_table(numpy_run, "log.parquet", "slate_id"), _table(out, "log.parquet", "slate_id"),
                     "log", 2e-6)
    manifest = json.loads((out / "manifest.json").read_text())["config"]
    assert manifest["run"]["compute"] == "torch" and manifest["world"]["backend"] == "torch"
    assert manifest["agents"][1]["params"] == {"backend": "torch", "device": "cpu"}


def test_built_agents_and_world_use_torch(config_path):
    from banditsim.sim.run.play import build_agent, start_world
    from banditsim.sim.run.prepare import prepare

    for compute in ("numpy", "torch"):
        prep = prepare(load_config(config_path, [f"run.compute={compute}"]), progress=False)
        world, _ = start_world(prep, 0)
        assert world.be.name == compute and world.be.device == "cpu"
        for index, spec in enumerate(prep.config.agents):
            agent = build_agent(prep, index, 0)
            expected = compute if spec.label in TORCH_AGENTS else None
            assert getattr(agent, "_backend", None) == expected, spec.label
            if expected == "torch":
                assert agent._device == "cpu"


def test_device_cuda_without_cuda_is_one_line(config_path, tmp_path, capsys, monkeypatch):
    import banditsim.sim.run.runner
    from banditsim.sim.cli import main
    from banditsim.sim.run.prepare import prepare

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the CUDA check must come before the run starts")

    monkeypatch.setattr(banditsim.sim.run.runner, "run_experiment", must_not_run)
    out = tmp_path / "cuda"
    assert main(["run", str(config_path), "--out", str(out), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --device cuda: torch sees no CUDA device") and err.count("\n") == 1
    assert not out.exists()
    assert main(["run", str(config_path), "--out", str(out), "--set", "run.device=cuda"]) == 2
    assert capsys.readouterr().err.startswith("error: run.device cuda: torch sees no CUDA device")
    assert not out.exists()
    with pytest.raises(Exception, match="run.device cuda: torch sees no CUDA device"):
        prepare(load_config(config_path, ["run.device=cuda"]), progress=False)  # the API checks too


def test_run_device_fills_in_world_embedding_and_agents():
    cfg = validate_config({"run": {"device": "cuda"}, "agents": [
        {"name": "beta_ts"}, {"name": "linucb"}, {"name": "neural_linear_ts"},
        {"name": "lin_ts", "label": "kept", "params": {"backend": "numpy"}}]})
    assert (cfg.run.compute, cfg.world.backend, cfg.world.device, cfg.embedding.device) == \
        ("torch", "torch", "cuda", "cuda")
    assert [a.params for a in cfg.agents] == [{}, {"backend": "torch", "device": "cuda"}, {"device": "cuda"},
                                              {"backend": "numpy"}]
    assert validate_config(cfg.model_dump()).model_dump() == cfg.model_dump()  # the manifest re-validates
    kept = validate_config({"run": {"compute": "torch"}, "embedding": {"device": "cpu"},
                            "world": {"backend": "torch", "device": "cpu"}})
    assert kept.embedding.device == "cpu" and kept.world.device == "cpu"
    default = validate_config({})
    assert (default.run.compute, default.world.backend, default.embedding.device) == ("numpy", "numpy", "auto")
    assert default.agents[2].params == {"mode": "shared"}  # the quickstart's linucb: no backend filled in
    world_only = validate_config({"world": {"backend": "torch"}})  # the world alone in torch, as before
    assert world_only.world.backend == "torch" and world_only.agents[2].params == {"mode": "shared"}


@pytest.mark.parametrize("data, message", [
    ({"run": {"device": "cuda", "compute": "numpy"}}, "run: device 'cuda' needs compute 'torch'"),
    ({"run": {"compute": "torch"}, "world": {"backend": "numpy"}},
     "world.backend 'numpy' conflicts with run.compute 'torch'"),
    ({"run": {"device": "cuda"}, "world": {"device": "cpu"}},
     "world.device 'cpu' conflicts with run.device 'cuda'"),
    ({"run": {"device": "gpu"}}, "run.device: Input should be 'cpu' or 'cuda'"),
])
def test_conflicting_settings_are_one_config_error(data, message):
    with pytest.raises(ConfigError, match=message) as info:
        validate_config(data, "bad.yaml")
    assert str(info.value).startswith("bad.yaml: ") and "\n" not in str(info.value)


def test_cli_device_overrides_config(config_path, tmp_path):
    path = tmp_path / "cuda.yaml"
    path.write_text(config_path.read_text().replace("workers: 1}", "workers: 1, device: cuda}"))
    (tmp_path / "tiny.csv").write_text(TINY_CSV)
    assert load_config(path).run.compute == "torch"
    cfg = load_config(path, ["run.device=cpu"])  # what --device cpu adds
    assert (cfg.run.device, cfg.run.compute, cfg.world.backend) == ("cpu", "numpy", "numpy")
