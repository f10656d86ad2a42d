"""Text-regularised matrix factorisation: item vectors are a learned map of the text plus an offset.

Model, in rating units (collaborative topic regression with a linear text map)::

    r̂_ui = μ + b_u + b_i + w_u · v_i,      v_i = M ᵀ x̃_i + δ_i

``x̃_i`` is item i's text embedding, centred and scaled (:func:`text_coordinates`, times ``text_scale``);
``M`` (d, dim) a learned linear map of it; ``δ_i`` an offset shrunk toward 0. Fitted by alternating
least squares on the joint objective::

    Σ_(u,i) (r_ui − r̂_ui)²  +  λ_w Σ‖w_u‖²  +  λ_δ Σ‖δ_i‖²  +  λ_M ‖M‖²  +  λ_b (Σ b_u² + Σ b_i²)

one block at a time, each an exact minimisation: biases (shrunk means), every user's ``w_u``
(batched ridge), every item's ``v_i`` (ridge shrunk toward its text position ``Mᵀx̃_i``), then the
map ``M`` (a ridge regression of the rated items' vectors on their text). An item with few ratings
stays near its text position; an item with none *is* its text position, so cold items are scored by
text alone. ``λ_δ → ∞`` is the text-only model (tastes on a map of the text, no offsets).

``M`` starts as the top-``dim`` principal directions of the text (the text-only model's
coordinates); the per-group solves are :func:`banditsim.envs.grouped_ridge.grouped_ridge`, in bounded memory.
The sweeps are not run to convergence: their number is chosen on validation rows (early stopping,
:mod:`banditsim.envs.text_mf_choice`), since past a point more sweeps fit the training rows better and
held-out rows worse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.envs.grouped_ridge import GRAM_BYTES, grouped_ridge
from banditsim.envs.ratings import shrunk_means

MAP_RIDGE = 400.0  # the text map's ridge, in units of the normalised text (see fit_text_mf)


def text_coordinates(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(x̃, top-``dim`` principal directions (d, dim), scale): the text centred and scaled so the
    items' mean squared norm on those directions is ``dim`` (one unit per direction)."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    # the d×d scatter matrix's eigenvectors: cheaper than an SVD of the (n_items ≫ d, d) matrix
    basis = np.linalg.eigh(xc.T @ xc)[1][:, ::-1][:, :dim]
    z = xc @ basis
    scale = float(np.sqrt(dim / max((z * z).sum(axis=1).mean(), 1e-300)))
    return xc * scale, basis, scale


def fit_text_mf(xt: np.ndarray, basis: np.ndarray, user: np.ndarray, item: np.ndarray, rating: np.ndarray,
                n_users: int, *, text_scale: float = 0.05, map_ridge: float = MAP_RIDGE, l2: float = 10.0,
                bias_l2: float = 5.0, offset_l2: float | None = None, n_iter: int = 8,
                max_bytes: int = GRAM_BYTES, watch=None, patience: int = 2, bar=None) -> dict:
    """Alternating least squares for the model above on ratings ``(user, item, rating)``.

    ``xt``: the centred, normalised text (n_items, d) of :func:`text_coordinates`; ``basis`` the
    starting map. The model sees the text as ``text_scale · xt``: the smaller, the freer the item
    vectors are from their text (→ plain MF), the larger, the closer they stay to it. ``l2`` is λ_w,
    ``offset_l2`` λ_δ (default ``l2``, as both factors of the MF baseline), ``map_ridge`` the map's
    ridge in units of ``xt`` (λ_M = ``map_ridge·text_scale²·offset_l2``: the map regression does not
    change with ``text_scale``). ``n_iter`` sweeps (users, items, map, biases) follow a first bias
    step. ``watch`` = (users, items, ratings) of validation rows: their RMSE is taken after every
    sweep (``watch_rmse``), the sweeps stop once ``patience`` sweeps in a row have not lowered it,
    and the state of the sweep with the lowest is returned (early stopping).
    ``bar`` (optional) advances once per sweep.

    Returns ``mu``, ``user_bias``, ``item_bias``, ``w`` (n_users, k), ``v`` (n_items, k), ``map``
    (d, k), ``text_v`` (n_items, k) every item's text position ``Mᵀx̃_i`` (``v`` of an unrated item),
    ``rated`` (items with a training row), ``resid`` (training residuals) and ``sweeps`` (how many
    sweeps the returned state had).
    """
    r = np.asarray(rating, dtype=np.float64)
    n_items = xt.shape[0]
    rated = np.bincount(item, minlength=n_items) > 0
    xt = xt * text_scale
    xr = xt[rated]
    gram_text = xr.T @ xr + map_ridge * text_scale**2 * np.eye(xt.shape[1])  # (λ_M / λ_δ) I
    data = _FitData(user, item, r, n_users, n_items, xt, xr, rated, gram_text, l2,
                    l2 if offset_l2 is None else offset_l2, bias_l2, max_bytes)
    prior = xt @ basis
    mu = r.mean()
    bu, bi = data.biases(mu, np.zeros(n_users), np.zeros(n_items), np.zeros_like(r))
    state = {"mu": mu, "user_bias": bu, "item_bias": bi, "v": prior.copy(), "text_v": prior}
    best, scores = None, []
    for sweep in range(1, n_iter + 1):
        state = data.sweep(state, sweep)
        if watch is not None:
            wu, wi, wr = watch
            scores.append(float(np.sqrt(np.mean((predict_text_mf(state, wu, wi) - wr) ** 2))))
            if best is None or scores[-1] < best[0]:
                best = (scores[-1], {key: np.copy(val) if isinstance(val, np.ndarray) else val
                                     for key, val in state.items()})
            elif sweep - best[1]["sweeps"] >= patience:  # no better sweep for `patience` sweeps: stop
                break
        if bar is not None:
            bar.update(1)
    if best is not None:
        state = dict(best[1], watch_rmse=scores)
    return state


@dataclass(frozen=True)
class _FitData:
    """The ratings, the scaled text and the penalties one :func:`fit_text_mf` runs on."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    n_users: int
    n_items: int
    xt: np.ndarray  # the text as the model sees it (times text_scale)
    xr: np.ndarray  # xt of the rated items
    rated: np.ndarray
    gram_text: np.ndarray  # the map's normal matrix
    l2: float
    offset_l2: float
    bias_l2: float
    max_bytes: int

    def biases(self, mu, bu, bi, inter):
        """Item then user biases, twice: each a shrunk mean of what the rest leaves."""
        u, i, r = self.user, self.item, self.rating
        for _ in range(2):
            bi = shrunk_means(r - mu - bu[u] - inter, i, self.n_items, self.bias_l2)
            bu = shrunk_means(r - mu - bi[i] - inter, u, self.n_users, self.bias_l2)
        return bu, bi

    def sweep(self, state: dict, sweep: int) -> dict:
        """One sweep from ``state``: users, items, map, biases."""
        u, i, r, rated = self.user, self.item, self.rating, self.rated
        mu = state["mu"]
        y = r - mu - state["user_bias"][u] - state["item_bias"][i]
        w = grouped_ridge(u, i, y, state["v"], self.n_users, self.l2, max_bytes=self.max_bytes)
        v = grouped_ridge(i, u, y, w, self.n_items, self.offset_l2, state["text_v"], max_bytes=self.max_bytes)
        m = np.linalg.solve(self.gram_text, self.xr.T @ v[rated])
        prior = self.xt @ m
        v[~rated] = prior[~rated]
        inter = np.einsum("nk,nk->n", w[u], v[i])
        bu, bi = self.biases(mu, state["user_bias"], state["item_bias"], inter)
        return {"mu": mu, "user_bias": bu, "item_bias": bi, "w": w, "v": v, "map": m, "text_v": prior,
                "rated": rated, "resid": r - mu - bu[u] - bi[i] - inter, "sweeps": sweep}


def predict_text_mf(fit: dict, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Predicted ratings of (user, item) pairs from :func:`fit_text_mf`."""
    return (fit["mu"] + fit["user_bias"][users] + fit["item_bias"][items]
            + np.einsum("nk,nk->n", fit["w"][users], fit["v"][items]))


def world_positions(fit: dict, x: np.ndarray, basis: np.ndarray) -> dict:
    """The fitted model as the world's users and item positions, in the text space.

    ``x``: the unit item vectors the fit's text came from; ``basis`` its (d, k) principal directions.
    Returns ``positions`` (n_items, d) unit rows, ``tastes`` (n_users, d) and ``user_shift``
    (n_users,) with ``tastes_u · positions_i + user_shift_u = w_u · v_i`` for every pair (to float
    rounding), so the world's utility κ_u θ_u·y_i + b_u + b_i is the model's predicted rating.

    The latent space is turned (an orthogonal Procrustes rotation and one scale: predictions do not
    change) to sit on the text's principal coordinates; item i is placed at
    ``y_i = V p_i / R + σ_i e_i`` with ``p_i`` its turned vector plus the text mean's coordinates,
    ``R ≥ max‖p_i‖``, ``e_i`` the unit direction of the part of ``x_i`` outside the span of ``V``
    (users' tastes have no component there) and ``σ_i`` what makes ‖y_i‖ = 1. An item without
    offset whose map is the text's own principal coordinates sits exactly at ``x_i``.
    """
    x = np.asarray(x, dtype=np.float64)
    w, v = fit["w"], fit["v"]
    target = (x - x.mean(axis=0)) @ basis  # the text's own principal coordinates
    a, sv, bt = np.linalg.svd(v.T @ target)  # orthogonal Procrustes: v Q ≈ target / s
    rot = a @ bt
    turned = v @ rot
    s = float(sv.sum() / max((v * v).sum(), 1e-300))
    if not s > 0:
        s = 1.0
    p = s * turned + x.mean(axis=0) @ basis
    radius = max(1.0, float(np.sqrt((p * p).sum(axis=1).max())))
    rest = x - (x @ basis) @ basis.T
    norms = np.linalg.norm(rest, axis=1)
    spare = np.linalg.eigh(np.eye(x.shape[1]) - basis @ basis.T)[1][:, -1]  # a unit direction ⊥ V
    e = np.where(norms[:, None] > 1e-6, rest / np.maximum(norms, 1e-300)[:, None], spare[None, :])
    sigma = np.sqrt(np.maximum(1.0 - (p * p).sum(axis=1) / radius**2, 0.0))
    positions = (p / radius) @ basis.T + sigma[:, None] * e
    tastes = (radius / s) * ((w @ rot) @ basis.T)
    shift = -(1.0 / s) * ((w @ rot) @ (x.mean(axis=0) @ basis))
    return {"positions": positions, "tastes": tastes, "user_shift": shift}
