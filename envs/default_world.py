"""The items and users of the Gymnasium environments: the user's own, or MovieLens items and fitted users.

The envs take ``catalog=`` (or ``item_vectors=``), ``population=`` and ``n_users=``
(:func:`world_parts`); with none of them they run the default world: the MovieLens-100K movies,
embedded by the embedding model, and the 943 users fitted to their ratings.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from banditsim.envs.catalog import Catalog
from banditsim.envs.population import Population, check_item_vectors
from banditsim.envs.world_errors import WorldConfigError

CLUSTER_USERS = 1000  # users sampled around item clusters when neither a population nor n_users is given
POOL_SEED = 0  # which n_users of a population's users an env draws from: fixed, so every env built alike agrees


@lru_cache(maxsize=1)
def movielens_world_parts() -> tuple[np.ndarray, Population]:
    """MovieLens item embeddings (embedding model, cached) and the 943 fitted users."""
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.embedding import embed_texts
    from banditsim.envs.fit_ratings import movielens_population

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    return x, movielens_population(x)


def world_parts(item_vectors=None, population: Population | None = None, *, catalog=None, n_users=None):
    """(item vectors, population) of an env from its keyword arguments.

    ``catalog``: the items, as a :class:`~banditsim.envs.catalog.Catalog` (its texts embedded by the embedding
    model, :func:`banditsim.envs.embedding.embed_texts`, cached on disk), a path to a catalog file
    (:func:`banditsim.envs.catalog.load_catalog`: columns ``id`` and ``title``; load a
    :class:`~banditsim.envs.catalog.Catalog` yourself for other columns) or an (n_items, dim) array of item
    vectors. ``item_vectors`` is the array form under its older name; give one of the two.
    ``population``: users built for those items (:class:`~banditsim.envs.population.Population`).

    ``n_users``: how many distinct simulated people the episodes are drawn from. Without a
    population, that many users are sampled around the item clusters (default
    :data:`CLUSTER_USERS`); with a population (or the default world's 943), a fixed random
    subset of that many of its users (drawn with :data:`POOL_SEED`, so it does not depend on the
    episode seed); ``None`` keeps every population user. Every episode (``reset``) seats one
    person drawn from that pool. With no catalog and no population, or ``catalog="movielens-100k"``
    and no population: the MovieLens world.
    """
    if population is None and item_vectors is None and isinstance(catalog, str) and catalog == "movielens-100k":
        catalog = None  # the built-in catalog by name is the default world: its movies and their fitted users
    items = _items(item_vectors, catalog)
    n_users = _checked_n_users(n_users)
    if population is not None and not isinstance(population, Population):
        raise WorldConfigError("population must be a banditsim.envs.population.Population, "
                               f"got {type(population).__name__}")
    if items is None and population is None:
        items, population = movielens_world_parts()
    elif items is None:
        raise WorldConfigError("a population needs the catalog (or item_vectors) it was built for")
    elif population is None:
        from banditsim.envs.clusters import cluster_population

        n = CLUSTER_USERS if n_users is None else n_users
        return items, cluster_population(items, n, n_clusters=min(20, len(items)), seed=0)
    return items, _pool(population, n_users)


def _items(item_vectors, catalog):
    """The item vectors the kwargs name (None: none given)."""
    if catalog is None:
        return item_vectors
    if item_vectors is not None:
        raise WorldConfigError("give the items once: catalog= or item_vectors=, not both")
    if isinstance(catalog, (str, os.PathLike)):
        from banditsim.envs.catalog import load_catalog

        catalog = load_catalog(catalog)
    if isinstance(catalog, Catalog):
        from banditsim.envs.embedding import embed_texts

        return embed_texts(list(catalog.texts), progress=False).vectors
    if not isinstance(catalog, (np.ndarray, list, tuple)) and not hasattr(catalog, "__array__"):
        raise WorldConfigError("catalog must be a Catalog, a catalog file path or an (n_items, dim) array, "
                               f"got {type(catalog).__name__}")
    check_item_vectors(catalog, name="catalog")
    return catalog


def _checked_n_users(n_users):
    if n_users is None:
        return None
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
        raise WorldConfigError(f"n_users must be a whole number ≥ 1, got {n_users!r}")
    return int(n_users)


def _pool(population: Population, n_users: int | None) -> Population:
    """The ``n_users`` people the episodes are drawn from (every user when None)."""
    if n_users is None or n_users == population.n_users:
        return population
    if n_users > population.n_users:
        raise WorldConfigError(f"n_users={n_users} but the population has only {population.n_users} users")
    rows = np.sort(np.random.default_rng(POOL_SEED).choice(population.n_users, n_users, replace=False))
    return population.subset(rows)
