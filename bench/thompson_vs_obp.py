"""Default beta_ts against obp's BernoulliTS, timed in alternating chunks in one process.

``python -m bench.thompson_vs_obp``: one stream at K = 1,000, 1,682 and 100 arms, and 100 seeds
batched as replicas at K = 100 (obp runs the same number of decisions one at a time).  Each round
times a chunk of ours, then a chunk of obp's, so a change of machine load hits both; decisions/s
count the seconds inside act + update (select_action + update_params) only, by two clocks: wall
time and this thread's CPU time (``thread_time``, which a loaded machine disturbs far less).
For one stream it also counts the function calls (Python and C) per act + update of each.
Issue #18 goals 2-3.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
from banditsim.agents import Context, Feedback, make_agent
from obp.policy import BernoulliTS

def _clocks():
    return np.array([time.perf_counter(), time.thread_time()])


def ours_chunk(state, n):
    """(wall, CPU) seconds inside act + update for ``n`` steps of our agent."""
    ag, ctx, rng, rates, R = state
    t = np.zeros(2)
    for _ in range(n):
        t0 = _clocks(); d = ag.act(ctx); t1 = _clocks()
        r = (rng.random(R) < rates[d.actions]).astype(float)
        t2 = _clocks(); ag.update(ctx, d, Feedback(reward=r)); t += t1 - t0 + _clocks() - t2
    return t

def obp_chunk(state, n):
    """(wall, CPU) seconds inside select_action + update_params for ``n`` decisions of obp's policy."""
    p, rng, rates = state
    t = np.zeros(2)
    for _ in range(n):
        t0 = _clocks(); a = p.select_action()[0]; t1 = _clocks()
        r = float(rng.random() < rates[a])
        t2 = _clocks(); p.update_params(action=a, reward=r); t += t1 - t0 + _clocks() - t2
    return t

def calls_per_step(run, state, n=100):
    """(Python, C) function calls per act + update over ``n`` steps of ``run(state, n)``
    (the clock reads of the chunk included: a handful per step, the same for ours and obp)."""
    counts = {"call": 0, "c_call": 0}

    def count(frame, event, arg):
        if event in counts:
            counts[event] += 1

    sys.setprofile(count)
    try:
        run(state, n)
    finally:
        sys.setprofile(None)
    return counts["call"] / n, counts["c_call"] / n


def compare(K, R, rounds, chunk):
    """Print ours, obp and the ratio for K arms and R replicas."""
    rates = np.random.default_rng(0).uniform(0.01, 0.10, K)
    ours = (make_agent("beta_ts", K, n_replicas=R, random_state=0), Context(replica=np.arange(R)),
            np.random.default_rng(1), rates, R)
    peer = (BernoulliTS(n_actions=K, random_state=0), np.random.default_rng(2), rates)
    ours_chunk(ours, 20); obp_chunk(peer, 20)
    to = tp = np.zeros(2)
    for _ in range(rounds):
        to = to + ours_chunk(ours, chunk); tp = tp + obp_chunk(peer, chunk * R)
    ro, rp = rounds * chunk * R / to[0], rounds * chunk * R / tp[0]
    print(f"K={K:5d} replicas={R:3d}: ours {ro:10,.0f} decisions/s, obp {rp:9,.0f}, ratio {ro / rp:5.2f}x wall, "
          f"{tp[1] / to[1]:5.2f}x CPU  (load {os.getloadavg()[0]:.2f})", flush=True)
    if R == 1:
        co, cp = calls_per_step(ours_chunk, ours), calls_per_step(obp_chunk, peer)
        print(f"  per act+update: ours {to[1] / (rounds * chunk) * 1e6:.1f} us CPU, {co[0]:.0f} Python + {co[1]:.0f} C "
              f"calls; obp {tp[1] / (rounds * chunk) * 1e6:.1f} us CPU, {cp[0]:.0f} Python + {cp[1]:.0f} C calls",
              flush=True)

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
