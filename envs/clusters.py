"""Users sampled around k-means clusters of item embeddings (works for any catalog)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from banditsim.envs.population import Population, check_item_vectors, synthetic_population, unit_rows
from banditsim.envs.world_errors import PopulationError


def spherical_kmeans(x: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 20) -> np.ndarray:
    """Unit cluster centres of unit rows ``x`` by spherical k-means (k-means++ start).

    >>> rng = np.random.default_rng(0)
    >>> x = unit_rows(np.r_[rng.normal([5, 0], 0.1, (20, 2)), rng.normal([0, 5], 0.1, (20, 2))])
    >>> c = spherical_kmeans(x, 2, rng)
    >>> sorted(np.round(np.abs(c[:, 0])).tolist())
    [0.0, 1.0]
    """
    n = x.shape[0]
    if not 1 <= k <= n:
        raise PopulationError(f"n_clusters must be between 1 and the number of items ({n}), got {k}")
    first = int(rng.integers(n))
    centres = [first]
    best = x @ x[first]  # each row's largest cosine to a chosen centre so far
    for _ in range(1, k):
        d = np.maximum(1.0 - best, 0) ** 2
        p = d / d.sum() if d.sum() > 0 else np.full(n, 1 / n)
        centres.append(int(rng.choice(n, p=p)))
        best = np.maximum(best, x @ x[centres[-1]])
    c = x[centres].astype(np.float64)
    rows = np.arange(n)
    for _ in range(n_iter):
        assign = np.argmax(x @ c.T, axis=1)
        # per-cluster sums of the rows: one sparse (k, n) one-hot product, not a loop
        sums = np.asarray(sparse.csr_matrix((np.ones(n), (assign, rows)), shape=(k, n)) @ x, dtype=np.float64)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = c[empty]
        new = unit_rows(sums).astype(np.float64)
        if np.allclose(new, c):
            break
        c = new
    return unit_rows(c)


def cluster_population(item_vectors, n_users: int = 1000, *, n_clusters: int = 20, noise: float = 0.5,
                       seed: int | None = 0, **calibration) -> Population:
    """Users whose θ = normalise(centre_c + noise·g/√d) for a random cluster c of the items.

    ``calibration`` goes to :func:`banditsim.envs.population.synthetic_population` (thresholds,
    temperature, features). Visible features: a noisy random projection of θ.

    >>> rng = np.random.default_rng(0)
    >>> x = unit_rows(rng.normal(size=(50, 16)))
    >>> pop = cluster_population(x, 10, n_clusters=3, seed=1)
    >>> pop.n_users, pop.features.shape
    (10, (10, 16))
    """
    x = check_item_vectors(item_vectors)
    if n_users < 1:
        raise PopulationError(f"n_users must be ≥ 1, got {n_users}")
    if noise < 0:
        raise PopulationError(f"noise must be ≥ 0, got {noise}")
    rng = np.random.default_rng(seed)
    centres = spherical_kmeans(x, n_clusters, rng)
    cluster = rng.integers(n_clusters, size=n_users)
    theta = centres[cluster] + noise * rng.normal(size=(n_users, x.shape[1])) / np.sqrt(x.shape[1])
    return synthetic_population(theta, x, rng, source="clusters", meta={"cluster": cluster}, **calibration)
