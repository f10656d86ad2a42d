"""Numerical safety (issue #9, item 4): extreme feedback, long horizons, near-collinear items,
huge Beta/Dirichlet counts. Every registered agent, through its public API."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from banditsim.agents import AGENTS, Context, Feedback, make_agent
from banditsim.agents._validation import MAX_ABS_REWARD

DEFAULT_MAP = np.array([-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0])
WIDE_MAP = np.array([-MAX_ABS_REWARD, -1e3, -1.0, 0.0, 1.0, 1e3, MAX_ABS_REWARD])  # the bounds a config allows
CASES = [(name, dict(cls.test_params)) for name, cls in sorted(AGENTS.items())] + [
    ("linucb", {"mode": "shared"}), ("lin_ts", {"mode": "shared", "n_propensity_draws": 16}),
    ("logistic_ts", {"mode": "shared", "n_propensity_draws": 16})]
IDS = [f"{n}-{p.get('mode', 'default')}" for n, p in CASES]
N_ARMS, D_USER = 8, 4
ARM_FEATURES = np.random.default_rng(3).normal(size=(N_ARMS, 6))


def float_state(agent):
    """Every float array of an agent's state (numpy or torch), recursively."""
    import torch

    stack = [vars(agent)]
    while stack:
        for value in stack.pop().values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                yield value
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                yield value.detach().cpu().numpy()
            elif hasattr(value, "__dict__") and type(value).__module__.startswith("agents"):
                stack.append(vars(value))


def check_covariances(agent) -> int:
    """Linear agents: every posterior covariance symmetric, positive definite and finite."""
    post = vars(agent).get("posterior")  # the linear agents' DisjointLinearPosterior / SharedLinearPosterior
    if post is None or not hasattr(post, "cov"):
        return 0
    cov = post.cov.reshape(-1, post.dim, post.dim)
    assert np.isfinite(cov).all()
    scale = np.abs(cov).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(cov / scale, np.swapaxes(cov, 1, 2) / scale, rtol=0, atol=1e-12)
    assert np.linalg.eigvalsh(0.5 * (cov + np.swapaxes(cov, 1, 2))).min() > 0
    return cov.shape[0]


def check_decision(d, n_rows):
    assert d.actions.shape == (n_rows,) and ((d.actions >= 0) & (d.actions < N_ARMS)).all()
    assert np.isfinite(d.propensities).all() and ((d.propensities > 0) & (d.propensities <= 1)).all()


@pytest.mark.parametrize("reward_map", [DEFAULT_MAP, WIDE_MAP], ids=["default-map", "map-at-1e6"])
@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_extreme_feedback_at_the_reward_maps_bounds(name, params, reward_map):
    """The agent acts, and every answer is the map's minimum (block) for 15 steps, then its
    maximum (save) for 15, 300 users a step: decisions stay valid, the state finite, PD."""
    rng = np.random.default_rng(0)
    agent = make_agent(name, N_ARMS, n_replicas=2, random_state=1, kind_values=reward_map.tolist(), **params)
    n = 300
    for step in range(30):
        kind = 0 if step < 15 else 6
        x = rng.normal(size=(n, D_USER))
        ctx = Context(features=x / np.linalg.norm(x, axis=1, keepdims=True), arm_features=ARM_FEATURES,
                      replica=rng.integers(0, 2, n))
        d = agent.act(ctx)
        check_decision(d, n)
        agent.update(ctx, d, Feedback(reward=np.full(n, reward_map[kind]), kind=np.full(n, kind)))
    assert all(np.isfinite(v).all() for v in float_state(agent))
    check_covariances(agent)


COUNTING = ["beta_ts", "dirichlet_ts", "gaussian_ts", "ucb1", "kl_ucb", "epsilon_greedy", "random"]


@pytest.mark.parametrize("name", COUNTING)
def test_ten_million_observations_keep_counting_agents_exact_and_finite(name):
    """10^7 observations for the Beta/Dirichlet agents, 10^6 for the others (batches of 10^5;
    all-min, then all-max, then mixed feedback) on 2 replicas x 8 arms: every count is an exact
    integer, the state finite, decisions valid. (10^7 act+update decisions of the fast agents:
    ``python -m bench.reliability_scale decisions``.)"""
    rng = np.random.default_rng(1)
    params = {"n_propensity_draws": 4} if "ts" in name else {}
    agent = make_agent(name, N_ARMS, n_replicas=2, random_state=0, **params)
    n, batches = 100_000, 100 if name in ("beta_ts", "dirichlet_ts") else 10
    for b in range(batches):
        replica = np.arange(n) % 2
        if b % 5 == 0:
            check_decision(agent.act(Context(n_rows=64, replica=np.arange(64) % 2)), 64)
        arms = rng.integers(0, N_ARMS, n)
        kind = np.full(n, 0) if b < 0.3 * batches else np.full(n, 6) if b < 0.6 * batches else rng.integers(0, 7, n)
        agent.update(Context(n_rows=n, replica=replica), arms, Feedback(reward=DEFAULT_MAP[kind], kind=kind))
    assert all(np.isfinite(v).all() for v in float_state(agent))
    total = n * batches
    if name == "beta_ts":
        counts = agent.alpha + agent.beta - agent.alpha_prior - agent.beta_prior
    elif name == "dirichlet_ts":
        counts = agent.counts.sum(axis=-1) - agent.counts.shape[-1] * agent.alpha_prior  # a prior per kind
    elif hasattr(agent, "_stats"):
        counts = agent._stats.counts
    else:
        counts = None
    if counts is not None:
        assert counts.sum() == total and np.array_equal(counts, np.round(counts))
    check_decision(agent.act(Context(n_rows=64, replica=np.arange(64) % 2)), 64)


@pytest.mark.parametrize("name,params", [("linucb", {}), ("lin_ts", {"n_propensity_draws": 8}),
                                         ("logistic_ts", {"n_propensity_draws": 8})],
                         ids=["linucb", "lin_ts", "logistic_ts"])
def test_long_run_linear_covariance_does_not_drift(name, params):
    """10^5 Sherman-Morrison/Woodbury updates (batches of 1,000): the stored covariance equals the
    inverse of the accumulated precision to 1e-8 (relative) and stays symmetric positive definite."""
    rng = np.random.default_rng(2)
    agent = make_agent(name, N_ARMS, random_state=0, **params)
    d = D_USER + 1
    precision = np.broadcast_to(np.eye(d), (N_ARMS, d, d)).copy()
    for _ in range(100):
        x = rng.normal(size=(1000, D_USER))
        arms = rng.integers(0, N_ARMS, 1000)
        reward = rng.choice([-1.0, 1.0], 1000)
        ctx = Context(features=x)
        if name == "logistic_ts":  # its Newton weights are p(1-p) at the current mean: read them first
            p = 1.0 / (1.0 + np.exp(-agent._mean_for(agent._resolve(ctx, check_mask=False), arms)))
            w = np.maximum(p * (1 - p), 1e-6)
        else:
            w = np.ones(1000)
        agent.update(ctx, arms, Feedback(reward=reward, kind=np.where(reward > 0, 6, 0)))
        design = np.c_[x, np.ones(1000)]
        np.add.at(precision, arms, w[:, None, None] * design[:, :, None] * design[:, None, :])
    assert check_covariances(agent) == N_ARMS
    cov = agent.posterior.cov[0]
    np.testing.assert_allclose(cov, np.linalg.inv(precision), rtol=1e-8, atol=1e-14)
    check_decision(agent.act(Context(features=rng.normal(size=(32, D_USER)))), 32)


LINEAR = [("linucb", {}), ("lin_ts", {"n_propensity_draws": 16}), ("logistic_ts", {"n_propensity_draws": 16})]


@pytest.mark.parametrize("mode", ["shared", "disjoint"])
@pytest.mark.parametrize("spread", [1e-9, 0.0], ids=["items-1e-9-apart", "identical-items"])
@pytest.mark.parametrize("name,params", LINEAR, ids=[n for n, _ in LINEAR])
def test_near_collinear_items_keep_linear_posteriors_positive_definite(name, params, spread, mode):
    """Item embeddings (shared mode) or user features (disjoint mode) that differ by 1e-9, or not
    at all, for 60 steps of 100 rows: covariances symmetric PD and finite, decisions valid."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=384)
    arm_features = base + spread * rng.normal(size=(N_ARMS, 384))  # 384 dims: PCA to arm_dim=16 as in runs
    user = rng.normal(size=D_USER)
    agent = make_agent(name, N_ARMS, n_replicas=2, random_state=0, mode=mode, **params)
    for _ in range(60):
        x = user + spread * rng.normal(size=(100, D_USER)) if mode == "disjoint" else rng.normal(size=(100, D_USER))
        ctx = Context(features=x, arm_features=arm_features, replica=rng.integers(0, 2, 100))
        d = agent.act(ctx)
        check_decision(d, 100)
        r = rng.choice([-1.0, 1.0], 100)
        agent.update(ctx, d, Feedback(reward=r, kind=np.where(r > 0, 6, 0)))
    assert check_covariances(agent) >= 2
    assert all(np.isfinite(v).all() for v in float_state(agent))


# ----------------------------------------------------------------------------- huge Beta/Dirichlet counts
def _two_arm_posteriors(name, prior, s):
    """Arms with prior `prior` per count; arm 0 then gets s best answers, arm 1 s worst ones."""
    agent = make_agent(name, 2, alpha_prior=prior, random_state=0, n_propensity_draws=1,
                       **({"beta_prior": prior} if name == "beta_ts" else {}))
    arms = np.r_[np.zeros(s, int), np.ones(s, int)]
    kind = np.r_[np.full(s, 6), np.full(s, 0)]
    agent.update(None, arms, Feedback(reward=DEFAULT_MAP[kind], kind=kind))
    return agent


def _exact_win_probability(agent) -> float:
    """P(arm 0's posterior draw beats arm 1's) in exact arithmetic (normal limit: error ~1/sqrt(n))."""
    if agent.name == "beta_ts":
        from fractions import Fraction

        a, b = [int(v) for v in agent.alpha[0]], [int(v) for v in agent.beta[0]]  # exact integers
        mean = [Fraction(a[i], a[i] + b[i]) for i in range(2)]
        var = [Fraction(a[i] * b[i], (a[i] + b[i]) ** 2 * (a[i] + b[i] + 1)) for i in range(2)]
    else:
        v = np.array(agent._kind_values)
        mean, var = [], []
        for c in agent.counts[0]:
            total = c.sum()
            m = float((v * c).sum() / total)
            mean.append(m)
            var.append(float(((v * v * c).sum() / total - m * m) / (total + 1)))
    return float(norm.cdf(float(mean[0] - mean[1]) / math.sqrt(float(var[0] + var[1]))))


@pytest.mark.parametrize("n", [20_000, 60_000], ids=["20k-rows", "60k-rows"])  # 60k x 2 arms: beta_ts's lazy sampler
@pytest.mark.parametrize("prior", [1e7, 1e9, 1e12])
@pytest.mark.parametrize("name", ["beta_ts", "dirichlet_ts"])
def test_huge_counts_decide_as_exact_arithmetic_would(name, prior, n):
    """Counts of 10^7-10^12 (priors plus sqrt(prior) answers, so arm 0 is one posterior sd ahead):
    the share of decisions for arm 0 matches the exact win probability (about 0.84) within 5 MC sds,
    and counts stay exact integers."""
    s = math.isqrt(int(prior))
    agent = _two_arm_posteriors(name, prior, s)
    if name == "beta_ts":
        assert agent.alpha[0].tolist() == [prior + s, prior] and agent.beta[0].tolist() == [prior, prior + s]
    p_exact = _exact_win_probability(agent)
    assert 0.7 < p_exact < 0.95
    share = float((agent.act(Context(n_rows=n)).actions == 0).mean())
    assert abs(share - p_exact) < 5 * math.sqrt(p_exact * (1 - p_exact) / n), (share, p_exact)


def test_beta_draws_at_1e15_counts_decide_as_exact_arithmetic_would():
    """Counts of 10^15 (only reachable through alpha_prior/beta_prior): the share of draws where
    arm 0 (one posterior sd ahead) wins is Φ(1) ≈ 0.84.  A plain test (issue #22): a float32
    gamma path, which cannot resolve the posterior sd at these counts, turns Thompson sampling
    greedy (share -> 1) and fails here."""
    from banditsim.agents.beta_ts import beta_draws

    prior, s = 1e15, 31_622_776  # arm 0 one posterior sd ahead, as above
    a, b = np.array([prior + s, prior]), np.array([prior, prior + s])
    draws = beta_draws(a, b, 20_000, np.random.default_rng(0), fast=True)  # what BetaTSAgent uses (priors >= 1)
    share = float((draws[:, 0] > draws[:, 1]).mean())
    assert abs(share - norm.cdf(1.0)) < 0.02, share


def test_long_horizon_on_a_small_catalog_keeps_an_allowed_item():
    """64 people over 16 items for 800 steps (blocking on, people return): every step every
    person must still have an item to be shown, or every agent stops the run with
    'mask allows fewer than slate_size items' (such a person now leaves for good)."""
    from banditsim.envs.world import World
    from tests.sim.tiny_world import tiny_items, tiny_population

    x = tiny_items(16)
    world = World(x, tiny_population(x), n_users=64, seed=3)
    rng = np.random.default_rng(0)
    obs = world.reset()
    for t in range(800):
        allowed = obs.mask.sum(axis=1)
        assert (allowed >= 1).all(), f"step {t}: a person has blocked every item and was kept"
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in obs.mask])
        obs = world.step(actions).observation
