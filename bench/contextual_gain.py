"""Do contextual agents earn their context? (issue #18 goal 7) — ``python -m bench.contextual_gain``.

On the MovieLens world (the quickstart's: ``population: movielens``, every dynamic at its default),
each agent plays ``--steps`` steps against B = ``--users`` slots, over ``--seeds`` seeds with common
random numbers (the world of seed s is the same for every agent). One world with the user-history
context (``world.history_k`` = ``--k``) serves every agent: its history part never touches the
world's random stream, so the agents without it (context-free ones, and ``…/demo`` rows) see
exactly the world they would see with ``history_k = 0`` and are given the visible features only.

Printed: per agent the cumulative regret per slot over the steps (mean over seeds, 95% t interval
over seeds, ``banditsim.sim.stats.intervals.mean_ci``), slot-steps per person (steps × B / people seen: people leave when
patience runs out and do not return, and new people take their slots; people still there at the end
count as if they left then), the goal checks, and the command.
``--k-sweep 0,5,20`` runs one agent's regret against k instead.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import numpy as np

from banditsim.sim.stats.intervals import mean_ci

CONTEXT_FREE = [("beta_ts", {}), ("dirichlet_ts", {}), ("epsilon_greedy", {"epsilon": 0.1}), ("ucb1", {})]
CONTEXTUAL = [("linucb", {"mode": "shared"}), ("lin_ts", {"mode": "shared"})]
DISJOINT = [("linucb", {"mode": "disjoint"}), ("lin_ts", {"mode": "disjoint"})]  # --disjoint: their default mode


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.contextual_gain", description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500, help="steps per slot (default 500)")
    ap.add_argument("--users", type=int, default=16, help="slots B served each step (default 16)")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--k", type=int, default=10, help="world.history_k of the history rows (default 10)")
    ap.add_argument("--dim", type=int, default=16, help="world.history_dim (default 16)")
    ap.add_argument("--agents", default=None, help="comma list of labels to run (default all)")
    ap.add_argument("--no-demo-rows", action="store_true", help="skip the contextual rows without history")
    ap.add_argument("--disjoint", action="store_true", help="add linucb and lin_ts in their default disjoint mode")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--k-sweep", default=None, help="comma list of k: regret of --sweep-agent against k")
    ap.add_argument("--sweep-agent", default="linucb/shared")
    a = ap.parse_args(argv)
    for name in ("steps", "users", "seeds"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be ≥ 1")
    if a.k < 1:
        ap.error("--k must be ≥ 1 (the history rows need a history)")
    return a


def prepared(users: int):
    """The quickstart's prepared MovieLens world (catalog, embeddings, fitted users) for B = ``users``."""
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.run.prepare import prepare

    cfg = RunConfig.model_validate({"catalog": {"source": "movielens-100k"}, "population": {"kind": "movielens"},
                                    "world": {"n_users": users}})
    return prepare(cfg, progress=False)


def template(prep, users: int, k: int, dim: int):
    """A pristine World with the user history on (deep-copied per cell, as the runner does)."""
    from banditsim.envs.world import World
    from banditsim.sim.run.prepare import world_config

    import dataclasses

    cfg = dataclasses.replace(world_config(prep.config), history_k=k, history_dim=dim)
    return World(prep.item_vectors, prep.population, n_users=users, config=cfg, seed=0)


def play(prep, world0, name: str, params: dict, history: bool, seed: int, steps: int) -> dict:
    """One agent, one seed: cumulative regret per slot and slot-steps per person."""
    from banditsim.agents.registry import make_agent
    from banditsim.agents.types import Context, Feedback
    from banditsim.envs.feedback_kinds import reward_vector
    from banditsim.sim.run.seeding import agent_seed, as_int_seed, world_seed

    root = prep.config.run.root_seed
    world = copy.deepcopy(world0)
    obs = world.reset(seed=as_int_seed(world_seed(root, seed)))
    d_u = prep.population.features.shape[1]
    agent = make_agent(name, world.n_items, random_state=np.random.default_rng(agent_seed(root, seed, 0)),
                       kind_values=reward_vector(prep.config.world.reward_map).tolist(), **params)
    arm = prep.item_vectors.astype(np.float64)
    arm.setflags(write=False)
    regret = 0.0
    for _ in range(steps):
        feats = obs.features if history else obs.features[:, :d_u]
        ctx = Context(features=feats, arm_features=arm, mask=obs.mask)
        decision = agent.act(ctx)
        res = world.step(decision.actions)
        agent.update(ctx, decision.actions, Feedback(reward=res.reward, kind=res.kind, position=res.position))
        regret += float(res.regret.mean())
        obs = res.observation
    people = int(obs.user_ids.max()) + 1  # person ids are 0, 1, … in order of arrival
    return {"regret": regret, "stay": steps * world.n_users / people}


_STATE: dict = {}


def _job(job):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return play(_STATE["prep"], _STATE["world"], *job)


def run_jobs(prep, world0, jobs: list, workers: int):
    """Results of ``play`` for every job, in order (``workers`` forked processes, one BLAS thread each)."""
    _STATE.update(prep=prep, world=world0)
    if workers <= 1:
        yield from map(_job, jobs)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_job, jobs)


def rows_to_run(a) -> list[tuple[str, str, dict, bool]]:
    """(label, agent, params, history) of every row."""
    rows = [(n, n, p, False) for n, p in CONTEXT_FREE]
    for n, p in CONTEXTUAL + (DISJOINT if a.disjoint else []):
        rows.append((f"{n}/{p['mode']}+history", n, p, True))
        if not a.no_demo_rows:
            rows.append((f"{n}/{p['mode']}/demo", n, p, False))
    if a.agents:
        keep = set(a.agents.split(","))
        rows = [r for r in rows if r[0] in keep]
    return rows


def main(argv=None) -> int:
    a = parse(argv)
    from bench.timing import load

    t0 = time.perf_counter()
    prep = prepared(a.users)
    print(f"# python -m bench.contextual_gain {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"# MovieLens world, B={a.users} slots, {a.steps} steps per slot, {a.seeds} seeds, history k={a.k} "
          f"dim={a.dim}; load {load()}")
    if a.k_sweep:
        return sweep(a, prep)
    world0 = template(prep, a.users, a.k, a.dim)
    results = {}
    rows = rows_to_run(a)
    jobs = [(name, params, hist, s, a.steps) for _, name, params, hist in rows for s in range(a.seeds)]
    done = iter(run_jobs(prep, world0, jobs, a.workers))
    for label, name, params, hist in rows:
        runs = [next(done) for _ in range(a.seeds)]
        results[label] = runs
        m, lo, hi = mean_ci([r["regret"] for r in runs])
        stay = np.mean([r["stay"] for r in runs])
        print(f"{label:28s} regret {m:8.2f}  95% [{lo:8.2f}, {hi:8.2f}]  slot-steps per person {stay:6.1f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    report(results)
    print(f"# wall {time.perf_counter() - t0:.0f} s; load {load()}")
    return 0


def report(results: dict) -> None:
    """The goal checks: best contextual vs best context-free; LinTS vs LinUCB."""
    stats = {k: mean_ci([r["regret"] for r in v]) for k, v in results.items()}
    free = [k for k in stats if "/" not in k]
    ctx = [k for k in stats if k.endswith("+history")]
    if not free or not ctx:
        return
    bf = min(free, key=lambda k: stats[k][0])
    bc = min(ctx, key=lambda k: stats[k][0])
    gain = 1 - stats[bc][0] / stats[bf][0]
    apart = stats[bc][2] < stats[bf][1]
    print(f"best context-free {bf} {stats[bf][0]:.2f}; best contextual {bc} {stats[bc][0]:.2f}: "
          f"{100 * gain:.1f}% lower (goal ≥ 20%: {'met' if gain >= 0.2 else 'missed'}); intervals "
          f"{'apart' if apart else 'overlap'}")
    ucb = [k for k in ctx if k.startswith("linucb")]
    ts = [k for k in ctx if k.startswith("lin_ts")]
    if ucb and ts:
        bu, bt = min(ucb, key=lambda k: stats[k][0]), min(ts, key=lambda k: stats[k][0])
        ratio = stats[bt][0] / stats[bu][0]
        print(f"best lin_ts {bt} / best linucb {bu} = {ratio:.3f} (goal ≤ 1.10: {'met' if ratio <= 1.1 else 'missed'})")


def sweep(a, prep) -> int:
    """Regret of one agent against k (k = 0: the visible features only)."""
    label = a.sweep_agent
    name, mode = label.split("/")
    for k in [int(v) for v in a.k_sweep.split(",")]:
        world0 = template(prep, a.users, max(k, 1), a.dim)
        jobs = [(name, {"mode": mode}, k > 0, s, a.steps) for s in range(a.seeds)]
        runs = list(run_jobs(prep, world0, jobs, a.workers))
        m, lo, hi = mean_ci([r["regret"] for r in runs])
        print(f"{label} k={k:3d}  regret {m:8.2f}  95% [{lo:8.2f}, {hi:8.2f}]", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
