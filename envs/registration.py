"""Register the banditsim Gymnasium ids (``banditsim/Recommend-v0``, ``banditsim/Slate-v0``)."""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = ("banditsim/Recommend-v0", "banditsim/Slate-v0")


def register_envs() -> None:
    """Register every banditsim env id once (kwargs: catalog or item_vectors, population, n_users, config,
    max_steps[, slate_size]; see :func:`banditsim.envs.default_world.world_parts`)."""
    if "banditsim/Recommend-v0" not in gym.registry:
        gym.register("banditsim/Recommend-v0", entry_point="banditsim.envs.recommend_env:RecommendEnv",
                     vector_entry_point="banditsim.envs.vector_env:BanditVectorEnv")
    if "banditsim/Slate-v0" not in gym.registry:
        gym.register("banditsim/Slate-v0", entry_point="banditsim.envs.recommend_env:SlateEnv",
                     vector_entry_point="banditsim.envs.vector_env:BanditVectorEnv", kwargs={"slate_size": 5})
