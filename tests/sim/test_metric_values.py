"""Each metric on hand-made cases with known answers (sim.metrics)."""

import numpy as np
import pytest

from banditsim.sim.metrics import METRICS, Metric, reduce_steps
from banditsim.sim.metrics.diversity import intra_list_distance, mean_pair_distance
from banditsim.sim.metrics.exposure import coverage, gini, group_shares, novelty, popularity_deciles, ratings_popularity
from banditsim.sim.metrics.ranking import hit_at_1, ndcg_at_k, precision_at_k, rank_percentile, recall_at_k, true_top
from banditsim.sim.metrics.segments import segment_groups

V = np.array([[1.0, 0.5, 0.0, -1.0, 0.25]])  # exact expected rewards of 5 items for one user


def test_ndcg_of_the_ideal_slate_is_one_and_of_the_reversed_slate_known():
    assert ndcg_at_k(np.array([[0, 1, 4]]), V, -1.0)[0] == pytest.approx(1.0)
    # gains with r_min = −1: item0 2.0, item1 1.5, item4 1.25; reversed slate (4, 1, 0)
    d = 1 / np.log2([2.0, 3.0, 4.0])
    want = (1.25 * d[0] + 1.5 * d[1] + 2.0 * d[2]) / (2.0 * d[0] + 1.5 * d[1] + 1.25 * d[2])
    assert ndcg_at_k(np.array([[4, 1, 0]]), V, -1.0)[0] == pytest.approx(want, rel=1e-12)
    # the worst slate shows items 3 (gain 0), 2, 4
    worst = (0 * d[0] + 1.0 * d[1] + 1.25 * d[2]) / (2.0 * d[0] + 1.5 * d[1] + 1.25 * d[2])
    assert ndcg_at_k(np.array([[3, 2, 4]]), V, -1.0)[0] == pytest.approx(worst)


def test_ndcg_counts_a_repeated_item_once_and_is_undefined_without_any_gain():
    assert ndcg_at_k(np.array([[0, 0]]), V, -1.0)[0] < 1.0
    flat = np.full((1, 4), -1.0)  # every item at the worst value: ideal DCG 0
    assert np.isnan(ndcg_at_k(np.array([[0, 1]]), flat, -1.0)[0])


def test_precision_and_recall_against_the_true_top():
    v = np.arange(20.0)[::-1][None]  # item 0 best … item 19 worst
    assert precision_at_k(np.array([[0, 1, 2]]), v)[0] == 1.0
    assert precision_at_k(np.array([[0, 5, 19]]), v)[0] == pytest.approx(1 / 3)
    assert recall_at_k(np.array([[0, 5, 19]]), v)[0] == pytest.approx(2 / 10)  # of the true top 10
    blocked = v.copy()
    blocked[0, 0] = -np.inf  # a blocked item is not part of the truth
    assert precision_at_k(np.array([[1, 2]]), blocked)[0] == 1.0
    assert true_top(blocked, 2)[0].tolist() == [1, 2]


def test_hit_at_1_and_true_rank_percentile():
    assert hit_at_1(np.array([0.0, 0.3]), np.array([0.8, 0.8])).tolist() == [1.0, 0.0]
    assert rank_percentile(np.array([0]), V)[0] == 1.0     # the best of five
    assert rank_percentile(np.array([3]), V)[0] == 0.0     # the worst
    assert rank_percentile(np.array([4]), V)[0] == 0.5     # two below, two above
    ties = np.array([[0.2, 0.2, 0.2]])
    assert rank_percentile(np.array([1]), ties)[0] == 0.5


def test_coverage_and_gini_on_fixed_exposures():
    assert coverage(np.array([1, 0, 0, 3])) == 0.5
    assert gini(np.full(7, 3)) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 0, 10])) == pytest.approx(0.8)   # (n − 1)/n
    x = np.array([3.0, 1.0, 2.0])
    mean_abs_diff = np.abs(x[:, None] - x[None, :]).mean()
    assert gini(x) == pytest.approx(mean_abs_diff / (2 * x.mean()))  # the textbook definition
    assert np.isnan(gini(np.zeros(3)))


def test_novelty_of_uniform_popularity_and_of_ratings():
    n = 16
    assert novelty(np.arange(n), np.full(n, 1 / n)).tolist() == [4.0] * n
    pop = ratings_popularity(np.array([6, 0, 2]))  # (c + 1) / (8 + 3)
    assert pop.tolist() == pytest.approx([7 / 11, 1 / 11, 3 / 11])
    assert novelty(np.array([[0, 1]]), pop)[0] == pytest.approx((np.log2(11 / 7) + np.log2(11)) / 2)


def test_intra_list_and_session_distance():
    x = np.eye(3)
    assert intra_list_distance(np.array([[0, 1, 2]]), x)[0] == pytest.approx(1.0)
    assert intra_list_distance(np.array([[0, 0]]), x)[0] == pytest.approx(0.0)
    y = np.array([[1.0, 0.0], [np.sqrt(0.5), np.sqrt(0.5)]])
    assert intra_list_distance(np.array([[0, 1]]), y)[0] == pytest.approx(1 - np.sqrt(0.5))
    # a session of one item has no pairs
    assert np.isnan(mean_pair_distance(x[:1], np.array([1.0]), np.array([1]))[0])


def test_group_shares_and_popularity_deciles():
    membership = np.array([[True, False], [True, True], [False, True]])
    expo, cat = group_shares(np.array([2, 0, 2]), membership)
    assert expo.tolist() == [0.5, 0.5] and cat.tolist() == pytest.approx([2 / 3, 2 / 3])
    d = popularity_deciles(np.array([5.0, 1.0, 3.0, 9.0, 7.0, 0.0, 2.0, 4.0, 8.0, 6.0]))
    assert d.sum(0).tolist() == [1] * 10 and d[3, 9] and d[5, 0]


def test_reducers_pool_rows_and_ignore_undefined_steps():
    m = Metric("x", "x", step=None)
    # step means 0.5 over 2 rows and 1.0 over 1 row; a step nobody defined is skipped
    assert reduce_steps(m, np.array([0.5, np.nan, 1.0]), np.array([2, 0, 1]), np.arange(3)) == pytest.approx(2 / 3)
    assert reduce_steps(m, np.array([np.nan]), np.array([0]), np.arange(1)) is None
    last = Metric("c", "c", step=None, reduce="last")
    assert reduce_steps(last, np.array([0.2, 0.4]), None, np.array([1, 0])) == 0.2  # the last *step*
    assert reduce_steps(METRICS["sessions_ended"], np.array([0.01]), np.array([100]), np.arange(1)) == 10.0


def test_movielens_segments_from_visible_features():
    from types import SimpleNamespace

    names = ("age", "gender_F", "gender_M", "occupation_artist", "occupation_writer")
    feats = np.array([[0.17, 1, 0, 1, 0], [0.30, 0, 1, 0, 1], [0.61, 0, 1, 0, 1]])
    groups = segment_groups(SimpleNamespace(meta={}, features=feats, feature_names=names))
    named = {k: [labels[i] for i in idx] for k, (labels, idx) in groups.items()}
    assert named == {"age": ["<18", "25-34", "56+"], "gender": ["F", "M", "M"],
                     "occupation": ["artist", "writer", "writer"]}
    clusters = segment_groups(SimpleNamespace(meta={"cluster": np.array([1, 0, 1])}, features=np.zeros((3, 0)),
                                              feature_names=()))
    assert [clusters["cluster"][0][i] for i in clusters["cluster"][1]] == ["cluster 1", "cluster 0", "cluster 1"]


def test_ndcg_and_percentile_match_sklearn_and_scipy_on_random_truths():
    """Against independent implementations: sklearn's ndcg_score (linear gains, log2 discount) and
    scipy's average ranks, on random exact-value matrices with blocked items."""
    from scipy.stats import rankdata
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(7)
    n_items, k = 30, 4
    for _ in range(20):
        raw = rng.uniform(-1, 1, size=(1, n_items))
        values = np.where(rng.random((1, n_items)) < 0.2, -np.inf, raw)
        allowed = np.flatnonzero(values[0] > -np.inf)
        slate = rng.choice(allowed, size=k, replace=False)[None]
        gains = np.where(values > -np.inf, raw + 1.0, 0.0)   # shift by r_min = −1; blocked items gain 0
        score = np.zeros((1, n_items))
        score[0, slate[0]] = np.arange(k, 0, -1)              # the slate, in its order, on top
        want = ndcg_score(gains, score, k=k)
        assert ndcg_at_k(slate, values, -1.0)[0] == pytest.approx(want, rel=1e-10)
        chosen = rng.choice(allowed)
        ranks = rankdata(values[0, allowed])                   # average ranks among allowed items
        want_pct = (ranks[np.searchsorted(allowed, chosen)] - 1) / (len(allowed) - 1)
        assert rank_percentile(np.array([chosen]), values)[0] == pytest.approx(want_pct)


def test_tracker_truth_steps_use_the_worlds_exact_values():
    """The tracker's percentile on a truth step equals one computed from World.expected_rewards()
    of the same state, and hit@1 equals 'chosen value == best value' on every step."""
    from types import SimpleNamespace

    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.metrics.cell_state import TRUTH_EVERY
    from banditsim.sim.metrics.tracker import MetricTracker
    from tests.sim.tiny_world import tiny_items, tiny_population

    from banditsim.envs.world import World

    x = tiny_items(24)
    pop = tiny_population(x)
    world = World(x, pop, n_users=40, seed=2)
    obs = world.reset()
    prep = SimpleNamespace(config=RunConfig.model_validate({"world": {"n_users": 40}}), item_vectors=x,
                           population=pop, category_names=[], categories=np.zeros((24, 0), bool),
                           item_ids=[str(i) for i in range(24)])
    tracker = MetricTracker(prep, 40)
    assert {"cluster"} == set(tracker.cell.segments)
    rng = np.random.default_rng(0)
    for t in range(TRUTH_EVERY):
        a = rng.integers(0, 24, 40)
        truth = tracker.truth(t, world, obs.mask)
        vals = np.where(obs.mask, world.expected_rewards(), -np.inf)  # before the step: the mask is a live view
        res = world.step(a)
        cols = tracker.step(t, a, res, obs.session_step, obs.population_index, world.n_items, truth)
        hit = np.isclose(res.expected_reward_chosen, res.best_expected_reward, rtol=0, atol=1e-12)
        assert cols["hit_at_1"] == pytest.approx(hit.mean())
        if truth is None:
            assert cols["rank_percentile:n"] == 0
        else:
            ok = vals > -np.inf
            pct = [(np.sum(vals[i][ok[i]] < vals[i, a[i]]) + 0.5 * (np.sum(vals[i][ok[i]] == vals[i, a[i]]) - 1))
                   / (ok[i].sum() - 1) if ok[i, a[i]] else 0.0  # a blocked item ranks below every allowed one
                   for i in range(40)]
            assert cols["rank_percentile"] == pytest.approx(np.mean(pct))
            assert cols["rank_percentile:n"] == 40
        obs = res.observation
    assert truth is not None, "the last step of the loop is a truth step"
