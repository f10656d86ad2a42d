"""run, ope and abtest configs share one world source: its sections, defaults and cross-checks."""

import pytest
from pydantic import ValidationError

from banditsim.sim.abtest.config import ABTestConfig
from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.config.world_source import WorldSource
from banditsim.sim.offline.config import OPEConfig

CONFIGS = [RunConfig, OPEConfig, ABTestConfig]


@pytest.mark.parametrize("model", CONFIGS)
def test_every_experiment_config_is_a_world_source(model):
    assert issubclass(model, WorldSource)
    assert list(model.model_fields)[:5] == ["name", "catalog", "embedding", "population", "world"]


@pytest.mark.parametrize("model", CONFIGS)
def test_the_movielens_population_needs_the_movielens_catalog_in_every_config(model):
    with pytest.raises(ValidationError, match="population kind 'movielens' .* needs catalog source 'movielens-100k'"):
        model(population={"kind": "movielens"}, catalog={"source": "films.csv"})
    assert model(population={"kind": "clusters"}, catalog={"source": "films.csv"}).catalog.source == "films.csv"


def test_which_key_asks_for_cuda():
    assert OPEConfig().cuda_switch() is None
    assert OPEConfig(world={"backend": "torch", "device": "cuda"}).cuda_switch() == "world.device cuda"
    assert RunConfig(run={"device": "cuda"}).cuda_switch() == "run.device cuda"


def test_only_a_run_holds_items_back_for_a_cold_start():
    assert OPEConfig().held_back() == (0.0, 0)
    run = RunConfig(cold_start={"new_item_fraction": 0.2, "release_step": 5}, run={"root_seed": 3})
    assert run.held_back() == (0.2, 3)
