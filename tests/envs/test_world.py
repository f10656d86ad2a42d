import numpy as np
import pytest

from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience, Returns
from banditsim.envs.feedback_kinds import BLOCK, NEUTRAL
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError, ItemVectorError

OFF = dict(fatigue=Fatigue(enabled=False), drift=Drift(enabled=False), blocking=Blocking(enabled=False),
           patience=Patience(enabled=False))


def run(world, steps, seed, slate=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        a = (np.argsort(rng.random((world.n_users, world.n_items)), 1)[:, :slate] if slate
             else rng.integers(world.n_items, size=world.n_users))
        r = world.step(a)
        out.append((r.kind, r.reward, r.expected_reward_chosen, r.best_expected_reward, r.observation.user_ids))
    return out


def test_same_seed_same_numbers_and_different_seeds_differ(small_items, small_population):
    a = World(small_items, small_population, n_users=16, seed=1)
    b = World(small_items, small_population, n_users=16, seed=1)
    c = World(small_items, small_population, n_users=16, seed=2)
    for w in (a, b, c):
        w.reset()
    ra, rb, rc = run(a, 30, 0), run(b, 30, 0), run(c, 30, 0)
    for x, y in zip(ra, rb):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(ra, rc))


@pytest.mark.parametrize("slate", [0, 3])
def test_best_and_chosen_expected_rewards_are_exact(small_items, small_population, slate):
    w = World(small_items, small_population, n_users=24, seed=3, config=WorldConfig(candidates=4))
    w.reset()
    rng = np.random.default_rng(0)
    for _ in range(25):
        er = w.expected_rewards()
        best_item, best = w.best_items()
        allowed = w._observation().mask
        np.testing.assert_allclose(best, np.where(allowed, er, -np.inf).max(1), atol=1e-5)
        a = rng.integers(w.n_items, size=24) if not slate else np.argsort(rng.random((24, w.n_items)), 1)[:, :slate]
        r = w.step(a)
        if not slate:
            np.testing.assert_allclose(r.expected_reward_chosen, er[np.arange(24), a], atol=1e-5)
            np.testing.assert_allclose(r.best_expected_reward, best, atol=1e-5)
        assert (r.best_expected_reward >= r.expected_reward_chosen - 1e-5).all()


def test_realised_rewards_average_to_expected(small_items, small_population):
    w = World(small_items, small_population, n_users=4000, seed=0, config=WorldConfig(**OFF))
    w.reset()
    a = np.arange(4000) % w.n_items
    exp, got = [], []
    for _ in range(5):
        r = w.step(a)
        exp.append(r.expected_reward_chosen)
        got.append(r.reward)
    assert abs(np.mean(got) - np.mean(exp)) < 4 * np.std(got) / np.sqrt(20000)


def test_slate_value_matches_simulation_and_position_matters(small_items, small_population):
    cfg = WorldConfig(**OFF, cascade=CascadeChoice(decay=0.5))
    w = World(small_items, small_population, n_users=6000, seed=0, config=cfg)
    w.reset()
    er = w.expected_rewards()
    good = np.argsort(-er, 1)[:, :1]
    bad = np.argsort(er, 1)[:, :1]
    top_first = np.c_[good, bad]
    top_last = np.c_[bad, good]
    v_first = w.slate_expected_rewards(top_first)
    v_last = w.slate_expected_rewards(top_last)
    assert (v_first > v_last).mean() > 0.95
    r1, r2 = w.step(top_first), w.step(top_last)
    assert abs(r1.reward.mean() - v_first.mean()) < 0.03
    assert abs(r2.reward.mean() - v_last.mean()) < 0.03
    # the good item answers positively more often at position 0 than at position 1
    pos1 = ((r1.kind > NEUTRAL) & (r1.position == 0)).mean()
    pos2 = ((r2.kind > NEUTRAL) & (r2.position == 1)).mean()
    assert pos1 > pos2 + 0.1
    assert ((r1.kind > NEUTRAL).astype(int) <= 1).all()


def test_slate_larger_than_catalog_and_bad_actions(small_items, small_population):
    w = World(small_items, small_population, n_users=2, seed=0)
    w.reset()
    with pytest.raises(ActionError, match="slate size 61 is larger than the catalog \\(60 items\\)"):
        w.step(np.zeros((2, 61), dtype=int))
    with pytest.raises(ActionError, match="out of range"):
        w.step(np.array([0, 60]))
    with pytest.raises(ActionError, match="shape"):
        w.step(np.array([0, 1, 2]))


def test_fatigue_lowers_positives_on_repeats(small_items, small_population):
    def pos_rate(enabled):
        cfg = WorldConfig(**{**OFF, "fatigue": Fatigue(enabled=enabled, strength=2.0, recovery=0.9)})
        w = World(small_items, small_population, n_users=3000, seed=0, config=cfg)
        w.reset()
        best = np.argmax(w.expected_rewards(), 1)
        rates = [(w.step(best).kind > NEUTRAL).mean() for _ in range(6)]
        return rates
    on, off = pos_rate(True), pos_rate(False)
    assert on[-1] < on[0] - 0.1
    assert abs(off[-1] - off[0]) < 0.05


def test_fatigue_recovers_geometrically(small_items, small_population):
    cfg = WorldConfig(**{**OFF, "fatigue": Fatigue(strength=1.0, recovery=0.5)})
    w = World(small_items, small_population, n_users=2, seed=0, config=cfg)
    w.reset()
    w.step(np.array([3, 3]))
    f1 = w._fatigue.values(np.arange(2), np.array([3, 3]))
    w.step(np.array([10, 10]))
    f2 = w._fatigue.values(np.arange(2), np.array([3, 3]))
    np.testing.assert_allclose(f1, 1.0)
    np.testing.assert_allclose(f2, 0.5, atol=1e-6)


def test_drift_moves_theta_toward_consumed_item(small_items, small_population):
    cfg = WorldConfig(**{**OFF, "drift": Drift(rate=0.3)})
    w = World(small_items, small_population, n_users=500, seed=0, config=cfg)
    w.reset()
    x = w.item_vectors
    before = w.theta()
    item = np.full(500, 11)
    r = w.step(item)
    after = w.theta()
    moved = r.kind > NEUTRAL
    assert moved.any() and (~moved).any()
    assert (after[moved] @ x[11] > before[moved] @ x[11] + 1e-4).all()
    np.testing.assert_array_equal(after[~moved], before[~moved])
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1, atol=1e-5)
    # cached affinities stay equal to θ·X
    np.testing.assert_allclose(w._cosine_matrix, after @ x.T, atol=1e-5)


def test_block_is_permanent(small_items, small_population):
    cfg = WorldConfig(**{**OFF, "blocking": Blocking(enabled=True)}, reward_map={"block": -3})
    w = World(small_items, small_population, n_users=3000, seed=0, config=cfg)
    w.reset()
    worst = np.argmin(w.expected_rewards(), 1)
    r = w.step(worst)
    blocked = r.kind == BLOCK
    assert blocked.any()
    assert not r.observation.mask[np.flatnonzero(blocked), worst[blocked]].any()
    for _ in range(5):
        r = w.step(worst)
        assert (r.kind[blocked] == BLOCK).all()
        assert (r.expected_reward_chosen[blocked] == -3).all()
    assert not w._observation().mask[np.flatnonzero(blocked), worst[blocked]].any()


def test_patience_ends_session_and_batch_stays_full(small_items, small_population):
    cfg = WorldConfig(**{**OFF, "patience": Patience(initial=2)}, returns=Returns(p_return=0.0))
    w = World(small_items, small_population, n_users=500, seed=0, config=cfg)
    obs = w.reset()
    worst = np.argmin(w.expected_rewards(), 1)
    negatives = np.zeros(500, dtype=int)
    ids = obs.user_ids.copy()
    for _ in range(4):
        r = w.step(worst)
        negatives += (r.kind < NEUTRAL)
        ended = r.terminated
        assert (negatives[ended] == 2).all()
        assert (r.churned == ended).all()
        assert (r.observation.user_ids[ended] != ids[ended]).all()  # fresh people
        negatives[ended] = 0
        ids = r.observation.user_ids.copy()
        worst = np.argmin(w.expected_rewards(), 1)
    assert len(r.observation.user_ids) == 500 and r.observation.mask.shape == (500, 60)


def test_returning_users_keep_identity(small_items, small_population):
    cfg = WorldConfig(**{**OFF, "patience": Patience(initial=1)}, returns=Returns(p_return=1.0))
    w = World(small_items, small_population, n_users=200, seed=0, config=cfg)
    obs = w.reset()
    r = w.step(np.argmin(w.expected_rewards(), 1))
    assert r.terminated.any() and (r.returned == r.terminated).all()
    np.testing.assert_array_equal(r.observation.user_ids, obs.user_ids)
    assert (r.observation.patience == 1).all()


def test_add_items_extends_masks_and_ground_truth(small_items, small_population):
    w = World(small_items, small_population, n_users=8, seed=0)
    w.reset()
    w.step(np.zeros(8, dtype=int))
    new = np.random.default_rng(9).normal(size=(5, 16))
    idx = w.add_items(new)
    assert idx.tolist() == list(range(60, 65))
    er = w.expected_rewards()
    assert er.shape == (8, 65)
    th = w.theta()
    pop = small_population
    u = pop.taste_scale[w._pop_index, None] * (th @ w.item_vectors[60:].T) + pop.user_bias[w._pop_index, None]
    from banditsim.envs.feedback import expected_reward
    ref = expected_reward(u, w._cut_points[:, None, :] + 0 * u[..., None], w._temperature[:, None] + 0 * u, w.rewards)
    np.testing.assert_allclose(er[:, 60:], ref, atol=1e-5)
    r = w.step(np.full(8, 62))
    assert r.observation.mask.shape == (8, 65)
    _, best = w.best_items()
    np.testing.assert_allclose(best, np.where(w._observation().mask, w.expected_rewards(), -np.inf).max(1), atol=1e-5)
    with pytest.raises(ItemVectorError, match="NaN"):
        w.add_items(np.full((1, 16), np.nan))


def test_torch_backend_matches_numpy(small_items, small_population):
    pytest.importorskip("torch")
    res = []
    for backend in ("numpy", "torch"):
        w = World(small_items, small_population, n_users=32, seed=4, config=WorldConfig(backend=backend, device="cpu"))
        w.reset()
        res.append((run(w, 20, 1), run(w, 5, 2, slate=3), w.expected_rewards()))
    (a, sa, ea), (b, sb, eb) = res
    for x, y in zip(a + sa, b + sb):
        np.testing.assert_array_equal(x[0], y[0])  # kinds
        np.testing.assert_allclose(x[2], y[2], atol=1e-5)
        np.testing.assert_allclose(x[3], y[3], atol=1e-5)
        np.testing.assert_array_equal(x[4], y[4])
    np.testing.assert_allclose(ea, eb, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_copied_or_pickled_world_steps_like_the_original(small_items, small_population, backend):
    """The runner deep-copies one pristine world per cell (and Ray pickles); the torch backend
    once held the torch module, which cannot be copied."""
    import copy
    import pickle

    if backend == "torch":
        pytest.importorskip("torch")
    w = World(small_items, small_population, n_users=16, seed=4, config=WorldConfig(backend=backend))
    copies = [copy.deepcopy(w), pickle.loads(pickle.dumps(w))]
    outs = []
    for world in [w] + copies:
        world.reset(seed=9)
        outs.append(run(world, 10, 1))
    for other in outs[1:]:
        for x, y in zip(outs[0], other):
            for a, b in zip(x, y):
                np.testing.assert_array_equal(a, b)


def test_copies_share_the_read_only_item_geometry(small_items, small_population):
    """Deep copies share the build-time arrays (a 100k-item world is GiBs of them), which are
    read-only; adding items to a copy rebinds its own arrays and leaves the original alone."""
    import copy

    w = World(small_items, small_population, n_users=8, seed=4)
    twin = copy.deepcopy(w)
    assert twin._tables is w._tables and twin._catalog_vectors is w._catalog_vectors
    assert not w._catalog_vectors.flags.writeable
    for name in w._tables._FROZEN:
        value = getattr(w._tables, name)
        for arr in value if isinstance(value, tuple) else (value,):
            assert arr is None or not arr.flags.writeable, name
    assert small_population.theta.flags.writeable  # the population's own arrays are left alone
    assert twin._gram_cache.items is w._gram_cache.items and not w._gram_cache.items.flags.writeable
    assert twin._gram_cache.column_of is not w._gram_cache.column_of  # the cache grows: each copy has its own
    with pytest.raises(ValueError, match="read-only"):
        w._tables.pop_cosines[0, 0] = 1.0
    fresh = World(small_items, small_population, n_users=8, seed=4)
    twin.add_items(np.random.default_rng(1).normal(size=(3, small_items.shape[1])))
    assert twin.n_items == w.n_items + 3 and w._tables.pop_cosines.shape == fresh._tables.pop_cosines.shape
    for world in (w, fresh):
        world.reset(seed=5)
    for x, y in zip(run(w, 6, 1), run(fresh, 6, 1)):
        for a, b in zip(x, y):
            np.testing.assert_array_equal(a, b)


def _non_candidate_max(w):
    """Max base utility κ·θ·x + b over each row's non-candidate items, recomputed from θ."""
    kappa, ib, top = (w.be.to_numpy(a) for a in (w._kappa, w._tables.item_bias, w._candidates.items))
    base = kappa[:, None] * (w.theta() @ w.item_vectors.T) + ib[None, :]
    others = np.ones(base.shape, dtype=bool)
    np.put_along_axis(others, top, False, axis=1)
    return np.where(others, base, -np.inf).max(1), base


@pytest.fixture(params=["cached", "direct"])
def gram(request, monkeypatch):
    """Drift's Gram entries from the column cache, or computed directly (as for catalogs whose
    columns would pass the cache's byte budget: a budget of 0 forces it here)."""
    if request.param == "direct":
        monkeypatch.setattr("banditsim.envs.world.gram_cache._GRAM_CACHE_BYTES", 0)
    return request.param


def _check_gram_mode(w, gram):
    assert (w._gram_cache.cols is None) == (gram == "direct")


@pytest.mark.parametrize("actions", ["random", "best"])
def test_incremental_drift_state_equals_recomputation(small_items, small_population, actions, gram):
    # strong drift so that candidate values and the bound move a lot between full scans
    cfg = WorldConfig(drift=Drift(rate=0.2), candidates=6)
    w = World(small_items, small_population, n_users=700, seed=5, config=cfg)  # > one θ block
    w.reset()
    _check_gram_mode(w, gram)
    rng = np.random.default_rng(1)
    x = w.item_vectors
    for _ in range(30):
        a = rng.integers(w.n_items, size=700) if actions == "random" else w.best_items()[0]
        er = w.expected_rewards()
        r = w.step(a)
        np.testing.assert_allclose(r.expected_reward_chosen, er[np.arange(700), a], atol=1e-5)
        th = w.theta()
        # candidate cosines (moved by Gram entries) equal θ·x recomputed
        np.testing.assert_allclose(w._candidates.cosines, np.take_along_axis(th @ x.T, w._candidates.items, 1), atol=1e-5)
        base_c = w._kappa[:, None] * w._candidates.cosines + w._tables.item_bias[w._candidates.items]
        np.testing.assert_allclose(np.where(w._candidates.allowed, base_c, -np.inf), w._candidates.base, atol=1e-6)
        # the cheap bound and the hull bound really bound every non-candidate item
        other_max, _ = _non_candidate_max(w)
        assert (other_max <= w._others_bound_now() + 1e-5).all()
    assert w.n_full_scans < 700 * 30


def test_hull_bound_is_a_bound(small_items, small_population):
    cfg = WorldConfig(drift=Drift(rate=0.3), candidates=5)
    w = World(small_items, small_population, n_users=300, seed=2, config=cfg)
    w.reset()
    rng = np.random.default_rng(3)
    for _ in range(20):
        w.step(rng.integers(w.n_items, size=300))
        other_max, _ = _non_candidate_max(w)
        # a 'best' just below the true non-candidate max must never be declared exact
        kth = other_max + w._user_bias - 1e-4
        assert not w._split_bound_holds(np.arange(300), kth).any()


def test_small_products_equal_matmul(small_items, small_population):
    w = World(small_items, small_population, n_users=5, seed=0, config=WorldConfig(drift=Drift(rate=0.3)))
    w.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):
        w.step(rng.integers(w.n_items, size=5))
    th = w.theta()
    for rows in ([0], [0, 1], [1, 3, 4], [0, 1, 2, 3, 4]):
        np.testing.assert_allclose(w._times_xt(np.array(rows)), th[rows] @ w.item_vectors.T, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_add_items_to_a_catalog_smaller_than_the_candidate_list(small_items, small_population, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    # 20 items < 32 candidates: adding items grows the candidate lists (was a shape mismatch)
    from banditsim.envs.clusters import cluster_population

    items = small_items[:20]
    pop = cluster_population(items, 30, n_clusters=3, seed=1)
    w = World(items, pop, n_users=12, seed=0, config=WorldConfig(backend=backend, drift=Drift(rate=0.2)))
    w.reset()
    rng = np.random.default_rng(4)
    w.step(rng.integers(20, size=12))
    idx = w.add_items(np.random.default_rng(9).normal(size=(25, 16)))
    assert idx.tolist() == list(range(20, 45))
    for _ in range(10):
        er = w.expected_rewards()
        best = np.where(w._observation().mask, er, -np.inf).max(1)
        a = rng.integers(w.n_items, size=12)
        r = w.step(a)
        np.testing.assert_allclose(r.best_expected_reward, best, atol=1e-5)
        np.testing.assert_allclose(r.expected_reward_chosen, er[np.arange(12), a], atol=1e-5)


def _low_rank_population(items, n_users=40, rank=5, seed=0):
    """A cluster population whose tastes are projected onto a rank-``rank`` subspace."""
    from dataclasses import replace

    from banditsim.envs.clusters import cluster_population
    from banditsim.envs.population import unit_rows

    pop = cluster_population(items, n_users, n_clusters=5, seed=seed)
    u = np.linalg.svd(pop.theta.astype(np.float64), full_matrices=False)[2][:rank].T
    return replace(pop, theta=unit_rows(pop.theta @ u @ u.T)), u


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_drift_in_the_tastes_span_is_exact_and_stays_in_the_span(small_items, backend, gram):
    if backend == "torch":
        pytest.importorskip("torch")
    pop, u = _low_rank_population(small_items)
    cfg = WorldConfig(drift=Drift(rate=0.2, basis="tastes"), candidates=6, backend=backend)
    w = World(small_items, pop, n_users=300, seed=5, config=cfg)
    w.reset()
    _check_gram_mode(w, gram)
    assert w._tables.items.shape[1] == 5  # tastes and items in the 5 coordinates of the tastes' span
    rng = np.random.default_rng(1)
    x = w.item_vectors
    before = w.theta()
    for _ in range(20):
        a = rng.integers(w.n_items, size=300)
        er = w.expected_rewards()
        best = np.where(w._observation().mask, er, -np.inf).max(1)
        r = w.step(a)
        np.testing.assert_allclose(r.expected_reward_chosen, er[np.arange(300), a], atol=1e-5)
        np.testing.assert_allclose(r.best_expected_reward, best, atol=1e-5)
        other_max, _ = _non_candidate_max(w)
        assert (other_max <= w.be.to_numpy(w._others_bound_now()) + 1e-5).all()
    th = w.theta()
    moved = np.abs(th - before).max(1) > 1e-4
    assert moved.mean() > 0.3
    np.testing.assert_allclose(th, th @ u @ u.T, atol=1e-5)  # still in the span
    np.testing.assert_allclose(np.linalg.norm(th, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(w._cosine_matrix, th @ x.T, atol=1e-5)


def test_drift_in_the_tastes_span_pulls_toward_the_projected_item(small_items):
    pop, u = _low_rank_population(small_items)
    cfg = WorldConfig(**{**OFF, "drift": Drift(rate=0.3, basis="tastes")})
    w = World(small_items, pop, n_users=400, seed=0, config=cfg)
    w.reset()
    before = w.theta()
    r = w.step(np.full(400, 11))
    moved = r.kind > NEUTRAL
    px = u @ (u.T @ w.item_vectors[11])
    # the taste keeps its part along the catalog's direction c (in the span); the rest is pulled (Drift)
    c = u @ (u.T @ w.item_vectors.mean(0))
    c /= np.linalg.norm(c)
    a = before[moved] @ c
    perp = before[moved] - a[:, None] * c + 0.3 * (px - (px @ c) * c)
    expect = a[:, None] * c + np.sqrt(1 - a * a)[:, None] * perp / np.linalg.norm(perp, axis=1, keepdims=True)
    np.testing.assert_allclose(w.theta()[moved], expect, atol=1e-5)


def test_full_rank_tastes_make_both_drift_bases_the_same(small_items, small_population):
    out = []
    for basis in ("full", "tastes"):
        w = World(small_items, small_population, n_users=32, seed=4, config=WorldConfig(drift=Drift(basis=basis)))
        w.reset()
        out.append((run(w, 15, 1), w.theta()))
    for x, y in zip(out[0][0], out[1][0]):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(out[0][1], out[1][1])
