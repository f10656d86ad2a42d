"""banditsim: a multi-armed-bandit feedback simulator with LLM-embedding users.

The repository keeps three top-level folders, installed as subpackages of this one:
``banditsim.envs`` (the world: catalog, embeddings, users, feedback, Gymnasium envs),
``banditsim.agents`` (the bandit policies) and ``banditsim.sim`` (experiments, reports, CLI).
Importing ``banditsim`` registers the Gymnasium ids ``banditsim/Recommend-v0`` and
``banditsim/Slate-v0`` (the Gymnasium 1.x convention: ``gym.register_envs(banditsim)``).

Examples
--------
>>> import gymnasium as gym
>>> import banditsim
>>> gym.register_envs(banditsim)
>>> "banditsim/Recommend-v0" in gym.registry
True
"""

from banditsim.envs.registration import ENV_IDS, register_envs

__version__ = "0.1.0"
__all__ = ["ENV_IDS", "__version__", "register_envs"]

register_envs()
