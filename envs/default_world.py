"""The default world of the Gymnasium environments: MovieLens items and fitted users."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from banditsim.envs.population import Population
from banditsim.envs.world_errors import WorldConfigError


@lru_cache(maxsize=1)
def movielens_world_parts() -> tuple[np.ndarray, Population]:
    """MovieLens item embeddings (embedding model, cached) and the 943 fitted users."""
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.embedding import embed_texts
    from banditsim.envs.fit_ratings import movielens_population

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    return x, movielens_population(x)


def world_parts(item_vectors=None, population: Population | None = None):
    """Item vectors and population from kwargs; the MovieLens world when both are None.

    With only ``item_vectors``, users are sampled around item clusters.
    """
    if item_vectors is None and population is None:
        return movielens_world_parts()
    if item_vectors is None:
        raise WorldConfigError("a population needs the item_vectors it was built for")
    if population is None:
        from banditsim.envs.clusters import cluster_population

        population = cluster_population(item_vectors, 1000, n_clusters=min(20, len(item_vectors)), seed=0)
    return item_vectors, population
