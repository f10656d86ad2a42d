"""Baselines for the fidelity report, fitted on the same ratings as the taste model.

* :func:`fit_biases`: ``r̂ = μ + b_u + b_i`` by alternating shrunk means (the taste model without tastes).
* :func:`fit_mf`: matrix factorisation of the same rank with no text,
  ``r̂ = μ + b_u + b_i + p_u·q_i``, by alternating ridge solves (every user's, then every item's, in
  batches: :func:`banditsim.envs.grouped_ridge.grouped_ridge`). An item without training rows gets ``q_i = 0``
  and ``b_i = 0``: MF cannot score it.
"""

from __future__ import annotations

import numpy as np

from banditsim._blas_threads import one_blas_thread
from banditsim.envs.grouped_ridge import GRAM_BYTES, grouped_ridge
from banditsim.envs.ratings import Ratings, shrunk_means as _bias_step


def fit_biases(ratings: Ratings, bias_l2: float = 5.0, n_iter: int = 8) -> dict:
    """μ, user and item biases (``bias_l2`` pseudo-rows of shrinkage), and each user's residual sd."""
    u, i, r = ratings.user, ratings.item, ratings.rating
    nu, ni = ratings.n_users, ratings.n_items
    mu = r.mean()
    bu, bi = np.zeros(nu), np.zeros(ni)
    for _ in range(n_iter):
        bi = _bias_step(r - mu - bu[u], i, ni, bias_l2)
        bu = _bias_step(r - mu - bi[i], u, nu, bias_l2)
    return {"mu": mu, "user_bias": bu, "item_bias": bi, "resid_sd": _resid_sd(r - mu - bu[u] - bi[i], u, nu)}


def _resid_sd(resid: np.ndarray, u: np.ndarray, nu: int, prior: float = 10.0) -> np.ndarray:
    """Per-user residual sd, shrunk toward the overall one by ``prior`` pseudo-rows (as in fit_tastes)."""
    counts = np.bincount(u, minlength=nu)
    return np.sqrt((np.bincount(u, resid**2, minlength=nu) + prior * resid.var()) / (counts + prior))


def fit_mf(ratings: Ratings, rank: int = 64, l2: float = 10.0, bias_l2: float = 5.0, n_iter: int = 10,
           seed: int = 0) -> dict:
    """Biased matrix factorisation by alternating least squares (see the module docstring)."""
    u, i, r = ratings.user, ratings.item, ratings.rating
    nu, ni = ratings.n_users, ratings.n_items
    rng = np.random.default_rng(seed)
    q = 0.1 * rng.normal(size=(ni, rank))
    p = np.zeros((nu, rank))
    base = fit_biases(ratings, bias_l2)
    mu, bu, bi = base["mu"], base["user_bias"], base["item_bias"]
    with one_blas_thread():  # thousands of rank×rank products and solves: no gain from BLAS threads
        p, q, bu, bi = _als(u, i, r, nu, ni, p, q, mu, bu, bi, l2, bias_l2, n_iter)
    rated = np.bincount(i, minlength=ni) > 0
    q[~rated] = 0.0
    resid = r - mu - bu[u] - bi[i] - np.einsum("nk,nk->n", p[u], q[i])
    return {"mu": mu, "user_bias": bu, "item_bias": bi, "p": p, "q": q, "resid_sd": _resid_sd(resid, u, nu)}


def _als(u, i, r, nu, ni, p, q, mu, bu, bi, l2, bias_l2, n_iter):
    """``n_iter`` alternating sweeps of :func:`fit_mf`: users' p, items' q, then the biases."""
    for _ in range(n_iter):
        y = r - mu - bu[u] - bi[i]
        # batched ridge solves in bounded memory (no (items, rank²) array: 3.3 GB at 100,000 items, rank 64)
        p = grouped_ridge(u, i, y, q, nu, l2, max_bytes=GRAM_BYTES)
        q = grouped_ridge(i, u, y, p, ni, l2, max_bytes=GRAM_BYTES)
        inter = np.einsum("nk,nk->n", p[u], q[i])
        for _ in range(2):
            bi = _bias_step(r - mu - bu[u] - inter, i, ni, bias_l2)
            bu = _bias_step(r - mu - bi[i] - inter, u, nu, bias_l2)
    return p, q, bu, bi


def predict(fit: dict, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Predicted rating of (user, item) pairs from :func:`fit_biases` or :func:`fit_mf` output."""
    out = fit["mu"] + fit["user_bias"][users] + fit["item_bias"][items]
    if "p" in fit:
        out = out + np.einsum("nk,nk->n", fit["p"][users], fit["q"][items])
    return out
