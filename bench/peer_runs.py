"""Run a peer policy on problem (a) or (b), one seed after another, within a time budget.

Seed 0 runs the full horizon or until half of ``budget`` seconds are spent; then further
seeds of that length run while the budget lasts (never more than the full problem).  When that
is less than the full 100 seeds × T, the decisions/s are measured on the smaller run and
the regret is compared with ours at the same number of steps (the table says so).
"""

from __future__ import annotations

import time

import numpy as np

from bench.agents_bench import sigmoid


def _stream(part: str, seed: int, steps: int, rates, theta):
    """Pre-drawn contexts, their arm probabilities and the uniforms for the rewards."""
    rng = np.random.default_rng(10_000 + seed)
    if part == "a":
        return None, np.broadcast_to(rates, (steps, len(rates))), rng.random(steps)
    x = rng.normal(size=(steps, theta.shape[1]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, sigmoid(3.0 * x @ theta.T - 2.0), rng.random(steps)


def _one_seed(make, part: str, seed: int, steps: int, rates, theta, deadline: float = float("inf")):
    """(seconds inside act + update, cumulative regret, steps done) of one seed; stops early
    (after at least 3 steps) once ``deadline`` seconds have been spent."""
    n_arms, dim = (len(rates), 0) if part == "a" else theta.shape
    policy = make(seed, n_arms, dim)
    x, p, u = _stream(part, seed, steps, rates, theta)
    best = p.max(axis=1)
    spent, regret, t = 0.0, 0.0, 0
    while t < steps and (t < 3 or spent < deadline):
        xt = None if x is None else x[t]
        t0 = time.perf_counter()
        a = policy.act(xt)
        t1 = time.perf_counter()
        r = float(u[t] < p[t, a])
        t2 = time.perf_counter()
        policy.update(xt, a, r)
        spent += (t1 - t0) + (time.perf_counter() - t2)
        regret += best[t] - p[t, a]
        t += 1
    return spent, regret, t


def run_peer(make, part: str, horizon: int, seeds: int, budget: float, rates, theta) -> dict:
    """Seed 0 runs until the horizon or half the budget; further seeds (of the same length)
    while the budget lasts; returns decisions/s over all of them and the mean regret."""
    spent, regret, steps = _one_seed(make, part, 0, horizon, rates, theta, deadline=budget / 2)
    total, regrets = spent, [regret]
    while len(regrets) < seeds and total + spent <= budget:
        s, r, _ = _one_seed(make, part, len(regrets), steps, rates, theta)
        total += s
        regrets.append(r)
    n_seeds, regrets = len(regrets), np.array(regrets)
    sem = float(regrets.std(ddof=1) / np.sqrt(n_seeds)) if n_seeds > 1 else float("nan")
    full = steps == horizon and n_seeds == seeds
    note = "full size" if full else f"timed {n_seeds} seed(s) x {steps:,} steps, per-decision rate extrapolated"
    return {"decisions_per_s": steps * n_seeds / total, "seeds": n_seeds, "steps": steps,
            "regret": float(regrets.mean()), "regret_sem": sem, "note": note}
