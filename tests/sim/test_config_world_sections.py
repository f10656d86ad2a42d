"""The world's keys in a run config come from the envs declarations: same defaults, same ranges."""

import dataclasses

import pytest

from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.feedback import FeedbackModel
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import WorldConfigError
from banditsim.sim.config.errors import ConfigError
from banditsim.sim.config.run_config import RunConfig, validate_config
from banditsim.sim.run.prepare import world_config

PARTS = {"fatigue": Fatigue, "drift": Drift, "blocking": Blocking, "patience": Patience, "returns": Returns,
         "feedback": FeedbackModel, "cascade": CascadeChoice}
CONFIG_DEFAULTS = {"history_k": 10}  # the run config's own default (README 'User-history context')


@pytest.mark.parametrize("key,cls", PARTS.items())
def test_every_declared_parameter_is_a_config_key_with_its_default(key, cls):
    section = getattr(RunConfig().world, key)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    assert list(type(section).model_fields) == list(cls.parameters)
    assert section.model_dump() == {name: defaults[name] for name in cls.parameters}
    assert section.to_envs() == cls()


def test_world_keys_declared_on_world_config_keep_their_defaults():
    world = RunConfig().world
    for name in WorldConfig.parameters:
        default = next(f.default for f in dataclasses.fields(WorldConfig) if f.name == name)
        assert getattr(world, name) == CONFIG_DEFAULTS.get(name, default), name


# one value just outside each declared range: the world and the config both refuse it
OUTSIDE = [("fatigue", "strength", -0.5), ("fatigue", "recovery", 1.0), ("fatigue", "similarity", 1.5),
           ("fatigue", "max_neighbors", 0), ("drift", "rate", float("inf")), ("drift", "basis", "sideways"),
           ("drift", "trend_period", 0), ("patience", "initial", 0), ("returns", "p_return", 1.5),
           ("returns", "gap", -1), ("feedback", "inner_offset", 0.0), ("cascade", "decay", 0.0),
           (None, "session_length", 0), (None, "candidates", 0), (None, "history_k", 10_001),
           (None, "history_dim", 0), (None, "backend", "jax")]


@pytest.mark.parametrize("part,name,value", OUTSIDE)
def test_a_value_outside_the_declared_range_is_refused_by_world_and_config(part, name, value):
    with pytest.raises(WorldConfigError, match=name):
        (PARTS[part] if part else WorldConfig)(**{name: value})
    key = f"world.{part}.{name}" if part else f"world.{name}"
    with pytest.raises(ConfigError, match=f"config: {key}: "):
        validate_config({"world": {part: {name: value}} if part else {name: value}})


def test_cross_field_checks_are_the_worlds_own():
    with pytest.raises(WorldConfigError, match="inner_offset must be below outer_offset"):
        FeedbackModel(inner_offset=2.5)
    with pytest.raises(ConfigError, match="config: world.feedback: share_offset must be above outer_offset"):
        validate_config({"world": {"feedback": {"share_offset": 1.5}}})


def test_candidates_reaches_the_world_from_a_config():
    cfg = validate_config({"world": {"candidates": 7, "drift": {"basis": "tastes"}, "fatigue": {"enabled": False}}})
    built = world_config(cfg)
    assert built.candidates == 7 and built.drift.basis == "tastes" and not built.fatigue.enabled
    assert world_config(RunConfig()) == WorldConfig(history_k=10, reward_map=dict(RunConfig().world.reward_map))
