"""Run-config validation: every bad config is one clear line naming the key, and nothing is written."""

from __future__ import annotations

import pytest

from banditsim.sim.cli import main
from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.config.files import apply_overrides, load_config

BAD_CONFIGS = [
    ("run:\n  horizon: 10\n  wat: 3\n", "unknown key 'run.wat'"),
    ("bogus_section: {}\n", "unknown key 'bogus_section'"),
    ("run:\n  seeds: many\n", "run.seeds: Input should be a valid integer"),
    ("run:\n  seeds: 0\n", "run.seeds: Input should be greater than or equal to 1"),
    ("world:\n  slate_size: -2\n", "world.slate_size"),
    ("world:\n  reward_map: {love: 1}\n", "unknown feedback kind 'love'"),
    ("world:\n  fatigue: {recovery: 1.5}\n", "world.fatigue.recovery"),
    ("agents:\n  - {name: nosuch}\n", "unknown agent 'nosuch'"),
    ("agents:\n  - {name: epsilon_greedy, params: {temperature: 2}}\n", "unknown parameter 'temperature'"),
    ("agents:\n  - {name: random}\n  - {name: random}\n", "labels must be unique"),
    ("agents: []\n", "agents"),
    ("catalog: {source: items.csv}\n", "population kind 'movielens'"),
    ("population: {kind: personas}\n", "needs 'personas'"),
    ("cold_start: {new_item_fraction: 0.2}\n", "release_step is required"),
    ("run: {backend: spark}\n", "run.backend"),
    ("run: [1, 2]\n", "run"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("run: {horizon: 10\n", "not valid YAML"),
]


@pytest.mark.parametrize("text, message", BAD_CONFIGS)
def test_bad_config_is_one_clear_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "results"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err, err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists(), "a rejected config must not leave a results folder"


def test_bad_toml_and_missing_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nseeds = 3\n")
    assert main(["run", str(bad), "--quiet"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.yaml"), "--quiet"]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert main(["run", "--set", "run.horizon", "--quiet"]) == 2
    assert "expected key=value" in capsys.readouterr().err


def test_toml_config_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "t"\n[run]\nseeds = 3\n[world]\nn_users = 8\n')
    cfg = load_config(path, ["run.horizon=7", "world.reward_map.skip=-0.2"])
    assert (cfg.name, cfg.run.seeds, cfg.run.horizon, cfg.world.n_users) == ("t", 3, 7, 8)
    assert cfg.world.reward_map["skip"] == -0.2 and cfg.world.reward_map["like"] == 1.0


def test_defaults_are_written_out():
    dumped = RunConfig().model_dump()
    assert dumped["world"]["fatigue"]["recovery"] == 0.8
    assert dumped["run"]["horizon"] >= 1 and len(dumped["agents"]) == 6
    assert RunConfig.model_validate(dumped) == RunConfig()


def test_override_into_agent_list():
    data = apply_overrides({}, ["agents.4.params.epsilon=0.2"])
    assert data["agents"][4]["params"]["epsilon"] == 0.2
