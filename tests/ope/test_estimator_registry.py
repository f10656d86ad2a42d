"""The walk "add an estimator": one function and one register_estimator line make it a choice of the
``ope`` config and run it in the simulated experiment, on a user's log (``--log``) and in the coverage study."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.envs.world_config import WorldConfig
from banditsim.sim.cli import main
from banditsim.sim.config.errors import ConfigError
from banditsim.sim.offline.config import OPEConfig, load_ope_config
from banditsim.sim.offline.experiment import run_ope_experiment
from banditsim.sim.offline.log_file import estimate_log_file
from banditsim.sim.ope import OPEInputError
from banditsim.sim.ope.intervals import make_estimate
from banditsim.sim.ope.registry import ESTIMATORS, register_estimator
from tests.sim.tiny_world import tiny_items, tiny_population

KNOWN = "choose from ips, snips, dm, dr, switch_dr"


def logged_mean(log, action_dist, *, estimated_rewards, tau, alpha=0.05, interval="clt", random_state=None,
                cluster=None):
    """A throwaway estimator: the logging policy's mean reward (it ignores the target), checking its inputs."""
    assert estimated_rewards.shape[0] == log.n_rounds and tau == "auto"
    return make_estimate("logged_mean", log.reward, alpha=alpha, interval=interval, random_state=random_state,
                         cluster=cluster)


@pytest.fixture
def registered():
    """``logged_mean`` registered for one test (with a reward model and switch-DR's ``tau`` setting)."""
    register_estimator("logged_mean", logged_mean, reward_model=True, options={"tau": "switch_tau"})
    yield "logged_mean"
    del ESTIMATORS["logged_mean"]


def test_a_registered_estimator_gets_a_row_per_target_in_the_ope_experiment(registered):
    cfg = OPEConfig.model_validate({
        "world": {"n_users": 30},
        "experiment": {"warmup_steps": 3, "log_steps": 4, "item_dims": 4, "estimators": ["ips", registered]}})
    x = tiny_items()
    res = run_ope_experiment(cfg, x, tiny_population(x), WorldConfig())
    got = [r for r in res.rows if r["estimator"] == registered]
    assert [r["target"] for r in got] == [t.label for t in cfg.targets]
    assert all(r["estimate"] == pytest.approx(res.log.reward.mean(), rel=1e-12) for r in got)
    assert {r["estimator"] for r in res.rows} == {"ips", registered}


def test_a_registered_estimator_is_a_default_choice_and_runs_on_a_log_file(registered, tmp_path):
    assert OPEConfig().experiment.estimators[-1] == registered  # the choices are read when the config is made
    p = tmp_path / "log.csv"
    p.write_text("\n".join(["action,pscore,reward,user_id"] + [f"{i % 2},0.5,{i % 3 == 0:d},{i % 150}"
                                                              for i in range(600)]))
    rows = estimate_log_file(p, [{"name": "epsilon_greedy", "params": {"epsilon": 0.5}, "label": "eg"}])
    assert [r["estimator"] for r in rows] == [*ESTIMATORS]
    mine = rows[-1]
    assert mine["estimate"] == pytest.approx(np.mean([i % 3 == 0 for i in range(300, 600)]), rel=1e-12)


def test_an_unknown_estimator_is_one_error_listing_the_known_ones(tmp_path, capsys):
    with pytest.raises(ConfigError, match=f"unknown estimator 'mips'; {KNOWN}$"):
        load_ope_config(None, ["experiment.estimators=[ips,mips]"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: {estimators: [ips, mips]}\n")
    assert main(["ope", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: bad.yaml: experiment.estimators") and KNOWN in err and "\n" not in err
    with pytest.raises(OPEInputError, match=f"unknown estimator 'mips'; {KNOWN}$"):
        estimate_log_file(tmp_path / "never-read.csv", estimators=["ips", "mips"])


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="estimator 'ips' is already registered"):
        register_estimator("ips", logged_mean)


def test_a_registered_slate_estimator_gets_a_row_per_target_in_the_slate_experiment():
    """The slate walk: one function and one register_slate_estimator line, and the ope experiment on
    slates runs it for every target beside IIPS, RIPS and standard slate IPS."""
    from banditsim.sim.ope.registry import SLATE_ESTIMATORS, register_slate_estimator
    from tests.sim.test_ope_experiment import _slate_cfg

    seen = {}

    def first_position_only(log, target, *, alpha, interval, random_state, cluster):
        seen["target"] = target.shape
        return make_estimate("first_position_only", log.reward[log.position == 0], alpha=alpha,
                             interval=interval, random_state=random_state, cluster=cluster[log.position == 0])

    register_slate_estimator("first_position_only", first_position_only, target="cascade")
    try:
        x = tiny_items(20)
        res = run_ope_experiment(_slate_cfg(0), x, tiny_population(x), WorldConfig())
    finally:
        del SLATE_ESTIMATORS["first_position_only"]
    rows = [r for r in res.rows if r["estimator"] == "first_position_only"]
    targets = {r["target"] for r in res.rows}
    assert {r["target"] for r in rows} == targets and len(rows) == len(targets) >= 2
    assert {r["estimator"] for r in res.rows} == {"iips", "rips", "sips", "first_position_only"}
    assert len(seen["target"]) == 1 and seen["target"][0] > 0  # the cascade probabilities, one per logged row
    with pytest.raises(ValueError, match="target must be 'item_position' or 'cascade', got 'slate'"):
        register_slate_estimator("bad", first_position_only, target="slate")
    with pytest.raises(ValueError, match="slate estimator 'iips' is already registered"):
        register_slate_estimator("iips", first_position_only, target="cascade")
