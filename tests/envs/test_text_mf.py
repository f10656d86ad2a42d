"""Issue #17 item 3: text-regularised MF tastes, the world that uses the same fit, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.envs.fit_ratings import Ratings


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield


def _text_log(n_users=240, n_items=150, per_user=45, d=24, k=6, offset_sd=0.6, seed=0):
    """Ratings from a known text-MF model: v_i = Aᵀx_i + δ_i, r = 3 + b_u + b_i + w_u·v_i + noise.

    Returns (ratings, unit text vectors, the noiseless expected rating of every (user, item))."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_items, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    a = rng.normal(size=(d, k)) * 2.0
    v = x @ a + offset_sd * rng.normal(size=(n_items, k))
    w = rng.normal(size=(n_users, k)) * 0.35
    truth = 3.0 + 0.3 * rng.normal(size=n_users)[:, None] + 0.3 * rng.normal(size=n_items)[None, :] + w @ v.T
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    r = truth[users, items] + 0.5 * rng.normal(size=len(users))
    ratings = Ratings(users, items, r, tuple(f"u{u}" for u in range(n_users)), n_items, rng.random(len(r)))
    return ratings, x.astype(np.float32), truth


def _user_auc(test, score, tau_neg=2.5, tau_pos=3.5):
    from banditsim.sim.studies.fidelity import grouped_auc

    keep = (test.rating > tau_pos) | (test.rating < tau_neg)
    auc, ok = grouped_auc(test.user[keep], score[keep], test.rating[keep] > tau_pos)
    return float(np.nanmean(auc[ok]))


def _predict(fit, users, items):
    from banditsim.envs.text_mf import predict_text_mf

    return predict_text_mf({**fit, **fit["latent"]}, users, items)


def test_known_text_model_beats_biases_and_approaches_the_truth():
    """Warm rows: text-MF well above biases-only and within 0.03 of the true model's own AUC;
    it beats the text-only fit of the old model (no offsets) because the truth has offsets."""
    from banditsim.envs.fit_baselines import fit_biases, predict
    from banditsim.envs.fit_ratings import fit_tastes
    from banditsim.sim.studies.fidelity import holdout_split

    ratings, x, truth = _text_log()
    train, test = holdout_split(ratings, 0.2, seed=0)
    fit = fit_tastes(x, train, dim=6)
    ours = _user_auc(test, _predict(fit, test.user, test.item))
    best = _user_auc(test, truth[test.user, test.item])
    biases = _user_auc(test, predict(fit_biases(train), test.user, test.item))
    text_only = _user_auc(test, _predict({**fit, "latent": {**fit["latent"], "v": fit["latent"]["text_v"]}},
                                         test.user, test.item))
    assert ours > biases + 0.15, (ours, biases)
    assert ours > best - 0.03, (ours, best)
    assert ours > text_only + 0.01, (ours, text_only)
    assert fit["validation"]["text_scale"] and fit["validation"]["warm_rows"] > 0


def test_cold_items_are_scored_by_text_above_popularity():
    """Items whose rows are all held out: only the text map can tell them apart (per user), and it does,
    close to what the true map would give; popularity and biases are flat on them (AUC 0.5)."""
    from banditsim.envs.fit_ratings import fit_tastes
    from banditsim.sim.studies.fidelity import cold_item_split

    ratings, x, truth = _text_log(n_items=200, seed=1)
    train, test, cold = cold_item_split(ratings, 0.2, seed=0)
    fit = fit_tastes(x, train, dim=6)
    assert not fit["latent"]["rated"][cold].any()
    np.testing.assert_allclose(fit["latent"]["v"][cold], fit["latent"]["text_v"][cold])  # text alone
    assert (fit["item_bias"][cold] == 0).all()
    ours = _user_auc(test, _predict(fit, test.user, test.item))
    sums = np.bincount(train.item, train.rating, minlength=train.n_items)
    counts = np.bincount(train.item, minlength=train.n_items)
    popularity = np.where(counts > 0, sums / np.maximum(counts, 1), train.rating.mean())
    assert _user_auc(test, popularity[test.item]) == pytest.approx(0.5)
    best = _user_auc(test, truth[test.user, test.item])
    assert ours > 0.7 and ours > best - 0.08, (ours, best)


def _fitted_population(n_items=60, seed=2):
    from banditsim.envs.fit_ratings import fit_tastes, population_from_fit

    ratings, x, _ = _text_log(n_users=80, n_items=n_items, per_user=30, d=16, k=5, seed=seed)
    fit = fit_tastes(x, ratings, dim=5)
    pop = population_from_fit(fit, ratings.user_ids, np.zeros((ratings.n_users, 1)), ("none",))
    pred = _predict(fit, np.repeat(np.arange(ratings.n_users), n_items), np.tile(np.arange(n_items), ratings.n_users))
    return pop, x, fit, pred.reshape(ratings.n_users, n_items)


def test_world_expected_utility_is_the_fitted_prediction():
    """The world's exact utility κ_u θ_u·y_i + b_u + b_i of every (person, item) equals the fitted
    model's predicted rating; agents still see the text vectors; items released mid-run too."""
    from banditsim.envs.dynamics import Fatigue
    from banditsim.envs.world import World
    from banditsim.envs.world_config import WorldConfig

    pop, x, fit, pred = _fitted_population()
    assert np.abs(pop.item_positions - x).max() > 0.05  # the fit moved the items off their text
    np.testing.assert_allclose(pop.utility(x), pred, atol=1e-4)
    cfg = WorldConfig(fatigue=Fatigue(enabled=False))
    world = World(x[:50], pop, n_users=pop.n_users, config=cfg, seed=0)
    obs = world.reset()
    np.testing.assert_array_equal(world.item_vectors, x[:50])  # what agents see: the text
    world.add_items(x[50:], item_bias=pop.item_bias_for(60)[50:])
    np.testing.assert_array_equal(world.item_vectors, x)
    rows = np.arange(pop.n_users)[:, None]
    util = world._exact_utility(rows, np.arange(60)[None, :], world._cosine_rows())
    np.testing.assert_allclose(util, pred[obs.population_index], atol=1e-4)


def test_population_without_positions_is_unchanged_and_positions_are_checked():
    """A population without item positions scores the catalog's vectors; bad positions are refused."""
    from dataclasses import replace

    from banditsim.envs.world_errors import ItemVectorError, PopulationError

    pop, x, _, pred = _fitted_population(n_items=40, seed=3)
    plain = replace(pop, item_positions=None)
    assert plain.positions_for(x) is x
    np.testing.assert_allclose(plain.utility(pop.item_positions), pred, atol=1e-4)
    with pytest.raises(ItemVectorError, match="places 40 items, not 41"):
        pop.positions_for(np.ones((41, x.shape[1]), np.float32))
    with pytest.raises(PopulationError, match="item_positions have dim 3"):
        replace(pop, item_positions=np.ones((40, 3)))
    with pytest.raises(ItemVectorError, match="item_positions row 2 holds NaN"):
        replace(pop, item_positions=np.where(np.arange(40)[:, None] == 2, np.nan, pop.item_positions))


def test_no_item_moves_when_the_map_is_the_texts_own_coordinates():
    """world_positions: items whose fitted vectors are their text's principal coordinates (no offset)
    sit exactly at their text vectors; tastes·positions + shift is w·v for any fit."""
    from banditsim.envs.text_mf import text_coordinates, world_positions

    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 10))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    xt, basis, scale = text_coordinates(x, 4)
    w = rng.normal(size=(7, 4))
    placed = world_positions({"w": w, "v": 0.3 * xt @ basis}, x, basis)
    np.testing.assert_allclose(placed["positions"], x, atol=1e-12)
    v = rng.normal(size=(30, 4)) * 3
    placed = world_positions({"w": w, "v": v}, x, basis)
    np.testing.assert_allclose(np.linalg.norm(placed["positions"], axis=1), 1.0)
    np.testing.assert_allclose(placed["tastes"] @ placed["positions"].T + placed["user_shift"][:, None], w @ v.T,
                               atol=1e-10)


def test_grouped_ridge_memory_stays_bounded_on_a_huge_catalog():
    """200,000 items at k = 16: the (items, k²) outer-product array would be 410 MB; with 4 MB blocks
    the peak traced allocation stays a small fraction of it, and the answer matches one big block."""
    import tracemalloc

    from banditsim.envs.grouped_ridge import grouped_ridge

    rng = np.random.default_rng(5)
    n_items, k, n_rows = 200_000, 16, 400_000
    items = rng.integers(0, n_items, n_rows)
    users = rng.integers(0, 500, n_rows)
    y = rng.normal(size=n_rows)
    user_factors = rng.normal(size=(500, k))
    prior = rng.normal(size=(n_items, k))
    tracemalloc.start()
    small = grouped_ridge(items, users, y, user_factors, n_items, 3.0, prior, max_bytes=1 << 22)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    forbidden = n_items * k * k * 8
    # what must exist: the answer, the prior's copy, the sparse right-hand side (~3 × 26 MB), sort arrays
    assert peak < forbidden / 3, (peak, forbidden)
    big = grouped_ridge(items, users, y, user_factors, n_items, 3.0, prior, max_bytes=1 << 30)
    np.testing.assert_allclose(small, big, rtol=1e-10, atol=1e-12)


def test_early_stopping_returns_the_best_sweep_and_equals_a_fit_of_that_length():
    """fit_text_mf with validation rows: the returned state is the sweep with the lowest validation RMSE,
    identical to a fit stopped there; fit_tastes' final fit uses the sweeps the validation chose."""
    from banditsim.envs.fit_ratings import fit_tastes
    from banditsim.envs.ratings import split_ratings
    from banditsim.envs.text_mf import fit_text_mf, predict_text_mf, text_coordinates

    ratings, x, _ = _text_log(n_users=120, n_items=80, per_user=12, d=16, k=5, seed=6)
    fit_part, held = split_ratings(ratings, 0.8, seed=0)
    xt, basis, _ = text_coordinates(x.astype(np.float64), 5)
    args = (xt, basis, fit_part.user, fit_part.item, fit_part.rating, ratings.n_users)
    # a tiny ridge on few rows per user: later sweeps overfit, the held-out RMSE rises
    watched = fit_text_mf(*args, text_scale=0.05, l2=0.01, n_iter=12, watch=(held.user, held.item, held.rating))
    scores = watched["watch_rmse"]
    assert watched["sweeps"] == int(np.argmin(scores)) + 1 < 12
    assert len(scores) == watched["sweeps"] + 2  # stopped after two sweeps without a better one
    patient = fit_text_mf(*args, text_scale=0.05, l2=0.01, n_iter=12, watch=(held.user, held.item, held.rating),
                          patience=12)
    assert len(patient["watch_rmse"]) == 12 and patient["watch_rmse"][:len(scores)] == scores
    assert min(patient["watch_rmse"]) == min(scores)  # the later sweeps never come back below it here
    stopped = fit_text_mf(*args, text_scale=0.05, l2=0.01, n_iter=watched["sweeps"])
    np.testing.assert_array_equal(predict_text_mf(watched, held.user, held.item),
                                  predict_text_mf(stopped, held.user, held.item))
    full = fit_tastes(x, ratings, dim=5)
    chosen = full["validation"]["text_scale"]
    row = next(r for r in chosen if r["text_scale"] == full["text_scale"])
    assert full["sweeps"] == row["sweeps"] == int(np.argmin(row["warm_rmse_by_sweep"])) + 1


def test_without_validation_rows_the_middle_settings_and_every_sweep_are_kept():
    """Users with two rows each keep both (round(0.9·2) = 2), so there is no warm validation row: the
    middle text scale, every sweep; the fit still runs and scores every item."""
    from banditsim.envs.fit_ratings import fit_tastes
    from banditsim.envs.text_mf_choice import TEXT_SCALES

    ratings, x, _ = _text_log(n_users=60, n_items=30, per_user=2, d=8, k=3, seed=7)
    fit = fit_tastes(x, ratings, dim=3, n_iter=5)
    assert fit["validation"]["warm_rows"] == 0
    assert fit["text_scale"] == TEXT_SCALES[len(TEXT_SCALES) // 2] and fit["sweeps"] == 5
    assert all(row["warm_rmse"] is None for row in fit["validation"]["text_scale"])
    assert np.isfinite(fit["item_positions"]).all() and np.isfinite(fit["v"]).all()
