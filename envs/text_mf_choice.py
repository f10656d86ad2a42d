"""How far item vectors may leave their text, and how smooth the text map is: chosen on a
validation split of the training ratings, never on a report's test split.

The text-regularised fit (:mod:`banditsim.envs.text_mf`) has two settings that matter: the text scale (how
tightly each item is tied to its text position; the ridge penalties are those of the MF baseline)
and the ridge of the map from text to item vectors. The rule, inside whatever ratings the fit is
given:

1. hold out every row of a random ``VALIDATION_FRACTION`` of the rated items (*cold validation*;
   a user whose rows are all on those items keeps them) and a random ``VALIDATION_FRACTION`` of
   each user's other rows (*warm validation*; ``round(0.9·n)`` rows stay, so a user with one or
   two rows keeps them all);
2. fit once per scale in ``TEXT_SCALES`` on the rest, taking the root-mean-square error on the warm
   validation rows (the loss the fit minimises) after every alternating sweep, up to 8 sweeps and
   until two sweeps in a row have not lowered it; keep the scale and the number of sweeps with the
   lowest (early stopping: more sweeps fit the training rows better and, past a point, the
   held-out rows worse);
3. with that fit, refit only the map, once per ridge in ``MAP_RIDGES``, to the rated items' fitted
   vectors, and keep the ridge whose text-only item vectors give the lowest RMSE on the cold
   validation rows (the items the map alone must score).

Without warm (cold) validation rows the middle scale (ridge) and every sweep are kept.
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.ratings import split_ratings

TEXT_SCALES = (0.0125, 0.025, 0.05, 0.1)
MAP_RIDGES = (25.0, 100.0, 400.0, 1600.0)
VALIDATION_FRACTION = 0.1
VALIDATION_SEED = 20261206


def validation_split(ratings, fraction: float = VALIDATION_FRACTION):
    """(fit part, warm validation rows, cold validation rows) of ``ratings`` (rule step 1)."""
    rng = np.random.default_rng(VALIDATION_SEED)
    rated = np.flatnonzero(np.bincount(ratings.item, minlength=ratings.n_items) > 0)
    n_cold = int(round(fraction * len(rated))) if len(rated) > 1 else 0
    cold = np.isin(ratings.item, rng.choice(rated, size=n_cold, replace=False))
    # a user whose every row is on a cold item keeps them: every user needs a training row
    cold &= np.bincount(ratings.user, ~cold, minlength=ratings.n_users)[ratings.user] > 0
    fit_part, warm = split_ratings(ratings.take(~cold), 1.0 - fraction, seed=VALIDATION_SEED)
    return fit_part, warm, ratings.take(cold)


def _rmse(pred: np.ndarray, truth: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean((pred - truth) ** 2))) if len(truth) else None


def _pick(rows: list[dict], key: str) -> int:
    """The row with the lowest ``key`` (the middle row when none has a value)."""
    scored = [k for k, row in enumerate(rows) if row[key] is not None]
    return min(scored, key=lambda k: rows[k][key]) if scored else len(rows) // 2


def refit_map(xs: np.ndarray, v: np.ndarray, rated: np.ndarray, ridge: float, scale: float) -> np.ndarray:
    """The text map (d, k) regressing the rated items' vectors ``v`` on their scaled text ``xs``."""
    xr = xs[rated]
    return np.linalg.solve(xr.T @ xr + ridge * scale**2 * np.eye(xs.shape[1]), xr.T @ v[rated])


def choose_settings(xt: np.ndarray, basis: np.ndarray, ratings, *, scales=TEXT_SCALES, ridges=MAP_RIDGES,
                    fraction: float = VALIDATION_FRACTION, bar=None, **fit_kw) -> tuple[float, float, int, dict]:
    """(text scale, map ridge, sweeps, the validation tables) for ``ratings`` by the rule above.

    ``fit_kw`` go to :func:`banditsim.envs.text_mf.fit_text_mf` (not ``map_ridge``, which is chosen here: the
    validation fits use the middle ridge); ``bar`` advances once per scale.
    """
    from banditsim.envs.text_mf import fit_text_mf, predict_text_mf

    fit_part, warm, cold = validation_split(ratings, fraction)
    scale_rows, kept = [], {}  # kept: only the best fit so far (each holds item and user arrays)
    watch = (warm.user, warm.item, warm.rating) if len(warm.user) else None
    for n, scale in enumerate(scales):
        fit = fit_text_mf(xt, basis, fit_part.user, fit_part.item, fit_part.rating, ratings.n_users,
                          text_scale=scale, map_ridge=ridges[len(ridges) // 2], watch=watch, **fit_kw)
        scale_rows.append({"text_scale": float(scale), "sweeps": fit["sweeps"],
                           "warm_rmse": _rmse(predict_text_mf(fit, warm.user, warm.item), warm.rating),
                           "warm_rmse_by_sweep": fit.get("watch_rmse", [])})
        if (n == _pick(scale_rows, "warm_rmse")) if watch is not None else (n == len(scales) // 2):
            kept = {n: fit}
        del fit
        if bar is not None:
            bar.update(1)
    best = _pick(scale_rows, "warm_rmse")
    scale, fit = float(scales[best]), kept[best]
    xs = xt * scale
    ridge_rows = []
    for ridge in ridges:
        text_only = dict(fit, v=xs @ refit_map(xs, fit["v"], fit["rated"], ridge, scale))
        ridge_rows.append({"map_ridge": float(ridge),
                           "cold_rmse": _rmse(predict_text_mf(text_only, cold.user, cold.item), cold.rating)})
    ridge = float(ridges[_pick(ridge_rows, "cold_rmse")])
    tables = {"text_scale": scale_rows, "map_ridge": ridge_rows, "warm_rows": int(len(warm.user)),
              "cold_rows": int(len(cold.user)), "fraction": fraction}
    return scale, ridge, fit["sweeps"], tables
