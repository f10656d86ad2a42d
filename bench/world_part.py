"""Problem (c): the MovieLens world (1,682 items, 384-dim all-MiniLM-L6-v2 embeddings,
943 users fitted from real ratings) at B users at once.

* world alone: feedback events/s of ``World.step`` with pre-drawn uniform actions (as in
  ``bench/world_bench.py``), best of ``repeat``;
* LinTS over the item embeddings: decisions/s of ``act`` + ``update`` of ``lin_ts`` on the
  world's observations (``mode='shared'``: user features ⊗ item embeddings, the way it
  scores any item; and the runner's default ``mode='disjoint'``: one model per item on the
  user features); the world's step is not counted.
"""

from __future__ import annotations

import time

import numpy as np

from bench.timing import load

LINTS_MODES = {"lin_ts shared (item embeddings)": {"mode": "shared"},
               "lin_ts disjoint (per item)": {"mode": "disjoint"}}


def prepared():
    """The default (MovieLens quickstart) config prepared once: item vectors and users."""
    from banditsim.sim.config.files import load_config
    from banditsim.sim.run.prepare import prepare

    return prepare(load_config(None, []), progress=False)


def _world(prep, b: int):
    from banditsim.envs.world import World
    from banditsim.sim.run.prepare import world_config

    return World(prep.item_vectors, prep.population, n_users=b, config=world_config(prep.config), seed=0)


def world_rate(world, budget: float, seed: int = 0) -> tuple[float, int]:
    """(events/s, steps) of ``world.step`` alone: steps until ``budget`` seconds (at least 3)."""
    rng = np.random.default_rng(seed)
    world.reset(seed=seed)
    acts = [rng.integers(world.n_items, size=world.n_users) for _ in range(64)]
    world.step(acts[0])
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < budget:
        world.step(acts[steps % 64])
        steps += 1
    return world.n_users * steps / (time.perf_counter() - start), steps


def agent_rate(prep, b: int, params: dict, budget: float, warmup: int = 1) -> tuple[float, int]:
    """(decisions/s, steps) of lin_ts act + update on the world, stepping until ``budget``
    seconds are spent in the agent (at least 1 step, after ``warmup`` untimed ones)."""
    from banditsim.agents import Context, Feedback, make_agent

    world = _world(prep, b)
    agent = make_agent("lin_ts", world.n_items, random_state=0, **params)
    arm_features = prep.item_vectors.astype(np.float64)
    obs, spent, t = world.reset(seed=0), 0.0, 0
    while t < warmup + 1 or spent < budget:
        ctx = Context(features=obs.features, arm_features=arm_features, mask=obs.mask)
        t0 = time.perf_counter()
        decision = agent.act(ctx)
        t1 = time.perf_counter()
        res = world.step(decision.actions)
        t2 = time.perf_counter()
        agent.update(ctx, decision, Feedback(reward=res.reward, kind=res.kind, position=res.position))
        if t >= warmup:
            spent += (t1 - t0) + (time.perf_counter() - t2)
        obs, t = res.observation, t + 1
    return b * (t - warmup) / spent, t - warmup


def run_world(sizes: list[int], budget: float, repeat: int, propensity_draws: int | None, log=print) -> list[dict]:
    """Rows for (c): world events/s and LinTS decisions/s at each B (``budget`` s per figure)."""
    prep = prepared()
    n, d = prep.item_vectors.shape
    rows = []
    for b in sizes:
        world = _world(prep, b)
        rate, k = max(world_rate(world, budget) for _ in range(repeat))
        rows.append({"problem": f"(c) MovieLens world {n} items d={d}", "policy": "world.step alone",
                     "impl": "banditsim", "B": b, "events_per_s": rate, "steps": k, "load": load(),
                     "note": f"best of {repeat}, uniform random actions"})
        log(f"  (c) B={b:<5} world alone {rate:14,.0f} events/s   (load {rows[-1]['load']:.2f})")
        for label, params in LINTS_MODES.items():
            if propensity_draws is not None:  # None: the agent's default
                params = {**params, "n_propensity_draws": propensity_draws}
            r, kk = max(agent_rate(prep, b, params, budget) for _ in range(repeat))
            rows.append({"problem": rows[-1]["problem"], "policy": label, "impl": "banditsim", "B": b,
                         "decisions_per_s": r, "steps": kk, "params": params, "load": load(),
                         "note": f"best of {repeat}; act+update only"})
            log(f"  (c) B={b:<5} {label:34s} {r:12,.0f} decisions/s   (load {rows[-1]['load']:.2f})")
    return rows
