"""backend='torch' (tested on the CPU) makes the same decisions as the numpy path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from banditsim.agents import Context, Feedback, make_agent

pytest.importorskip("torch")

ITEMS = np.random.default_rng(7).normal(size=(30, 8))


def _run_pair(name, mode, steps=25, **params):
    """The same agent on both backends, fed the same rows; returns (agents, decisions per step)."""
    pair = [make_agent(name, 30, n_replicas=3, random_state=1, mode=mode, arm_dim=4, backend=b, **params)
            for b in ("numpy", "torch")]
    rng = np.random.default_rng(5)
    decisions = []
    for _ in range(steps):
        n = 70
        ctx = Context(features=rng.normal(size=(n, 5)), arm_features=ITEMS, replica=rng.integers(3, size=n),
                      mask=rng.random((n, 30)) < 0.9)
        d = [a.act(ctx) for a in pair]
        decisions.append(d)
        y = rng.normal(size=n)
        for a in pair:
            a.update(ctx, d[0].actions, Feedback(reward=y))
    return pair, decisions


@pytest.mark.parametrize("mode", ["disjoint", "shared"])
@pytest.mark.parametrize("name,params", [("linucb", {"alpha": 0.5}), ("lin_ts", {"n_propensity_draws": 8}),
                                         ("logistic_ts", {"n_propensity_draws": 8})])
def test_torch_backend_matches_numpy(name, params, mode):
    (np_agent, torch_agent), decisions = _run_pair(name, mode, **params)
    for d_np, d_torch in decisions:
        np.testing.assert_array_equal(d_np.actions, d_torch.actions)
        np.testing.assert_allclose(d_np.propensities, d_torch.propensities, rtol=1e-6)
    np.testing.assert_allclose(np_agent.posterior.mean, torch_agent.posterior.mean, atol=1e-10)
    np.testing.assert_allclose(np_agent.posterior.cov, torch_agent.posterior.cov, atol=1e-10)


def test_backend_and_device_are_validated():
    with pytest.raises(ValueError, match="CPU only"):
        make_agent("linucb", 3, backend="numpy", device="cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        make_agent("lin_ts", 3, backend="jax")
    with pytest.raises(ValueError, match="device must be"):
        make_agent("lin_ts", 3, backend="torch", device="tpu")


def test_numpy_backend_does_not_import_torch():
    code = ("import sys, numpy as np; import agents; before = 'torch' in sys.modules; "
            "from banditsim.agents import Context, Feedback, make_agent; "
            "a = make_agent('lin_ts', 3, random_state=0, n_propensity_draws=4); "
            "ctx = Context(features=np.ones((2, 2))); a.update(ctx, a.act(ctx), Feedback(reward=[1.0, 0.0])); "
            "assert ('torch' in sys.modules) == before, 'the numpy backend imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n_rows", [1, 4, 200])  # solves with L / Σ path / de-duplicated rows
def test_torch_shared_posterior_matches_numpy(n_rows):
    from banditsim.agents._linear.posterior_shared import SharedLinearPosterior

    rng = np.random.default_rng(8)
    dx, dz = 5, 6
    posts = [SharedLinearPosterior(2, dx * dz, 1.3), SharedLinearPosterior(2, dx * dz, 1.3, device="cpu")]
    for _ in range(3):
        x, z = rng.normal(size=(90, dx)), rng.normal(size=(90, dz))
        rep, w, y = rng.integers(0, 2, 90), rng.uniform(0.5, 1.5, 90), rng.normal(size=90)
        for post in posts:
            post.update_kron(rep, x, z, w, y, newton=False)
    x = rng.normal(size=(n_rows, dx))
    x[n_rows // 2:] = x[0]
    rep = rng.integers(0, 2, n_rows)
    (m_np, s_np), (m_t, s_t) = (post.project(rep, x, dz) for post in posts)
    np.testing.assert_allclose(m_t, m_np, atol=1e-12)
    np.testing.assert_allclose(s_t, s_np, atol=1e-12)
    np.testing.assert_allclose(posts[1].cov, posts[0].cov, atol=1e-12)


@pytest.mark.parametrize("retrain", [False, True])
def test_neural_linear_ts_last_layer_is_the_ridge_posterior_of_its_features(retrain):
    """neural_linear_ts (torch only): its last layer is N(μ, σ²Σ) with Σ = (λI + Σ ffᵀ)⁻¹ and
    μ = Σ Σ f·y over the features f of every row seen (rebuilt after a retrain from the buffer under
    the new net), checked against a float64 numpy solve; its score draws follow N(f·μ, σ²·fᵀΣf)."""
    import torch
    from scipy import stats

    from banditsim.agents.neural_linear_ts import NeuralLinearTSAgent

    rng = np.random.default_rng(3)
    items = rng.normal(size=(6, 4))
    agent = NeuralLinearTSAgent(6, hidden_size=8, noise_std=0.7, ridge=1.3, retrain_every=90 if retrain else 10_000,
                                n_train_steps=5, buffer_size=128, random_state=0, n_propensity_draws=8)
    xs, arms, ys = [], [], []
    for _ in range(3):  # 90 rows: with retrain_every=90 the net retrains at the last update
        ctx = Context(features=rng.normal(size=(30, 3)), arm_features=items)
        d = agent.act(ctx)
        y = rng.normal(size=30)
        agent.update(ctx, d, Feedback(reward=y))
        xs.append(ctx.features), arms.append(d.actions), ys.append(y)
    x, a, y = np.concatenate(xs), np.concatenate(arms), np.concatenate(ys)
    assert int(agent._since_train[0]) == (0 if retrain else 90)  # the retrain did happen (or not)
    with torch.no_grad():  # the features of every row under the current net
        f = agent._pair_features(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(items[a], dtype=torch.float32),
                                 torch.zeros(90, dtype=torch.long)).double().numpy()
    cov = np.linalg.inv(1.3 * np.eye(f.shape[1]) + f.T @ f)
    mean = cov @ f.T @ y
    np.testing.assert_allclose(agent._mean[0].double().numpy(), mean, atol=2e-4)
    factor = agent._factor[0].double().numpy()
    np.testing.assert_allclose(factor @ factor.T, cov, atol=2e-5)
    probe = Context(features=rng.normal(size=(1, 3)), arm_features=items)
    draws = agent._sampler(agent._resolve(probe))(20_000)[:, 0, :]
    with torch.no_grad():
        fp = agent._features(*agent._inputs(agent._resolve(probe)))[0].double().numpy()  # (6, H+1)
    for k in (0, 3):
        ref = stats.norm(fp[k] @ mean, 0.7 * np.sqrt(fp[k] @ cov @ fp[k]))
        assert stats.kstest(draws[:, k], ref.cdf).pvalue > 1e-3, k
