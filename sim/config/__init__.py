"""Configuration: the YAML/TOML schemas of ``banditsim run``, ``ope`` and ``abtest``, validated by pydantic
before anything runs. Every config is a :class:`WorldSource` (catalog, embedding, population, world, checked
together once) plus its own sections; the world's keys are built from the envs parameter declarations
(world_sections), agent parameters are checked by the agents' registry, and any problem is one
:class:`ConfigError` line naming the key. ``banditsim config`` prints the default with a comment per key."""

from banditsim.sim.config.errors import ConfigError
from banditsim.sim.config.files import load_config
from banditsim.sim.config.policy_spec import PolicySpec
from banditsim.sim.config.printer import default_config_text
from banditsim.sim.config.run_config import AgentSpec, RunConfig, validate_config
from banditsim.sim.config.world_source import WorldSource

__all__ = ["AgentSpec", "ConfigError", "PolicySpec", "RunConfig", "WorldSource", "default_config_text",
           "load_config", "validate_config"]
