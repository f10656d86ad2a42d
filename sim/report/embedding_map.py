"""A 2-D map of the item embedding space (PCA), coloured by category, with users' tastes on it.

For notebooks and reports: it reads the users' true tastes θ, which is allowed here because
it is the simulator's ground truth shown to a person, never to an agent.
"""

from __future__ import annotations

import numpy as np


def pca_2d(vectors: np.ndarray, n_components: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal-component coordinates of ``vectors`` (via SVD of the centred matrix).

    Returns ``(coords (n, k), components (k, d), explained (k,))`` where ``explained`` is the
    share of the total variance each component carries. Project other vectors of the same
    space (e.g. user tastes) with ``(v - vectors.mean(0)) @ components.T``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 5)) * np.array([5.0, 2.0, 0.1, 0.1, 0.1])
    >>> coords, comps, explained = pca_2d(x)
    >>> coords.shape, comps.shape, bool(explained[0] > explained[1] > 0.01)
    ((200, 2), (2, 5), True)
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"vectors must be (n >= 2, d), got shape {x.shape}")
    k = int(n_components)
    if not 1 <= k <= min(x.shape):
        raise ValueError(f"n_components must be in [1, {min(x.shape)}], got {n_components}")
    xc = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    explained = (s**2) / max(float((s**2).sum()), 1e-300)
    return xc @ vt[:k].T, vt[:k], explained[:k]


def main_category(categories: np.ndarray, names: list[str]) -> list[str]:
    """One label per item: its least common category (the most telling), ``"none"`` if it has none.

    ``categories`` is the (n_items, n_categories) bool matrix of ``Catalog.category_matrix()``.

    >>> m = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]], dtype=bool)
    >>> main_category(m, ["Drama", "War", "Comedy"])
    ['War', 'Drama', 'Comedy', 'none']
    """
    m = np.asarray(categories, dtype=bool)
    if m.ndim != 2 or m.shape[1] != len(names):
        raise ValueError(f"categories must be (n_items, {len(names)}), got shape {m.shape}")
    freq = m.sum(axis=0).astype(float)
    score = np.where(m, freq[None, :], np.inf)
    pick = score.argmin(axis=1)
    return [names[j] if m[i, j] else "none" for i, j in enumerate(pick)]


def plot_embedding_map(item_vectors: np.ndarray, labels: list[str], *, user_tastes: np.ndarray | None = None,
                       user_names: list[str] | None = None, user_favourites: np.ndarray | None = None,
                       max_labels: int = 8, title: str = ""):
    """Scatter of the items on their first two principal components, coloured by ``labels``.

    The ``max_labels`` most frequent labels get their own colour, the rest are grey. Each user
    of ``user_tastes`` (n_users, d) is drawn as a star at the mean position of their
    ``user_favourites`` (n_users, m) item indices (their truly best items), which are ringed in
    the user's colour, with an arrow along the projection of their taste direction.
    Returns a matplotlib ``Figure`` (not attached to pyplot).
    """
    from matplotlib.figure import Figure

    coords, comps, explained = pca_2d(item_vectors)
    labels = list(labels)
    if len(labels) != coords.shape[0]:
        raise ValueError(f"{len(labels)} labels for {coords.shape[0]} items")
    values, counts = np.unique(labels, return_counts=True)
    shown = [v for v, _ in sorted(zip(values, counts), key=lambda t: -t[1]) if v != "none"][:max_labels]
    fig = Figure(figsize=(9, 7))
    ax = fig.add_subplot()
    lab = np.asarray(labels)
    other = ~np.isin(lab, shown)
    ax.scatter(coords[other, 0], coords[other, 1], s=6, c="lightgrey", label="other", zorder=1)
    for i, name in enumerate(shown):
        rows = lab == name
        ax.scatter(coords[rows, 0], coords[rows, 1], s=8, color=f"C{i % 10}", alpha=0.75,
                   label=f"{name} ({rows.sum()})", zorder=2)
    if user_tastes is not None:
        tastes = np.atleast_2d(np.asarray(user_tastes, dtype=np.float64))
        names = user_names or [f"user {i}" for i in range(tastes.shape[0])]
        direction = tastes @ comps.T
        radius = np.abs(coords).max()
        for u in range(tastes.shape[0]):
            colour = ["black", "darkred", "navy", "darkgreen", "purple"][u % 5]
            if user_favourites is not None:
                fav = np.asarray(user_favourites[u])
                ax.scatter(coords[fav, 0], coords[fav, 1], s=40, facecolors="none", edgecolors=colour,
                           linewidths=1.2, zorder=3)
                centre = coords[fav].mean(axis=0)
            else:
                centre = np.zeros(2)
            d = direction[u] / max(np.linalg.norm(direction[u]), 1e-12) * 0.25 * radius
            ax.annotate("", xy=centre + d, xytext=centre,
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5}, zorder=4)
            ax.scatter([centre[0]], [centre[1]], marker="*", s=260, color=colour, edgecolors="white",
                       zorder=5, label=f"{names[u]} (★ centre of their favourites, ○ favourites)")
    ax.set_xlabel(f"principal component 1 ({100 * explained[0]:.1f}% of variance)")
    ax.set_ylabel(f"principal component 2 ({100 * explained[1]:.1f}% of variance)")
    ax.set_title(title or "Item embeddings (all-MiniLM-L6-v2), 2-D PCA, coloured by genre")
    ax.legend(fontsize=7, loc="best", markerscale=1.5, framealpha=0.85)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def favourite_items(population, item_vectors: np.ndarray, users, n: int = 10, *,
                    with_bias: bool = False) -> np.ndarray:
    """(len(users), n) indices of each user's ``n`` items of highest true utility (no dynamics).

    ``with_bias=False`` (default) ranks by the taste part θ·x only, leaving out the item
    popularity bias every user shares, so the favourites show what is particular to the user.

    >>> from banditsim.envs.clusters import cluster_population
    >>> from banditsim.envs.population import unit_rows
    >>> x = unit_rows(np.random.default_rng(0).normal(size=(30, 8)))
    >>> favourite_items(cluster_population(x, 5, n_clusters=2, seed=0), x, [0, 3], n=4).shape
    (2, 4)
    """
    u = population.utility(item_vectors, np.asarray(users), with_bias=with_bias)
    n = min(int(n), u.shape[1])
    return np.argsort(-u, axis=1, kind="stable")[:, :n]


def users_by_category(population, item_vectors: np.ndarray, categories: np.ndarray, names: list[str],
                      wanted: list[str], n: int = 20) -> list[int]:
    """For each category of ``wanted``, the user whose ``n`` favourite items lean most towards it
    (largest share of taste-only favourites in that category, relative to the catalog's share);
    distinct users.

    >>> from banditsim.envs.clusters import cluster_population
    >>> from banditsim.envs.population import unit_rows
    >>> x = unit_rows(np.random.default_rng(0).normal(size=(40, 8)))
    >>> cats = np.zeros((40, 2), bool); cats[:20, 0] = True; cats[20:, 1] = True
    >>> u = users_by_category(cluster_population(x, 30, seed=0), x, cats, ["A", "B"], ["A", "B"], n=5)
    >>> len(u), len(set(u))
    (2, 2)
    """
    m = np.asarray(categories, dtype=bool)
    fav = favourite_items(population, item_vectors, np.arange(population.n_users), n)
    base = np.maximum(m.mean(axis=0), 1e-9)
    chosen: list[int] = []
    for name in wanted:
        if name not in names:
            raise ValueError(f"unknown category {name!r}; known: {', '.join(names)}")
        j = names.index(name)
        lean = m[fav, j].mean(axis=1) / base[j]
        lean[chosen] = -np.inf
        chosen.append(int(np.argmax(lean)))
    return chosen
