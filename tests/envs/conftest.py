"""Small synthetic worlds (no embedding model) for the world tests."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.envs.clusters import cluster_population


@pytest.fixture(scope="session")
def small_items():
    return np.random.default_rng(0).normal(size=(60, 16)).astype(np.float32)


@pytest.fixture(scope="session")
def small_population(small_items):
    return cluster_population(small_items, 40, n_clusters=5, seed=0)
