"""Default beta_ts against obp's BernoulliTS, timed in alternating chunks in one process.

``python -m bench.thompson_vs_obp``: one stream at K = 1,000, 1,682 and 100 arms, and 100 seeds
batched as replicas at K = 100 (obp runs the same number of decisions one at a time).  Each round
times a chunk of ours, then a chunk of obp's, so a change of machine load hits both; decisions/s
count the seconds inside act + update (select_action + update_params) only.  Issue #18 goals 2-3.
"""
from __future__ import annotations

import os
import time

import numpy as np
from threadpoolctl import threadpool_limits
from agents import Context, Feedback, make_agent
from obp.policy import BernoulliTS

def ours_chunk(state, n):
    """Seconds inside act + update for ``n`` steps of our agent."""
    ag, ctx, rng, rates, R = state
    t = 0.0
    for _ in range(n):
        t0 = time.perf_counter(); d = ag.act(ctx); t1 = time.perf_counter()
        r = (rng.random(R) < rates[d.actions]).astype(float)
        t2 = time.perf_counter(); ag.update(ctx, d, Feedback(reward=r)); t += t1 - t0 + time.perf_counter() - t2
    return t

def obp_chunk(state, n):
    """Seconds inside select_action + update_params for ``n`` decisions of obp's policy."""
    p, rng, rates = state
    t = 0.0
    for _ in range(n):
        t0 = time.perf_counter(); a = p.select_action()[0]; t1 = time.perf_counter()
        r = float(rng.random() < rates[a])
        t2 = time.perf_counter(); p.update_params(action=a, reward=r); t += t1 - t0 + time.perf_counter() - t2
    return t

def compare(K, R, rounds, chunk):
    """Print ours, obp and the ratio for K arms and R replicas."""
    rates = np.random.default_rng(0).uniform(0.01, 0.10, K)
    ours = (make_agent("beta_ts", K, n_replicas=R, random_state=0), Context(replica=np.arange(R)),
            np.random.default_rng(1), rates, R)
    peer = (BernoulliTS(n_actions=K, random_state=0), np.random.default_rng(2), rates)
    ours_chunk(ours, 20); obp_chunk(peer, 20)
    to = tp = 0.0
    for _ in range(rounds):
        to += ours_chunk(ours, chunk); tp += obp_chunk(peer, chunk * R)
    ro, rp = rounds * chunk * R / to, rounds * chunk * R / tp
    print(f"K={K:5d} replicas={R:3d}: ours {ro:10,.0f} decisions/s, obp {rp:9,.0f}, ratio {ro / rp:5.2f}x  (load {os.getloadavg()[0]:.2f})", flush=True)

def main() -> int:
    with threadpool_limits(1):
        print("load at start", os.getloadavg())
        compare(1000, 1, 20, 100)
        compare(1682, 1, 20, 100)
        compare(100, 1, 20, 200)
        compare(100, 100, 20, 10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
