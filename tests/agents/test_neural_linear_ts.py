"""neural_linear_ts (issue #18 goal 5): propensities drawn only when read, from the net and posterior
the agent acted with; the estimate is monte_carlo_propensities' over those draws; the grouped
feature products equal the per-pair net; the last layer's factor samples its posterior."""

import copy
import pickle

import numpy as np
import pytest
import torch
from scipy import stats

import banditsim.agents._neural.draws as neural_draws
import banditsim.agents._neural.net as neural_net
from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents._neural.net import RowLayout, Weights, all_item_features, pair_features
from banditsim.agents.neural_linear_ts import NeuralLinearTSAgent

torch.set_num_threads(1)
SMALL = {"hidden_size": 8, "retrain_every": 8, "n_train_steps": 2, "buffer_size": 64, "n_propensity_draws": 64}


def _play(agent, steps, rng, items=None, n_rows=4, mask=False, read_now=False):
    """Act and learn ``steps`` times; returns the decisions (read at once when ``read_now``)."""
    decisions = []
    for _ in range(steps):
        m = None
        if mask:
            m = rng.random((n_rows, agent.n_arms)) < 0.6
            m[:, 0] = True
        ctx = Context(features=rng.normal(size=(n_rows, 3)), arm_features=items, mask=m,
                      replica=np.arange(n_rows) % agent.n_replicas)
        d = agent.act(ctx)
        if read_now:
            d.propensities, d.probabilities
        agent.update(ctx, d, Feedback(reward=rng.normal(size=n_rows)))
        decisions.append(d)
    return decisions


@pytest.mark.parametrize("slate_size", [1, 2])
@pytest.mark.parametrize("mask", [False, True])
def test_a_late_read_equals_a_read_at_once_and_reading_never_changes_the_actions(mask, slate_size):
    """Bit-identical: the same seed gives the same propensities (and probabilities) whether they are
    read right after each act or at the end, in reverse order, after retrains (every 2 steps here)
    and updates; and the same actions as a run that never reads them."""
    items = np.random.default_rng(5).normal(size=(7, 4))
    runs = []
    for read_now in (True, False, None):
        agent = make_agent("neural_linear_ts", 7, n_replicas=2, random_state=3, slate_size=slate_size, **SMALL)
        runs.append(_play(agent, 9, np.random.default_rng(0), items, mask=mask, read_now=bool(read_now)))
    now, late, unread = runs
    for d_now, d_late, d_unread in zip(now, late, unread):
        np.testing.assert_array_equal(d_now.actions, d_unread.actions)
        np.testing.assert_array_equal(d_now.actions, d_late.actions)
    for d_now, d_late in reversed(list(zip(now, late))):
        np.testing.assert_array_equal(d_late.propensities, d_now.propensities)
        if slate_size == 1:
            np.testing.assert_array_equal(d_late.probabilities, d_now.probabilities)
        p = d_late.propensities
        assert np.all((p > 0) & (p <= 1))


def test_propensities_are_drawn_only_when_read_and_once(monkeypatch):
    calls = []
    real = neural_draws.single_item_counts
    monkeypatch.setattr(neural_draws, "single_item_counts", lambda *a: calls.append(1) or real(*a))
    agent = make_agent("neural_linear_ts", 5, random_state=0, **SMALL)
    decisions = _play(agent, 6, np.random.default_rng(1))
    assert calls == []  # acting and learning draw none
    decisions[2].propensities, decisions[2].probabilities, decisions[2].propensities
    assert calls == [1]


@pytest.mark.parametrize("draw_chunk", [None, 54, 1000])
def test_propensities_are_the_monte_carlo_estimate_over_the_frozen_draws(monkeypatch, draw_chunk):
    """Rebuild the propensity draws in float64 from the act's features, mean and factor and the seed
    the agent drew from its propensity stream: (1 + hits) / (1 + n) and the item frequencies must
    equal the agent's, winner for winner (masked items never win); also when the products are made
    a few draws at a time (``draw_chunk`` score elements: 1 draw, 18 draws and a short last chunk)."""
    if draw_chunk is not None:
        monkeypatch.setattr(neural_draws, "_DRAW_CHUNK", draw_chunk)
    rng = np.random.default_rng(2)
    items = rng.normal(size=(9, 4))
    agent = make_agent("neural_linear_ts", 9, n_replicas=2, random_state=1, **{**SMALL, "n_propensity_draws": 300})
    _play(agent, 5, rng, items)
    mask = rng.random((6, 9)) < 0.5
    mask[:, 3] = True
    ctx = Context(features=rng.normal(size=(6, 3)), arm_features=items, mask=mask, replica=np.array([0, 1, 1, 0, 1, 1]))
    seed = int(copy.deepcopy(agent._propensity_rng()).integers(2**62))
    d = agent.act(ctx)
    frozen = agent._last_act._frozen
    feats = frozen.features().double().numpy()
    mean, factor = frozen.mean.double().numpy(), frozen.factor.double().numpy()
    group = np.unique(ctx.replica, return_inverse=True)[1]
    gen, n = neural_draws.generator(seed, "cpu"), agent.n_propensity_draws
    hits, counts = np.zeros(6), np.zeros((6, 9))
    for lo, hi in neural_draws.row_blocks(6, 9, n):
        z = frozen.normals(n, hi - lo, gen).double().numpy()  # (n, b, H+1)
        theta = mean[group[lo:hi]] + agent.noise_std * np.einsum("bfg,nbg->nbf", factor[group[lo:hi]], z)
        scores = np.where(mask[lo:hi], np.einsum("bkf,nbf->nbk", feats[lo:hi], theta), -np.inf)
        best = scores.argmax(axis=2)
        hits[lo:hi] = (best == d.actions[lo:hi]).sum(axis=0)
        for b in range(hi - lo):
            counts[lo + b] = np.bincount(best[:, b], minlength=9)
    counts[np.arange(6), d.actions] += 1
    np.testing.assert_array_equal(d.propensities, (1 + hits) / (1 + n))
    np.testing.assert_array_equal(d.probabilities, counts / (1 + n))
    assert np.all(d.probabilities[~mask] == 0) and np.allclose(d.probabilities.sum(axis=1), 1.0)


def test_two_arm_propensity_matches_the_gaussian_win_probability():
    """Two items: s_0 − s_1 = (f_0 − f_1)·θ is Gaussian under the last layer's posterior, so
    P(item 0 wins) = Φ(m / sd) exactly; the lazy estimate from 4,000 draws must agree (4.5 SE)."""
    rng = np.random.default_rng(4)
    agent = make_agent("neural_linear_ts", 2, random_state=2, hidden_size=6, retrain_every=10, n_train_steps=3,
                       n_propensity_draws=4000, noise_std=0.7)
    for _ in range(4):  # 20 noisy rewards, one retrain: a posterior that still hesitates
        ctx = Context(features=rng.normal(size=(5, 2)))
        d = agent.act(ctx)
        agent.update(ctx, d, Feedback(reward=np.where(d.actions == 0, 0.1, 0.0) + rng.normal(size=5)))
    ctx = Context(features=rng.normal(size=(3, 2)))
    d = agent.act(ctx)
    with torch.no_grad():
        f = agent._features(*agent._inputs(agent._resolve(ctx))).double().numpy()
    mean, factor = agent._mean[0].double().numpy(), agent._factor[0].double().numpy()
    diff = f[:, 0] - f[:, 1]
    exact = stats.norm.cdf(diff @ mean / (0.7 * np.linalg.norm(diff @ factor, axis=1)))
    got = d.probabilities[:, 0]
    se = np.sqrt(exact * (1 - exact) / 4000) + 1e-3
    assert np.all(np.abs(got - exact) < 4.5 * se), (got, exact)
    assert 0.02 < exact.min() and exact.max() < 0.98  # informative: neither item is certain


def _weights(r, du, di, h, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Weights(*(torch.randn(*s, generator=g) for s in ((r, du, h), (r, di, h), (r, h), (r, h, h), (r, h))))


@pytest.mark.parametrize("rep", [
    [0, 0, 0, 0, 0],                      # one replica: plain products
    [2, 0, 1, 3, 4],                      # one row per replica, shuffled
    [1, 0, 1, 0, 2, 2],                   # balanced groups, padded block
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],  # unbalanced: one weight copy per row
])
@pytest.mark.parametrize("one_hot", [False, True])
@pytest.mark.parametrize("hidden_chunk", [None, 36, 80])
def test_grouped_features_equal_the_per_pair_net(monkeypatch, rep, one_hot, hidden_chunk):
    """Also with one replica's hidden layer made one row (36 values) or two rows (80) at a time."""
    if hidden_chunk is not None:
        monkeypatch.setattr(neural_net, "_HIDDEN_CHUNK", hidden_chunk)
    rep = np.array(rep)
    n_rows, k, du, h = rep.size, 6, 3, 5
    di = k if one_hot else 4
    w = _weights(5, du, di, h)
    x = torch.randn(n_rows, du, generator=torch.Generator().manual_seed(1))
    items = torch.eye(k) if one_hot else torch.randn(k, di, generator=torch.Generator().manual_seed(2))
    got = all_item_features(w, x, None if one_hot else items, RowLayout(rep))
    ref = torch.empty(n_rows, k, h + 1)
    for b in range(n_rows):  # the net written out for one pair at a time
        r = rep[b]
        for j in range(k):
            h1 = torch.relu(x[b] @ w.w_user[r] + items[j] @ w.w_item[r] + w.b1[r])
            ref[b, j] = torch.cat([torch.relu(h1 @ w.w2[r] + w.b2[r]), torch.ones(1)])
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    arms = torch.arange(n_rows) % k
    pairs = pair_features(w, x, arms if one_hot else items[arms], RowLayout(rep))
    torch.testing.assert_close(pairs, ref[torch.arange(n_rows), arms], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("replica", [[0, 1, 1, 2, 1, 1], [0] * 10 + [1, 2]])
def test_every_replica_learns_its_own_rows_ridge_posterior(replica):
    """Rows of several replicas in one update (padded groups, and the unbalanced layout): replica
    r's precision is ridge·I + Σ ffᵀ and its mean Σ·Σ f·y over its own rows (float64 reference)."""
    rng = np.random.default_rng(6)
    replica = np.array(replica)
    items = rng.normal(size=(5, 3))
    agent = NeuralLinearTSAgent(5, n_replicas=3, hidden_size=6, ridge=0.8, retrain_every=10_000, random_state=0,
                                n_propensity_draws=8)
    xs, arms, ys = [], [], []
    for _ in range(3):
        ctx = Context(features=rng.normal(size=(replica.size, 2)), arm_features=items, replica=replica)
        d = agent.act(ctx)
        y = rng.normal(size=replica.size)
        agent.update(ctx, d, Feedback(reward=y))
        xs.append(ctx.features), arms.append(d.actions), ys.append(y)
    x, a, y, rep = np.concatenate(xs), np.concatenate(arms), np.concatenate(ys), np.tile(replica, 3)
    with torch.no_grad():
        f32 = lambda v: torch.as_tensor(v, dtype=torch.float32)
        f = agent._pair_features(f32(x), f32(items[a]), rep).double().numpy()
    for r in range(3):
        fr, yr = f[rep == r], y[rep == r]
        precision = 0.8 * np.eye(f.shape[1]) + fr.T @ fr
        np.testing.assert_allclose(agent._precision[r].double().numpy(), precision, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(agent._mean[r].double().numpy(), np.linalg.solve(precision, fr.T @ yr), atol=2e-4)
        factor = agent._factor[r].double().numpy()
        np.testing.assert_allclose(factor @ factor.T, np.linalg.inv(precision), atol=2e-5)


def test_a_pickled_agent_continues_the_same_way():
    """The caches (item tensor, last act's features) are not pickled; the copy acts as the original."""
    items = np.random.default_rng(0).normal(size=(6, 3))
    items.setflags(write=False)
    agent = make_agent("neural_linear_ts", 6, random_state=0, **SMALL)
    _play(agent, 3, np.random.default_rng(1), items)
    twin = pickle.loads(pickle.dumps(agent))
    a, b = (_play(ag, 4, np.random.default_rng(2), items) for ag in (agent, twin))
    for da, db in zip(a, b):
        np.testing.assert_array_equal(da.actions, db.actions)
        np.testing.assert_array_equal(da.propensities, db.propensities)


def test_an_item_matrix_changed_in_place_is_seen():
    """A writable item matrix is converted again on every call (the caller may have changed it);
    only a read-only array that owns its data is converted once."""
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    shared = first.copy()
    runs = []
    for mutate in (True, False):
        agent = make_agent("neural_linear_ts", 5, random_state=0, **SMALL)
        ctx_rng = np.random.default_rng(4)
        out = []
        for step in range(4):
            if step == 2:
                shared[:] = second  # in place: the same array object, new contents
            items = shared if mutate else (first if step < 2 else second).copy()
            ctx = Context(features=ctx_rng.normal(size=(3, 3)), arm_features=items)
            d = agent.act(ctx)
            agent.update(ctx, d, Feedback(reward=ctx_rng.normal(size=3)))
            out.append((d.actions, d.propensities))
        runs.append(out)
    for (a1, p1), (a2, p2) in zip(*runs):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(p1, p2)
