"""Fit user tastes to real ratings on the item embeddings (text-regularised matrix factorisation).

Model, in rating units (:mod:`banditsim.envs.text_mf`): ``r̂_ui = μ + b_u + b_i + w_u · v_i`` with item vectors
``v_i = Mᵀx̃_i + δ_i``: a learned linear map of the item's text embedding plus a per-item offset
shrunk toward 0, so warm items come close to matrix factorisation while an item without ratings
is scored by its text alone. Every user's ``w_u`` and every item's ``v_i`` is a batched ridge solve
in bounded memory (:mod:`banditsim.envs.grouped_ridge`); how far items may leave their text is chosen on a
validation split inside the ratings given (:mod:`banditsim.envs.text_mf_choice`).

As a :class:`~banditsim.envs.population.Population` (:func:`population_from_fit`): the fitted item vectors
become item positions in the embedding space (:func:`banditsim.envs.text_mf.world_positions`), so the world's
utility ``κ_u θ_u·y_i + b_u + b_i`` *is* the predicted rating, while agents keep seeing the text
embeddings. A rating ≥ 4 is positive and ≤ 2 negative, so ``tau_pos = 3.5``, ``tau_neg = 2.5``; the
temperature is the logistic scale of the user's (shrunk) residual sd, ``T_u = s_u·√3/π``.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.grouped_ridge import GRAM_BYTES
from banditsim.envs.population import Population, check_item_vectors, unit_rows
from banditsim.envs.ratings import Ratings
from banditsim.envs.world_errors import PopulationError

OCCUPATIONS = ("administrator", "artist", "doctor", "educator", "engineer", "entertainment",
               "executive", "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none",
               "other", "programmer", "retired", "salesman", "scientist", "student", "technician",
               "writer")  # fmt: skip


def read_movielens_ratings(item_ids=None) -> Ratings:
    """All 100,000 MovieLens ratings; item rows follow ``item_ids`` (default: the catalog's ids)."""
    from banditsim.envs.movielens_files import movielens_file

    raw = np.loadtxt(movielens_file("inter"), delimiter="\t", skiprows=1, usecols=(0, 1, 2), dtype=np.int64)
    if item_ids is None:
        from banditsim.envs.catalog import movielens_catalog

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


def fit_tastes(item_vectors, ratings: Ratings, *, dim: int = 64, l2: float = 10.0, bias_l2: float = 5.0,
               n_iter: int = 8, text_scale: float | None = None, map_ridge: float | None = None,
               temperature_prior: float = 10.0, progress: bool = False):
    """Fit μ, user/item biases, user tastes and item vectors (see the module docstring). Returns a dict.

    ``dim``: the rank (at most the embedding's dimension − 1: the item positions need one direction
    outside the tastes' span). ``text_scale`` (how tightly items are tied to their text) and
    ``map_ridge`` (the text map's ridge): chosen on a validation split when not given
    (:mod:`banditsim.envs.text_mf_choice`), and then so is the number of alternating sweeps (at most
    ``n_iter``; with both settings given, ``n_iter`` sweeps). ``progress``: a bar over the fits on a
    terminal (off one, a line every 10 s whatever ``progress`` says; see :mod:`banditsim.envs.progress`).

    Keys: ``mu``, ``user_bias``, ``item_bias``, ``v`` (n_users, d) full-space taste vectors,
    ``user_shift`` (n_users,), ``item_positions`` (n_items, d) unit rows (with ``v·y_i + user_shift``
    the taste part of the predicted rating), ``resid_sd`` (n_users,), ``text_scale``, ``map_ridge``,
    ``sweeps``, ``validation`` (the validation tables; empty when both settings were given) and
    ``latent`` (the fit's own arrays: ``w``, ``v``, ``map``, ``text_v``, ``rated``; see
    :func:`banditsim.envs.text_mf.fit_text_mf`).
    """
    from banditsim.envs.text_mf import text_coordinates, world_positions

    x, dim = _checked_item_vectors(item_vectors, ratings, dim)
    xt, basis, _ = text_coordinates(x, dim)
    kw = {"l2": l2, "bias_l2": bias_l2, "n_iter": n_iter, "max_bytes": GRAM_BYTES}
    fit, text_scale, map_ridge, validation = _fit_with_settings(xt, basis, ratings, text_scale, map_ridge,
                                                                progress, kw)
    placed = world_positions(fit, x, basis)
    resid_sd = _shrunk_resid_sd(ratings.user, fit["resid"], ratings.n_users, temperature_prior)
    return {"mu": fit["mu"], "user_bias": fit["user_bias"], "item_bias": fit["item_bias"],
            "v": placed["tastes"], "user_shift": placed["user_shift"], "item_positions": placed["positions"],
            "resid_sd": resid_sd, "text_scale": float(text_scale), "map_ridge": float(map_ridge),
            "sweeps": int(fit["sweeps"]),
            "validation": validation,
            "latent": {key: fit[key] for key in ("w", "v", "map", "text_v", "rated")}}


def _checked_item_vectors(item_vectors, ratings: Ratings, dim: int) -> tuple[np.ndarray, int]:
    """The item vectors as float64 and the rank the fit uses (one direction short of their dimension)."""
    x = check_item_vectors(item_vectors).astype(np.float64)
    if x.shape[0] != ratings.n_items:
        raise PopulationError(f"{x.shape[0]} item vectors but the ratings index {ratings.n_items} items")
    if x.shape[1] < 2:
        raise PopulationError(f"fitting tastes needs item vectors of at least 2 dimensions, got {x.shape[1]}")
    if not 1 <= dim <= x.shape[1]:
        raise PopulationError(f"dim must be between 1 and {x.shape[1]}, got {dim}")
    return x, min(dim, x.shape[1] - 1)


def _fit_with_settings(xt, basis, ratings: Ratings, text_scale, map_ridge, progress: bool, kw: dict):
    """(fit, text scale, map ridge, validation tables): the settings not given are chosen on a
    validation split first (:mod:`banditsim.envs.text_mf_choice`), then the fit runs on every rating."""
    from banditsim._blas_threads import one_blas_thread
    from banditsim.envs.progress import progress_bar
    from banditsim.envs.text_mf import fit_text_mf
    from banditsim.envs.text_mf_choice import MAP_RIDGES, TEXT_SCALES, choose_settings

    chosen = text_scale is not None and map_ridge is not None
    scales = TEXT_SCALES if text_scale is None else (text_scale,)
    ridges = MAP_RIDGES if map_ridge is None else (map_ridge,)
    validation: dict = {}
    n_fits = 1 if chosen else len(scales) + 1
    # thousands of k×k products and solves: BLAS worker threads only add wake-up costs
    desc = f"fitting {ratings.n_users:,} users on {len(ratings.rating):,} ratings"
    with progress_bar(n_fits, desc, "fits", progress) as bar, one_blas_thread():
        if not chosen:  # the validation fits, one per candidate scale (the ridge costs no fit)
            text_scale, map_ridge, sweeps, validation = choose_settings(xt, basis, ratings, scales=scales,
                                                                        ridges=ridges, bar=bar, **kw)
            kw = dict(kw, n_iter=sweeps)
        fit = fit_text_mf(xt, basis, ratings.user, ratings.item, ratings.rating, ratings.n_users,
                          text_scale=text_scale, map_ridge=map_ridge, **kw)
        bar.update(1)
    return fit, text_scale, map_ridge, validation


def _shrunk_resid_sd(user: np.ndarray, resid: np.ndarray, n_users: int, prior: float) -> np.ndarray:
    """Each user's residual sd, shrunk toward the pooled one by ``prior`` pseudo-rows."""
    counts = np.bincount(user, minlength=n_users)
    return np.sqrt((np.bincount(user, resid**2, minlength=n_users) + prior * resid.var()) / (counts + prior))


def read_movielens_user_features(user_ids) -> tuple[np.ndarray, tuple[str, ...]]:
    """Visible features per user id: age/100, gender one-hot (F, M), occupation one-hot."""
    from banditsim.envs.movielens_files import movielens_file

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

    The world places the items at ``fit["item_positions"]`` (in the order of the fit's items).

    ``tau_neg``/``tau_pos``: the rating below which a response is negative and above which it is
    positive (MovieLens stars: 2.5 and 3.5); ``source`` is recorded as the population's source.
    """
    v = fit["v"]
    kappa = np.linalg.norm(v, axis=1)
    rng = np.random.default_rng(seed)
    theta = np.where(kappa[:, None] > 1e-12, v, rng.normal(size=v.shape))
    theta = unit_rows(theta)
    ubias = fit["mu"] + fit["user_bias"] + fit["user_shift"]
    n = v.shape[0]
    return Population(theta=theta, taste_scale=kappa, user_bias=ubias, item_bias=fit["item_bias"],
                      item_positions=fit["item_positions"],
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
