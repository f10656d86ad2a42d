"""A tiny world for the OPE and A/B tests: random unit item vectors, users around clusters."""

from __future__ import annotations

import numpy as np

from banditsim.envs.clusters import cluster_population
from banditsim.envs.population import unit_rows
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig


def tiny_items(n_items: int = 24, dim: int = 8, seed: int = 0) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).normal(size=(n_items, dim)))


def tiny_population(items: np.ndarray, n_users: int = 200, seed: int = 0):
    return cluster_population(items, n_users, n_clusters=4, seed=seed)


def tiny_world(n_users: int = 8, n_items: int = 24, seed: int = 1) -> World:
    x = tiny_items(n_items)
    return World(x, tiny_population(x), n_users=n_users, config=WorldConfig(), seed=seed)


TINY_CSV = "id,title\n" + "\n".join(
    f"{i},{t}" for i, t in enumerate([
        "space opera adventure", "romantic comedy in paris", "haunted house horror", "courtroom drama",
        "animated talking animals", "heist thriller", "war epic", "teen musical", "detective noir",
        "nature documentary", "superhero origin story", "slasher in the woods", "family road trip comedy",
        "alien invasion", "historical costume romance", "martial arts revenge"]))
