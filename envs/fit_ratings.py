"""Fit user tastes to real MovieLens-100K ratings on the item embeddings.

Model, in rating units: ``r̂_ui = μ + b_u + b_i + w_u · z_i`` with ``z_i = (x_i − x̄) V`` the
item embedding centred and projected on its top ``dim`` principal directions. Biases and
all users' ``w_u`` are fitted by alternating regularised least squares; the taste step is
one batched ridge solve for every user at once (per-user Gram matrices come from a
sparse user×item matrix times the items' outer products).

As a :class:`~envs.population.Population`: ``θ_u = V w_u / ‖V w_u‖``, ``κ_u = ‖V w_u‖``,
user bias ``μ + b_u − κ_u θ_u·x̄`` so the utility *is* the predicted rating. A rating ≥ 4 is
positive and ≤ 2 negative, so ``tau_pos = 3.5``, ``tau_neg = 2.5``; the temperature is the
logistic scale of the user's (shrunk) residual sd, ``T_u = s_u·√3/π``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from envs.population import Population, check_item_vectors, unit_rows
from envs.world_errors import PopulationError

OCCUPATIONS = ("administrator", "artist", "doctor", "educator", "engineer", "entertainment",
               "executive", "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none",
               "other", "programmer", "retired", "salesman", "scientist", "student", "technician",
               "writer")  # fmt: skip


GRAM_BYTES = 1 << 28  # per-user Gram matrices are built and solved in blocks of at most this size


@dataclass(frozen=True)
class Ratings:
    """Ratings as parallel arrays: user row, item row (catalog order), rating (and time, if known)."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    user_ids: tuple[str, ...]
    n_items: int
    time: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def take(self, mask) -> "Ratings":
        """The ratings where ``mask`` is true (all users kept)."""
        time = None if self.time is None else self.time[mask]
        return Ratings(self.user[mask], self.item[mask], self.rating[mask], self.user_ids, self.n_items, time)


def read_movielens_ratings(item_ids=None) -> Ratings:
    """All 100,000 MovieLens ratings; item rows follow ``item_ids`` (default: the catalog's ids)."""
    from envs.movielens_files import movielens_file

    raw = np.loadtxt(movielens_file("inter"), delimiter="\t", skiprows=1, usecols=(0, 1, 2), dtype=np.int64)
    if item_ids is None:
        from envs.catalog import movielens_catalog

        item_ids = movielens_catalog().ids
    index = {str(i): r for r, i in enumerate(item_ids)}
    lookup = np.full(raw[:, 1].max() + 1, -1, dtype=np.int64)
    for k, r in index.items():
        if k.isdigit() and int(k) < lookup.shape[0]:
            lookup[int(k)] = r
    items = lookup[raw[:, 1]]
    if (items < 0).any():
        raise PopulationError("MovieLens ratings name items missing from the catalog")
    uids, users = np.unique(raw[:, 0], return_inverse=True)
    return Ratings(users, items, raw[:, 2].astype(np.float64), tuple(str(u) for u in uids), len(item_ids))


def split_ratings(ratings: Ratings, train_fraction: float = 0.8, seed: int | None = 0):
    """Split each user's ratings at random: ``round(train_fraction·n_u)`` to train, rest to test.

    >>> r = Ratings(np.array([0] * 5 + [1] * 5), np.arange(10), np.ones(10), ("a", "b"), 10)
    >>> tr, te = split_ratings(r, 0.8, seed=0)
    >>> len(tr.user), len(te.user)
    (8, 2)
    """
    if not 0 < train_fraction < 1:
        raise PopulationError(f"train_fraction must be in (0, 1), got {train_fraction}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(ratings.user)), ratings.user))
    counts = np.bincount(ratings.user, minlength=ratings.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order)) - starts[ratings.user[order]]
    train = pos < np.round(train_fraction * counts)[ratings.user]
    return ratings.take(train), ratings.take(~train)


def _bias_step(resid_base, idx, n, lam):
    return np.bincount(idx, resid_base, minlength=n) / (np.bincount(idx, minlength=n) + lam)


def fit_tastes(item_vectors, ratings: Ratings, *, dim: int = 64, l2: float = 10.0, bias_l2: float = 5.0,
               n_iter: int = 4, temperature_prior: float = 10.0, progress: bool = False):
    """Fit μ, user/item biases and per-user taste weights. Returns a dict of arrays.

    ``progress``: a bar over the alternating steps on a terminal (off one, a line every 10 s
    whatever ``progress`` says; see :mod:`envs.progress`).

    Keys: ``mu``, ``user_bias``, ``item_bias``, ``v`` (n_users, d) full-space taste vectors,
    ``xbar``, ``resid_sd`` (n_users,).
    """
    x = check_item_vectors(item_vectors).astype(np.float64)
    if x.shape[0] != ratings.n_items:
        raise PopulationError(f"{x.shape[0]} item vectors but the ratings index {ratings.n_items} items")
    if not 1 <= dim <= x.shape[1]:
        raise PopulationError(f"dim must be between 1 and {x.shape[1]}, got {dim}")
    nu, ni = ratings.n_users, ratings.n_items
    u, i, r = ratings.user, ratings.item, ratings.rating
    xbar = x.mean(axis=0)
    xc = x - xbar
    # top principal directions from the d×d scatter matrix: ~10× faster than an SVD of the
    # (n_items, d) matrix, and only the leading, well-separated directions are used
    basis = np.linalg.eigh(xc.T @ xc)[1][:, ::-1][:, :dim]  # (d, k)
    z = xc @ basis  # (n_items, k)
    from envs.progress import progress_bar

    # progress: one step for the Gram matrices, one per alternating iteration
    with progress_bar(n_iter + 1, f"fitting {nu:,} users on {len(r):,} ratings", "steps", progress) as bar:
        outer = (z[:, :, None] * z[:, None, :]).reshape(ni, dim * dim)
        ind = sp.csr_matrix((np.ones_like(r), (u, i)), shape=(nu, ni))
        # per-user Gram matrices: all kept when they fit in GRAM_BYTES (nu·dim²·8 bytes; 100,000 users at
        # dim 64 would be 3.3 GB), else rebuilt block by block at each solve; every user's product and
        # solve are the same either way
        step = max(1, GRAM_BYTES // (dim * dim * 8))
        blocks = [slice(lo, min(lo + step, nu)) for lo in range(0, nu, step)]
        gram = (ind @ outer).reshape(nu, dim, dim) + l2 * np.eye(dim) if len(blocks) == 1 else None
        bar.update(1)
        mu = r.mean()
        bu, bi, w = np.zeros(nu), np.zeros(ni), np.zeros((nu, dim))
        taste = np.zeros_like(r)
        for _ in range(n_iter):
            for _ in range(2):
                bi = _bias_step(r - mu - bu[u] - taste, i, ni, bias_l2)
                bu = _bias_step(r - mu - bi[i] - taste, u, nu, bias_l2)
            y = r - mu - bu[u] - bi[i]
            rhs = sp.csr_matrix((y, (u, i)), shape=(nu, ni)) @ z
            if gram is not None:
                w = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
            else:
                w = np.concatenate([np.linalg.solve((ind[b] @ outer).reshape(-1, dim, dim) + l2 * np.eye(dim),
                                                    rhs[b, :, None])[:, :, 0] for b in blocks])
            taste = np.einsum("nk,nk->n", w[u], z[i])
            bar.update(1)
    resid = r - mu - bu[u] - bi[i] - taste
    counts = np.bincount(u, minlength=nu)
    s2 = resid.var()
    resid_sd = np.sqrt((np.bincount(u, resid**2, minlength=nu) + temperature_prior * s2)
                       / (counts + temperature_prior))
    return {"mu": mu, "user_bias": bu, "item_bias": bi, "v": w @ basis.T, "xbar": xbar, "resid_sd": resid_sd}


def read_movielens_user_features(user_ids) -> tuple[np.ndarray, tuple[str, ...]]:
    """Visible features per user id: age/100, gender one-hot (F, M), occupation one-hot."""
    from envs.movielens_files import movielens_file

    raw = np.loadtxt(movielens_file("user"), delimiter="\t", skiprows=1, usecols=(0, 1, 2, 3), dtype=str)
    rows = {uid: k for k, uid in enumerate(raw[:, 0])}
    names = ("age", "gender_F", "gender_M") + tuple(f"occupation_{o}" for o in OCCUPATIONS)
    feats = np.zeros((len(user_ids), len(names)), dtype=np.float32)
    for n, uid in enumerate(user_ids):
        if uid not in rows:
            raise PopulationError(f"MovieLens user {uid} has no row in ml-100k.user")
        _, age, gender, occ = raw[rows[uid]]
        feats[n, 0] = float(age) / 100.0
        feats[n, 1 + (gender == "M")] = 1.0
        if occ in OCCUPATIONS:
            feats[n, 3 + OCCUPATIONS.index(occ)] = 1.0
    return feats, names


def population_from_fit(fit: dict, user_ids, features, feature_names=(), seed: int | None = 0, *,
                        tau_neg: float = 2.5, tau_pos: float = 3.5, source: str = "movielens-fit") -> Population:
    """Turn :func:`fit_tastes` output into a :class:`Population` (utility = predicted rating).

    ``tau_neg``/``tau_pos``: the rating below which a response is negative and above which it is
    positive (MovieLens stars: 2.5 and 3.5); ``source`` is recorded as the population's source.
    """
    v = fit["v"]
    kappa = np.linalg.norm(v, axis=1)
    rng = np.random.default_rng(seed)
    theta = np.where(kappa[:, None] > 1e-12, v, rng.normal(size=v.shape))
    theta = unit_rows(theta)
    ubias = fit["mu"] + fit["user_bias"] - v @ fit["xbar"]
    n = v.shape[0]
    return Population(theta=theta, taste_scale=kappa, user_bias=ubias, item_bias=fit["item_bias"],
                      tau_neg=np.full(n, float(tau_neg)), tau_pos=np.full(n, float(tau_pos)),
                      temperature=fit["resid_sd"] * np.sqrt(3) / np.pi, features=features,
                      feature_names=tuple(feature_names), user_ids=tuple(user_ids), source=source)


def movielens_population(item_vectors, ratings: Ratings | None = None, *, dim: int = 64, l2: float = 10.0,
                         bias_l2: float = 5.0, seed: int | None = 0) -> Population:
    """The 943 MovieLens users fitted on ``ratings`` (default: all 100,000) over the item vectors.

    Visible features: age, gender and occupation one-hot (never θ).
    """
    if ratings is None:
        ratings = read_movielens_ratings()
    fit = fit_tastes(item_vectors, ratings, dim=dim, l2=l2, bias_l2=bias_l2)
    feats, names = read_movielens_user_features(ratings.user_ids)
    return population_from_fit(fit, ratings.user_ids, feats, names, seed=seed)
