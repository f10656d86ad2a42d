"""Agents for drifting tastes (issue #21 item 3): discounted Beta/Gaussian TS, sliding-window UCB,
discounted LinUCB/LinTS.

γ = 1 (and a window longer than the run) must be the stationary agent; γ < 1 must follow the
stated rule, checked against a from-scratch reference; and on a small seeded bandit the forgetting
agents must beat their stationary versions when the arms switch abruptly and lose little when
nothing changes.
"""

from __future__ import annotations

import numpy as np
import pytest
from agent_cases import ARM_FEATURES, N_ARMS, make_context

from banditsim.agents import Context, Feedback, make_agent



@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread, as the simulator's cells run (many threads on a loaded 2-core machine make a
    20 × 20 LAPACK call ~1000× slower)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


DYADIC = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # exact in binary: sums do not depend on their order


def _play_pair(a, b, steps=12, n_rows=24, n_replicas=3, k=1, mask_every=2, features=False, seed=0):
    """Feed two agents the same acts and answers; assert the same actions, propensities and probabilities."""
    rng = np.random.default_rng(seed)
    for step in range(steps):
        mask = None
        if step % mask_every == 1:
            mask = rng.random((n_rows, N_ARMS)) < 0.7
            mask[:, :k] = True
        replica = rng.integers(0, n_replicas, n_rows)
        replica[0] = step % n_replicas  # some steps miss a replica
        ctx = make_context(n_rows, rng, replica=replica, mask=mask) if features else Context(replica=replica, mask=mask)
        da, db = a.act(ctx), b.act(ctx)
        np.testing.assert_array_equal(da.actions, db.actions)
        np.testing.assert_array_equal(da.propensities, db.propensities)
        if da.probabilities is not None:
            np.testing.assert_array_equal(da.probabilities, db.probabilities)
        reward = rng.choice(DYADIC, n_rows)
        position = rng.integers(-1, k, n_rows) if k > 1 else None
        fb = Feedback(reward=reward, kind=np.where(reward > 0, 5, 2), position=position)
        a.update(ctx, da, fb)
        b.update(ctx, db, fb)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("name,params", [
    ("beta_ts", {"n_propensity_draws": 16}),
    ("beta_ts", {"n_propensity_draws": 16, "binarize": True, "reward_range": (-1.0, 1.0)}),
    ("gaussian_ts", {"n_propensity_draws": 16, "noise_std": 0.7}),
])
def test_gamma_one_is_the_stationary_agent_bit_for_bit(name, params, k):
    stationary = make_agent(name, N_ARMS, n_replicas=3, slate_size=k, random_state=7, **params)
    discounted = make_agent(f"discounted_{name}", N_ARMS, n_replicas=3, slate_size=k, random_state=7, gamma=1.0,
                            **params)
    _play_pair(stationary, discounted, k=k)
    for key in ("alpha", "beta"):
        if hasattr(stationary, key):
            np.testing.assert_array_equal(getattr(stationary, key), getattr(discounted, key))


def test_gamma_one_beta_ts_keeps_the_lazy_sampler_bit_for_bit():
    """A big act (one replica, many users, many arms) takes beta_ts's lazy exact sampler: γ = 1 too."""
    n_arms = 400
    a = make_agent("beta_ts", n_arms, random_state=3, n_propensity_draws=64)
    b = make_agent("discounted_beta_ts", n_arms, random_state=3, n_propensity_draws=64, gamma=1.0)
    rng = np.random.default_rng(1)
    for _ in range(4):
        ctx = Context(n_rows=300)
        da, db = a.act(ctx), b.act(ctx)
        np.testing.assert_array_equal(da.actions, db.actions)
        np.testing.assert_array_equal(da.propensities, db.propensities)
        win = (rng.random(300) < 0.3).astype(float)
        a.update(ctx, da, Feedback(reward=win))
        b.update(ctx, db, Feedback(reward=win))
    assert a._pool is not None and b._pool is not None


@pytest.mark.parametrize("mode", ["disjoint", "shared"])
@pytest.mark.parametrize("name,params", [("linucb", {"alpha": 0.7}), ("lin_ts", {"n_propensity_draws": 16, "noise_std": 0.5})])
def test_gamma_one_is_the_stationary_linear_agent(name, params, mode):
    stationary = make_agent(name, N_ARMS, n_replicas=3, random_state=4, mode=mode, **params)
    discounted = make_agent(f"discounted_{name}", N_ARMS, n_replicas=3, random_state=4, mode=mode, gamma=1.0,
                            **params)
    _play_pair(stationary, discounted, features=True)
    np.testing.assert_allclose(discounted.posterior.mean, stationary.posterior.mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(discounted.posterior.cov, stationary.posterior.cov, rtol=0, atol=1e-9)


def _steps(rng, n_steps=6, n_rows=10, n_replicas=3, slates=False):
    """Random update batches; replica 2 sits out step 2, and in step 4 its only rows are unanswered."""
    out = []
    for step in range(n_steps):
        replica = rng.integers(0, n_replicas, n_rows)
        if step == 2:
            replica[replica == 2] = 0
        arms = rng.integers(0, N_ARMS, n_rows)
        position = None
        if slates:
            position = np.zeros(n_rows, dtype=np.int64)
            if step == 4:
                position[replica == 2] = -1
        out.append((make_context(n_rows, rng, replica=replica), arms, rng.choice(DYADIC, n_rows), position))
    return out


def _answered_ages(batches, n_replicas=3):
    """For each batch and row: how many later steps of its replica (calls where it had an answered row)."""
    answered = [np.unique(c.replica if p is None else c.replica[p >= 0]) for c, _, _, p in batches]
    ages = []
    for i, (c, _, _, _) in enumerate(batches):
        later = np.zeros(n_replicas, dtype=int)
        for reps in answered[i + 1:]:
            later[reps] += 1
        ages.append(later[c.replica])
    return ages


@pytest.mark.parametrize("name", ["discounted_beta_ts", "discounted_gaussian_ts"])
def test_discounted_counts_follow_the_rule(name):
    gamma = 0.8
    rng = np.random.default_rng(3)
    params = {"reward_range": (-1.0, 1.0)} if name == "discounted_beta_ts" else {"noise_std": 1.0}
    agent = make_agent(name, N_ARMS, n_replicas=3, slate_size=2, gamma=gamma, **params)
    batches = _steps(rng, slates=True)
    counts, sums = np.zeros((3, N_ARMS)), np.zeros((3, N_ARMS))
    for (ctx, arms, reward, position), age in zip(batches, _answered_ages(batches)):
        slate = np.stack([arms, (arms + 1) % N_ARMS], axis=1)
        agent.update(ctx, slate, Feedback(reward=reward, position=position))
        keep = position >= 0
        w = gamma ** age[keep]
        value = (reward[keep] + 1.0) / 2.0 if name == "discounted_beta_ts" else reward[keep]
        np.add.at(counts, (ctx.replica[keep], arms[keep]), w)
        np.add.at(sums, (ctx.replica[keep], arms[keep]), w * value)
    if name == "discounted_beta_ts":
        np.testing.assert_allclose(agent.alpha, 1.0 + sums, rtol=1e-12)
        np.testing.assert_allclose(agent.beta, 1.0 + counts - sums, rtol=1e-12)
    else:
        mean, std = agent.posterior(np.arange(3))
        np.testing.assert_allclose(std, 1.0 / np.sqrt(1.0 + counts), rtol=1e-12)
        np.testing.assert_allclose(mean, sums / (1.0 + counts), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["disjoint", "shared"])
@pytest.mark.parametrize("name", ["discounted_linucb", "discounted_lin_ts"])
def test_discounted_linear_statistics_follow_the_rule(name, mode):
    """A = λI + Σ γ^age φφᵀ, b = Σ γ^age y·φ, μ = A⁻¹b, Σ = A⁻¹ (ages in the replica's steps)."""
    gamma, ridge = 0.7, 0.5
    rng = np.random.default_rng(8)
    agent = make_agent(name, N_ARMS, n_replicas=3, gamma=gamma, ridge=ridge, mode=mode, arm_dim=None)
    batches = _steps(rng)
    z = np.c_[ARM_FEATURES, np.ones(N_ARMS)]
    n_models = N_ARMS if mode == "disjoint" else 1
    dim = 4 if mode == "disjoint" else 4 * 3
    a = np.broadcast_to(ridge * np.eye(dim), (3, n_models, dim, dim)).copy()
    b = np.zeros((3, n_models, dim))
    for (ctx, arms, reward, _), age in zip(batches, _answered_ages(batches)):
        agent.update(ctx, arms, Feedback(reward=reward))
        x = np.c_[ctx.features, np.ones(ctx.n_rows)]
        phi = x if mode == "disjoint" else np.einsum("bi,bj->bij", x, z[arms]).reshape(ctx.n_rows, -1)
        model = arms if mode == "disjoint" else np.zeros_like(arms)
        w = gamma ** age
        np.add.at(a, (ctx.replica, model), w[:, None, None] * phi[:, :, None] * phi[:, None, :])
        np.add.at(b, (ctx.replica, model), (w * reward)[:, None] * phi)
    cov = np.linalg.inv(a)
    mean = np.einsum("rkij,rkj->rki", cov, b)
    post = agent.posterior
    if mode == "shared":
        cov, mean = cov[:, 0], mean[:, 0]
    np.testing.assert_allclose(post.mean, mean, atol=1e-9)
    np.testing.assert_allclose(post.cov, cov, atol=1e-9)


def test_sliding_window_ucb_is_ucb1_on_the_last_window_steps():
    """Window w after many steps: the same index (hence actions and propensities) as a fresh UCB1
    fed only the last w steps; a window longer than the run is UCB1 itself."""
    rng = np.random.default_rng(2)
    window, n_rep = 4, 2
    sw = make_agent("sliding_window_ucb", N_ARMS, window=window, n_replicas=n_rep, c=0.8)
    long = make_agent("sliding_window_ucb", N_ARMS, window=50, n_replicas=n_rep, c=0.8)
    ucb_all = make_agent("ucb1", N_ARMS, n_replicas=n_rep, c=0.8)
    history = []
    for step in range(11):
        replica = rng.integers(0, n_rep, 7)
        replica[0] = step % n_rep
        ctx = Context(replica=replica)
        arms, reward = rng.integers(0, N_ARMS, 7), rng.choice(DYADIC, 7)
        for agent in (sw, long, ucb_all):
            agent.update(ctx, arms, Feedback(reward=reward))
        history.append((replica, arms, reward))
    probe = Context(replica=np.repeat(np.arange(n_rep), 3))
    for r in range(n_rep):
        fresh = make_agent("ucb1", N_ARMS, n_replicas=n_rep, c=0.8)
        mine = [(rep, arm, rew) for rep, arm, rew in history if (rep == r).any()][-window:]
        for rep, arm, rew in mine:
            keep = rep == r
            fresh.update(Context(replica=rep[keep]), arm[keep], Feedback(reward=rew[keep]))
        rows = sw._resolve(Context(replica=np.full(3, r)))
        np.testing.assert_array_equal(sw._index(rows), fresh._index(rows))
    for agent in (long, ucb_all):
        agent.reseed(5)
    a, b = long.act(probe), ucb_all.act(probe)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.propensities, b.propensities)


# ----------------------------------------------------------------------------- direction checks
BEFORE = np.array([0.8, 0.6, 0.5, 0.4, 0.2])


def bernoulli_regret(name, switch, n_seeds=12, steps=600, users=4, **params):
    """Cumulative regret per seed (seeds are replicas) on 5 Bernoulli arms whose order reverses at
    half time when ``switch`` (the best arm becomes the worst)."""
    rng = np.random.default_rng(0)
    agent = make_agent(name, 5, n_replicas=n_seeds, random_state=0, **params)
    replica = np.repeat(np.arange(n_seeds), users)
    regret = np.zeros(n_seeds)
    for t in range(steps):
        means = BEFORE[::-1] if (switch and t >= steps // 2) else BEFORE
        ctx = Context(replica=replica)
        a = agent.act(ctx).actions
        win = rng.random(a.size) < means[a]
        regret += np.bincount(replica, means.max() - means[a], minlength=n_seeds)
        agent.update(ctx, a, Feedback(reward=win.astype(float), kind=np.where(win, 5, 3)))
    return regret


def linear_regret(name, switch, n_seeds=10, steps=300, users=4, n_arms=4, dim=3, **params):
    """Cumulative regret per seed of a disjoint linear bandit whose weights flip sign at half time;
    ``mode='shared'`` agents see one-hot item embeddings (the same model through x ⊗ z)."""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(n_seeds, n_arms, dim)) / np.sqrt(dim)
    agent = make_agent(name, n_arms, n_replicas=n_seeds, random_state=0, **params)
    replica = np.repeat(np.arange(n_seeds), users)
    regret = np.zeros(n_seeds)
    items = np.eye(n_arms)
    for t in range(steps):
        th = -theta if (switch and t >= steps // 2) else theta
        x = rng.normal(size=(replica.size, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        expected = np.einsum("bkd,bd->bk", th[replica], x)
        ctx = Context(features=x, arm_features=items, replica=replica)
        a = agent.act(ctx).actions
        chosen = expected[np.arange(a.size), a]
        regret += np.bincount(replica, expected.max(1) - chosen, minlength=n_seeds)
        agent.update(ctx, a, Feedback(reward=chosen + 0.3 * rng.normal(size=a.size)))
    return regret


DRIFT_PAIRS = [
    ("bernoulli", "beta_ts", "discounted_beta_ts", {"n_propensity_draws": 4}, {"gamma": 0.99}),
    ("bernoulli", "gaussian_ts", "discounted_gaussian_ts", {"n_propensity_draws": 4}, {"gamma": 0.99}),
    ("bernoulli", "ucb1", "sliding_window_ucb", {"c": 0.3}, {"window": 150}),
    ("linear", "linucb", "discounted_linucb", {"alpha": 0.5}, {"gamma": 0.98}),
    ("linear", "lin_ts", "discounted_lin_ts", {"n_propensity_draws": 4, "noise_std": 0.3}, {"gamma": 0.98}),
    ("linear", "linucb", "discounted_linucb", {"alpha": 0.5, "mode": "shared", "arm_dim": None}, {"gamma": 0.98}),
]


@pytest.mark.parametrize("world,stationary,forgetting,params,extra", DRIFT_PAIRS,
                         ids=[f"{p[2]}-{p[3].get('mode', 'disjoint')}" for p in DRIFT_PAIRS])
def test_forgetting_beats_stationary_under_drift_and_loses_little_without(world, stationary, forgetting, params,
                                                                          extra):
    regret = bernoulli_regret if world == "bernoulli" else linear_regret
    drift_old, drift_new = regret(stationary, True, **params), regret(forgetting, True, **params, **extra)
    calm_old, calm_new = regret(stationary, False, **params), regret(forgetting, False, **params, **extra)
    decisions = 600 * 4 if world == "bernoulli" else 300 * 4
    # drift: the forgetting agent's mean regret is at most 60% of the stationary one's
    assert drift_new.mean() < 0.6 * drift_old.mean(), (drift_new.mean(), drift_old.mean())
    # no drift: it pays at most 3% of a decision's worth of regret extra per decision, and
    # less than half of what it saves under drift
    extra_calm = calm_new.mean() - calm_old.mean()
    assert extra_calm < 0.03 * decisions, (calm_new.mean(), calm_old.mean())
    assert extra_calm < 0.5 * (drift_old.mean() - drift_new.mean()), (extra_calm, drift_old.mean(), drift_new.mean())


# ----------------------------------------------------------------------------- validation
BAD = [
    ("discounted_beta_ts", "gamma", 0, "gamma must be in (0, 1], got 0"),
    ("discounted_gaussian_ts", "gamma", 1.5, "gamma must be in (0, 1], got 1.5"),
    ("discounted_linucb", "gamma", -0.2, "gamma must be in (0, 1], got -0.2"),
    ("discounted_lin_ts", "gamma", float("nan"), "gamma must be finite"),
    ("discounted_beta_ts", "gamma", "0.9", "gamma must be a number"),
    ("discounted_lin_ts", "gamma", True, "gamma must be a number"),
    ("sliding_window_ucb", "window", 0, "window must be >= 1, got 0"),
    ("sliding_window_ucb", "window", -3, "window must be >= 1, got -3"),
    ("sliding_window_ucb", "window", 2.5, "window must be an integer"),
    ("sliding_window_ucb", "window", 10**9, "window=1000000000 needs a ring buffer of"),
]


@pytest.mark.parametrize("name,key,value,message", BAD, ids=[f"{n}-{k}={v!r}" for n, k, v, _ in BAD])
def test_bad_parameters_are_one_clear_error(name, key, value, message):
    with pytest.raises(ValueError) as info:
        make_agent(name, N_ARMS, **{key: value})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_bad_parameters_through_the_cli(tmp_path, capsys):
    from tests.reliability.rel_helpers import check_cli_error, tiny_config_text, write_tiny_catalog

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(tiny_config_text(write_tiny_catalog(tmp_path), seeds=1, horizon=3))
    out = tmp_path / "results"
    for name, key, value, message in BAD:
        shown = "'0.9'" if isinstance(value, str) else ("true" if value is True else
                                                        (".nan" if value != value else value))
        check_cli_error(["run", str(cfg), "--out", str(out), "--quiet", "--set",
                         f"agents=[{{name: {name}, params: {{{key}: {shown}}}}}]"],
                        capsys, "drift agent params", f"{name}.{key}={value!r}", expect=f"agent '{name}': {message}",
                        must_not_exist=[out])
