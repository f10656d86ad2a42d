"""Where problem (a)'s Thompson step goes: act, update, and the Beta draws alone (µs per step).

``python bench/thompson_split.py [--steps 5000]``: beta_ts over K=100 Bernoulli arms (rates
U[0.01, 0.10]), 100 replicas, 1 propensity draw (not read), BLAS 1 thread. After a 1,000-step
warm-up it times ``act`` and ``update`` per step, then draws the same 100 × 100 Beta variates
(``beta_draws`` on the agent's final counts) as often, alone: the floor random numbers set.
``--sampler lazy`` forces the exact lazy sampler instead of drawing every arm.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banditsim.agents import Context, Feedback, make_agent  # noqa: E402
from banditsim.agents.beta_ts import beta_draws  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000, help="timed steps (after 1,000 warm-up steps)")
    ap.add_argument("--sampler", choices=("plain", "lazy"), default="plain",
                    help="lazy: force the exact lazy sampler (agents._thompson.beta_exceedance) that big acts use")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    rates = np.random.default_rng(0).uniform(0.01, 0.10, 100)
    agent = make_agent("beta_ts", 100, n_replicas=100, random_state=0, n_propensity_draws=1)
    if args.sampler == "lazy":
        agent.lazy_min_work = 0
    rng, ctx = np.random.default_rng(1), Context(replica=np.arange(100))
    act = upd = 0.0
    with threadpool_limits(1):
        for t in range(1000 + args.steps):
            t0 = time.perf_counter()
            decision = agent.act(ctx)
            t1 = time.perf_counter()
            reward = (rng.random(100) < rates[decision.actions]).astype(np.float64)
            t2 = time.perf_counter()
            agent.update(ctx, decision, Feedback(reward=reward))
            if t >= 1000:
                act, upd = act + t1 - t0, upd + time.perf_counter() - t2
        draws = np.random.default_rng(2)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            beta_draws(agent.alpha, agent.beta, 1, draws, agent._fast)
        floor = time.perf_counter() - t0
    n = args.steps
    print(f"{args.sampler} sampler, per step (100 decisions): act {1e6 * act / n:.0f} µs, update {1e6 * upd / n:.0f} µs; "
          f"the 10,000 Beta draws alone {1e6 * floor / n:.0f} µs ({100 * floor / (act + upd):.0f}% of act + update)")
    print(f"{100 * n / (act + upd):,.0f} decisions/s; random numbers alone would allow {100 * n / floor:,.0f}; "
          f"load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
