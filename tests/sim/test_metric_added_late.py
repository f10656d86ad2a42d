"""The walk "add a metric": a metric registered after import (here, inside the test) is one of the A/B
test's metrics: a choice of the config, a per-user column of the simulation, a lift row and a users.parquet column."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from banditsim.envs.feedback_kinds import LIKE
from banditsim.envs.world_config import WorldConfig
from banditsim.sim.abtest.config import ABTestConfig
from banditsim.sim.abtest.experiment import run_abtest
from banditsim.sim.abtest.output import write_abtest_results
from banditsim.sim.metrics import ab_metric_names, register_metric, unregister_metric
from tests.sim.tiny_world import tiny_items, tiny_population


def _liked(v):
    return (v.result.kind == LIKE).astype(float)


@pytest.fixture
def like_rate():
    register_metric("test_like_rate", "TEST like rate", _liked, ab="like_rate")
    yield "like_rate"
    unregister_metric("test_like_rate")


def test_a_metric_registered_after_import_is_an_ab_metric(like_rate, tmp_path):
    assert ab_metric_names()[-1] == like_rate
    cfg = ABTestConfig.model_validate({
        "catalog": {"source": "tiny.csv"}, "population": {"kind": "clusters"},
        "control": {"label": "random", "name": "random"}, "treatment": {"label": "greedy", "kind": "ridge"},
        "test": {"warmup_steps": 4, "warmup_users": 100, "item_dims": 6, "horizon": 3, "users_per_arm": 300,
                 "power_tests": 0, "primary_metric": like_rate, "guardrails": [like_rate]}})
    x = tiny_items()
    res = run_abtest(cfg, x, tiny_population(x), WorldConfig())
    assert res.users.shape[-1] == len(ab_metric_names())
    row = res.lifts[-1]
    assert row["metric"] == like_rate and row["guardrail"]
    assert 0 < row["control"] < 1 and res.sizing[-1]["metric"] == like_rate
    write_abtest_results(tmp_path, cfg, res)
    users = pq.read_table(tmp_path / "users.parquet")
    assert np.array_equal(users.column(like_rate).to_numpy()[:300], res.users[0, :, -1])


def test_after_unregistering_it_is_no_choice_any_more():
    assert "like_rate" not in ab_metric_names()
    with pytest.raises(ValueError, match="primary_metric: unknown A/B metric 'like_rate'"):
        ABTestConfig.model_validate({"test": {"primary_metric": "like_rate"}})
