"""The linear posteriors after incremental updates equal a direct solve; their scoring copies
and projections equal the dense formulas; the fast win probability equals the reference."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior
from banditsim.agents._linear.posterior_shared import SharedLinearPosterior


def _collinear(rng, n, eps):
    """Rows [u, u + eps·v, w, 1]: the first two columns nearly collinear."""
    u, v, w = rng.normal(size=(3, n))
    return np.c_[u, u + eps * v, w, np.ones(n)]


@pytest.mark.parametrize("eps", [1.0, 1e-4])
def test_disjoint_incremental_updates_equal_direct_solve(eps):
    rng = np.random.default_rng(0)
    n_rep, n_arms, n = 2, 3, 900
    x, y = _collinear(rng, n, eps), rng.normal(size=n)
    rep, arms = rng.integers(0, n_rep, n), rng.integers(0, n_arms, n)
    post = DisjointLinearPosterior(n_rep, n_arms, 4, ridge=0.5)
    for chunk in np.array_split(np.arange(n), 150):  # mostly one row per pair (Sherman–Morrison), some Woodbury
        post.update(rep[chunk], arms[chunk], x[chunk], np.ones(chunk.size), y[chunk])
    for r in range(n_rep):
        for a in range(n_arms):
            sel = (rep == r) & (arms == a)
            prec = 0.5 * np.eye(4) + x[sel].T @ x[sel]
            cov = post.cov[r, a]
            assert np.array_equal(cov, cov.T)  # exactly symmetric
            assert np.linalg.eigvalsh(cov).min() > 0  # positive definite
            np.testing.assert_allclose(prec @ cov, np.eye(4), atol=1e-7)
            np.testing.assert_allclose(post.mean[r, a], np.linalg.solve(prec, x[sel].T @ y[sel]), rtol=1e-6, atol=1e-8)
            upper = cov[np.triu_indices(4)]
            np.testing.assert_array_equal(post.packed[r, a], upper.astype(np.float32))


def test_disjoint_scores_fall_back_to_float64_where_float32_cannot_resolve():
    rng = np.random.default_rng(1)
    post = DisjointLinearPosterior(1, 1, 4, ridge=1.0)
    x = _collinear(rng, 20_000, 1e-6)
    for chunk in np.array_split(np.arange(x.shape[0]), 40):
        post.update(np.zeros(chunk.size, int), np.zeros(chunk.size, int), x[chunk], np.ones(chunk.size),
                    np.zeros(chunk.size))
    probe = np.array([[1.0, 1.0, 0.0, 1.0], [1.0, -1.0, 0.5, 1.0], [0.3, 0.3, 2.0, 1.0]])
    _, quad = post.scores(np.zeros(3, int), probe)
    exact = np.einsum("bd,de,be->b", probe, post.cov[0, 0], probe)
    np.testing.assert_allclose(quad[:, 0], exact, rtol=1e-6)  # float32 alone: 7e-5 off here


def test_shared_kron_updates_equal_dense_updates_and_direct_solve():
    rng = np.random.default_rng(2)
    dx, dz, n = 3, 4, 300
    x, z, y = rng.normal(size=(n, dx)), rng.normal(size=(n, dz)), rng.normal(size=n)
    x[::3] = x[0]  # repeated contexts exercise the de-duplicated increment
    rep, w = rng.integers(0, 2, n), rng.uniform(0.5, 2.0, n)
    phi = (x[:, :, None] * z[:, None, :]).reshape(n, -1)
    kron, dense = SharedLinearPosterior(2, dx * dz, 0.8), SharedLinearPosterior(2, dx * dz, 0.8)
    for chunk in np.array_split(np.arange(n), 3):  # 100 rows: above the de-duplication threshold
        kron.update_kron(rep[chunk], x[chunk], z[chunk], w[chunk], y[chunk])
        dense.update(rep[chunk], phi[chunk], w[chunk], y[chunk])
    for r in range(2):
        sel = rep == r
        prec = 0.8 * np.eye(dx * dz) + phi[sel].T @ (w[sel, None] * phi[sel])
        np.testing.assert_allclose(kron.precision[r], prec, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(dense.precision[r], prec, rtol=1e-12, atol=1e-10)
        mean = np.linalg.solve(prec, phi[sel].T @ (w[sel] * y[sel]))
        np.testing.assert_allclose(kron.mean[r], mean, atol=1e-10)
        np.testing.assert_allclose(kron.cov[r], np.linalg.inv(prec), atol=1e-10)
        assert np.array_equal(kron.cov[r], kron.cov[r].T)


@pytest.mark.parametrize("n_rows", [1, 5, 200])  # solves with L / Σ and pair products / de-duplicated
def test_shared_projection_equals_explicit_pair_features(n_rows):
    rng = np.random.default_rng(3)
    dx, dz = 3, 4
    post = SharedLinearPosterior(2, dx * dz, 1.0)
    xs, zs = rng.normal(size=(400, dx)), rng.normal(size=(400, dz))
    post.update_kron(rng.integers(0, 2, 400), xs, zs, np.ones(400), rng.normal(size=400))
    x = rng.normal(size=(n_rows, dx))
    x[n_rows // 2:] = x[0]
    rep = rng.integers(0, 2, n_rows)
    mean_u, s_u = post.project(rep, x, item_dim=dz)
    cov = post.cov
    for b in range(n_rows):
        m = np.kron(x[b][:, None], np.eye(dz))  # φ = x ⊗ z = M z
        np.testing.assert_allclose(mean_u[b], m.T @ post.mean[rep[b]], atol=1e-12)
        np.testing.assert_allclose(s_u[b], m.T @ cov[rep[b]] @ m, atol=1e-12)


def test_shared_thompson_decisions_follow_the_posterior():
    from banditsim.agents import Context, Feedback, make_agent

    rng = np.random.default_rng(5)
    items = rng.normal(size=(6, 3))
    agent = make_agent("lin_ts", 6, mode="shared", noise_std=0.7, random_state=0, n_propensity_draws=3)
    x = rng.normal(size=(300, 2))
    agent.update(Context(features=x, arm_features=items), rng.integers(0, 6, 300), Feedback(reward=rng.normal(size=300)))
    n = 40_000
    mask = np.ones((n, 6), dtype=bool)
    mask[:, 5] = False
    ctx = Context(features=np.repeat([[0.3, -1.0]], n, axis=0), arm_features=items, mask=mask)
    d = agent.act(ctx)
    draws = agent._sampler(agent._resolve(Context(features=ctx.features[:1], arm_features=items)))(200_000)[:, 0]
    p = np.bincount(np.where(mask[0], draws, -np.inf).argmax(axis=1), minlength=6) / draws.shape[0]
    freq = np.bincount(d.actions, minlength=6) / n
    np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(p * (1 - p) / n).max() + 1e-3)
    assert freq[5] == 0
    for k in np.flatnonzero(p > 0.05):  # E[(1 + hits) / 4] = (1 + 3 p_k) / 4 for rows that chose k
        assert abs(d.propensities[d.actions == k].mean() - (1 + 3 * p[k]) / 4) < 0.01
    np.testing.assert_allclose(d.probabilities.sum(axis=1), 1.0)
