"""Throughput and regret of the batched agents; optional side-by-side with Open Bandit Pipeline.

Run ``python bench/agents_bench.py`` (full sizes) or ``--quick``.  Decisions/s counts every
seed: (steps × seeds) / seconds spent inside ``act`` + ``update``.  obp is used only when it
is importable (never a dependency of banditsim).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banditsim.agents import Context, Feedback, make_agent


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def bernoulli_problem(n_arms=100, seed=0):
    return np.random.default_rng(seed).uniform(0.01, 0.10, n_arms)


def linear_problem(n_arms=50, dim=64, seed=0):
    theta = np.random.default_rng(seed).normal(size=(n_arms, dim))
    return theta / np.linalg.norm(theta, axis=1, keepdims=True)


def run_bernoulli(name, rates, horizon, n_seeds, **params):
    agent = make_agent(name, len(rates), n_replicas=n_seeds, random_state=0, **params)
    rng = np.random.default_rng(1)
    ctx = Context(replica=np.arange(n_seeds))
    regret, spent = np.zeros(n_seeds), 0.0
    for _ in range(horizon):
        t0 = time.perf_counter()
        actions = agent.act(ctx).actions
        t1 = time.perf_counter()
        reward = (rng.random(n_seeds) < rates[actions]).astype(np.float64)
        t2 = time.perf_counter()
        agent.update(ctx, actions, Feedback(reward=reward))
        spent += (t1 - t0) + (time.perf_counter() - t2)
        regret += rates.max() - rates[actions]
    return horizon * n_seeds / spent, regret.mean()


def run_linear(name, theta, horizon, n_seeds, **params):
    n_arms, dim = theta.shape
    agent = make_agent(name, n_arms, n_replicas=n_seeds, random_state=0, **params)
    rng = np.random.default_rng(1)
    rows = np.arange(n_seeds)
    regret, spent = np.zeros(n_seeds), 0.0
    for _ in range(horizon):
        x = rng.normal(size=(n_seeds, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        p = sigmoid(3.0 * x @ theta.T - 2.0)
        ctx = Context(features=x, replica=rows)
        t0 = time.perf_counter()
        actions = agent.act(ctx).actions
        t1 = time.perf_counter()
        reward = (rng.random(n_seeds) < p[rows, actions]).astype(np.float64)
        t2 = time.perf_counter()
        agent.update(ctx, actions, Feedback(reward=reward))
        spent += (t1 - t0) + (time.perf_counter() - t2)
        regret += p.max(axis=1) - p[rows, actions]
    return horizon * n_seeds / spent, regret.mean()


def obp_rates(rates, theta, bern_steps, lin_steps):
    """Steps/s of obp's BernoulliTS, LinUCB, LinTS (one seed, one decision per step)."""
    try:
        from obp.policy import BernoulliTS, LinTS, LinUCB
    except ImportError:
        return {}
    out = {}
    rng = np.random.default_rng(1)
    policy = BernoulliTS(n_actions=len(rates), random_state=0)
    t0 = time.perf_counter()
    for _ in range(bern_steps):
        a = policy.select_action()[0]
        policy.update_params(action=a, reward=float(rng.random() < rates[a]))
    out["beta_ts"] = bern_steps / (time.perf_counter() - t0)
    n_arms, dim = theta.shape
    for key, cls in (("linucb", LinUCB), ("lin_ts", LinTS)):
        policy = cls(dim=dim, n_actions=n_arms, random_state=0)
        t0 = time.perf_counter()
        for _ in range(lin_steps):
            x = rng.normal(size=(1, dim))
            x /= np.linalg.norm(x)
            a = policy.select_action(x)[0]
            policy.update_params(action=a, reward=float(rng.random() < sigmoid(3 * x[0] @ theta[a] - 2)), context=x)
        out[key] = lin_steps / (time.perf_counter() - t0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps (10x / 10x fewer)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--propensity-draws", type=int, default=1,
                        help="Monte-Carlo draws for TS propensities (cost grows ~linearly)")
    parser.add_argument("--only", choices=["bernoulli", "linear"], default=None)
    parser.add_argument("--obp", action="store_true", help="also time obp's policies when importable")
    args = parser.parse_args(argv)
    bern_t = 10_000 if args.quick else 100_000
    lin_t = 2_000 if args.quick else 20_000
    rates, theta = bernoulli_problem(), linear_problem()
    ts = {"n_propensity_draws": args.propensity_draws}
    rows = []
    if args.only in (None, "bernoulli"):
        for name, params in (("beta_ts", ts), ("ucb1", {}), ("epsilon_greedy", {"epsilon": 0.05})):
            rate, regret = run_bernoulli(name, rates, bern_t, args.seeds, **params)
            rows.append(("(a) K=100 Bernoulli", name, bern_t, rate, regret))
            print(f"{rows[-1][0]:22s} {name:15s} T={bern_t:<7d} {rate:12,.0f} decisions/s  regret {regret:9.1f}",
                  flush=True)
    if args.only in (None, "linear"):
        for name, params in (("linucb", {"alpha": 0.5}), ("lin_ts", {**ts, "noise_std": 0.25}),
                             ("epsilon_greedy", {"epsilon": 0.05})):
            rate, regret = run_linear(name, theta, lin_t, args.seeds, **params)
            rows.append(("(b) d=64 linear, K=50", name, lin_t, rate, regret))
            print(f"{rows[-1][0]:22s} {name:15s} T={lin_t:<7d} {rate:12,.0f} decisions/s  regret {regret:9.1f}",
                  flush=True)
    if args.obp:
        ref = obp_rates(rates, theta, 2_000, 200)
        if not ref:
            print("obp not importable: skipping the comparison")
        for name, rate in ref.items():
            ours = max((r[3] for r in rows if r[1] == name), default=float("nan"))
            print(f"obp {name:10s} {rate:10,.0f} steps/s   banditsim/obp = {ours / rate:,.0f}x")


if __name__ == "__main__":
    main()
