"""Issue #17 item 2: the fidelity report's splits, AUCs and baselines on a log whose true model is known."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.envs.fit_ratings import Ratings


@pytest.fixture(autouse=True)
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def test_grouped_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    from banditsim.sim.studies.fidelity import grouped_auc

    rng = np.random.default_rng(0)
    group = rng.integers(0, 30, size=2000)
    score = rng.integers(0, 6, size=2000).astype(float)  # many ties
    label = rng.random(2000) < 0.3 + 0.1 * score
    auc, ok = grouped_auc(group, score, label)
    for g in range(30):
        m = group == g
        if ok[g]:
            assert auc[g] == pytest.approx(roc_auc_score(label[m], score[m]), abs=1e-12)
        else:
            assert len(set(label[m])) < 2
    whole, _ = grouped_auc(np.zeros(2000, int), score, label)
    assert whole[0] == pytest.approx(roc_auc_score(label, score), abs=1e-12)


def _ratings(n_users=300, n_items=120, per_user=40, dim=16, seed=0, with_time=True):
    """A log drawn from a known model: r = 3 + 1.2·κ θ_u·x_i + b_u + b_i + noise, rounded to 1..5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_items, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    theta = rng.normal(size=(n_users, dim))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    signal = 3 + 1.2 * 3.0 * np.einsum("nd,nd->n", theta[users], x[items])
    r = signal + 0.3 * rng.normal(size=n_users)[users] + 0.3 * rng.normal(size=n_items)[items]
    r = np.clip(np.round(r + 0.5 * rng.normal(size=len(r))), 1, 5)
    time = rng.random(len(r)) * 1e6 if with_time else None
    return Ratings(users, items, r, tuple(f"u{u}" for u in range(n_users)), n_items, time), x.astype(np.float32)


def test_holdout_split_takes_each_users_latest_rows():
    from banditsim.sim.studies.fidelity import holdout_split

    ratings, _ = _ratings(n_users=50)
    train, test = holdout_split(ratings, 0.2, seed=1)
    assert len(test.user) == 50 * 8 and len(train.user) == 50 * 32
    for u in range(50):
        assert train.time[train.user == u].max() < test.time[test.user == u].min()
    one = Ratings(np.array([0, 1, 1]), np.array([0, 1, 2]), np.array([1.0, 2, 5]), ("a", "b"), 3)
    tr, te = holdout_split(one, 0.5)
    assert sorted(tr.user.tolist()) == [0, 1] and te.user.tolist() == [1]  # a user keeps one training row


def test_cold_item_split_holds_out_every_row_of_its_items():
    from banditsim.sim.studies.fidelity import cold_item_split

    ratings, _ = _ratings(n_users=50)
    train, test, cold = cold_item_split(ratings, 0.1, seed=3)
    assert len(cold) == 12
    assert not np.isin(train.item, cold).any() and np.isin(test.item, cold).all()
    assert len(train.user) + len(test.user) == len(ratings.user)


def test_known_model_the_text_tastes_beat_biases_and_score_cold_items():
    """On a log drawn from tastes over the item vectors, the simulator's model beats biases-only on warm
    rows, comes near MF, and on cold items (text only) is far above every baseline that scores them."""
    from banditsim.sim.studies.fidelity import fidelity

    ratings, x = _ratings()
    res = fidelity(ratings, x, 2.5, 3.5, dim=16, seed=0)
    warm, cold = res["warm"]["methods"], res["cold_items"]["methods"]
    sim_w = warm["simulator (text-MF)"]["mean_user_auc"]
    assert sim_w > warm["user+item biases"]["mean_user_auc"] + 0.1
    assert sim_w > warm["item popularity"]["mean_user_auc"] + 0.1
    assert sim_w > warm["matrix factorisation (rank 16)"]["mean_user_auc"] - 0.02
    assert abs(warm["random"]["mean_user_auc"] - 0.5) < 0.05
    sim_c = cold["simulator (text-MF)"]["mean_user_auc"]
    assert sim_c > 0.75
    for name in ("item popularity", "user+item biases", "matrix factorisation (rank 16)"):
        assert cold[name]["mean_user_auc"] == pytest.approx(0.5)  # nothing to tell cold items apart
    cal = warm["simulator (text-MF)"]["calibration"]
    assert [c["predicted"] for c in cal] == sorted(c["predicted"] for c in cal)
    assert max(abs(c["predicted"] - c["observed"]) for c in cal) < 0.15
    assert res["warm"]["split"] == "per user, latest rows by time"


def test_command_writes_json_and_plots(tmp_path):
    """python -m banditsim.sim.studies.fidelity on a ratings config: fidelity.json and two PNGs."""
    import csv
    import json

    from banditsim.sim.studies.fidelity import main
    from tests.reliability.rel_helpers import write_tiny_catalog

    cat = write_tiny_catalog(tmp_path)
    rng = np.random.default_rng(0)
    with open(tmp_path / "r.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user", "id", "stars"])
        for u in range(60):
            for i in rng.choice(16, 10, replace=False):
                w.writerow([f"u{u}", i, 1 + (u + i) % 5])
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"catalog: {{source: {cat}, text_columns: [title]}}\n"
                   "population: {kind: ratings, file: r.csv, user_column: user, item_column: id, "
                   "rating_column: stars, fit_dim: 8}\n")
    assert main([str(cfg), "--out", str(tmp_path / "fid")]) == 0
    res = json.loads((tmp_path / "fid" / "fidelity.json").read_text())
    assert set(res["warm"]["methods"]) == {"simulator (text-MF)", "text map only (no offsets)", "item popularity",
                                           "user+item biases", "matrix factorisation (rank 8)", "random"}
    assert res["warm"]["text_mf"]["rank"] == 8 and res["cold_items"]["text_mf"]["validation"]["text_scale"]
    assert res["warm"]["split"] == "per user, random rows"
    for png in ("fidelity_auc.png", "fidelity_calibration.png"):
        assert (tmp_path / "fid" / png).stat().st_size > 1000


def test_fidelity_needs_a_fitted_population():
    from banditsim.envs.errors import BanditsimError
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.studies.fidelity import ratings_of

    cfg = RunConfig.model_validate({"catalog": {"source": "x.csv"}, "population": {"kind": "clusters"}})
    with pytest.raises(BanditsimError, match="kind movielens or ratings"):
        ratings_of(cfg, ["1", "2"])
