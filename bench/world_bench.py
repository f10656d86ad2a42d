"""World throughput on the MovieLens catalog (CPU): user-steps (feedback events) per second.

Run: ``python bench/world_bench.py [--steps 200] [--repeat 3] [--backend numpy|torch] [--slate 0]
[--configs all,tastes,trend,off]``.
Times ``World.step`` alone (uniform random actions drawn beforehand) at B = 1, 256, 4096,
with all dynamics on (drift in the full embedding space, the default, and "all, tastes":
``Drift(basis="tastes")``, drift within the span of the fitted tastes), with the exogenous
taste trend on as well ("all + trend": ``Drift(trend_rate=0.02)``, off by default in the world)
and with drift off. Each figure is the best of ``--repeat`` runs (the
machine may be shared), after ``--warmup`` untimed steps (so drifted tastes and the full
scans they cause are in the timed steps). Printed per line: events/s (best, median) by the
wall clock, events per CPU-second of this process (less sensitive to other processes on a
busy machine), steps/s (one decision per user per step), full scans per step, load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench(world, steps: int, slate: int, seed: int = 0, warmup: int = 0) -> tuple[float, float]:
    """(user-steps per wall second, per CPU second) of ``world.step`` over ``steps`` steps."""
    rng = np.random.default_rng(seed)
    world.reset(seed=seed)
    b, n = world.n_users, world.n_items
    if slate:
        acts = [np.argsort(rng.random((b, n)), axis=1)[:, :slate] for _ in range(min(steps, 8))]
    else:
        acts = [rng.integers(n, size=b) for _ in range(min(steps, 64))]
    for s in range(max(1, warmup)):
        world.step(acts[s % len(acts)])
    t, c = time.perf_counter(), time.process_time()
    for s in range(steps):
        world.step(acts[s % len(acts)])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return b * steps / wall, b * steps / max(cpu, 1e-9)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before each timed run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--device", default=None)
    ap.add_argument("--slate", type=int, default=0, help="slate size (0: single item)")
    ap.add_argument("--sizes", default="1,256,4096")
    ap.add_argument("--configs", default="all,tastes,trend,off",
                    help="comma-separated: all (every default dynamic), tastes, trend (all + trend), off (drift off)")
    args = ap.parse_args(argv)
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.dynamics import Drift
    from banditsim.envs.embedding import embed_texts
    from banditsim.envs.fit_ratings import movielens_population
    from banditsim.envs.world import World
    from banditsim.envs.world_config import WorldConfig

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    pop = movielens_population(x)
    print(f"MovieLens catalog {x.shape[0]} items, {pop.n_users} fitted users, backend {args.backend}, "
          f"slate {args.slate or 'single item'}, best of {args.repeat}, {args.warmup} warm-up steps")
    configs = {"all": ("all dynamics", Drift()), "tastes": ("all, tastes", Drift(basis="tastes")),
               "trend": ("all + trend", Drift(trend_rate=0.02)), "off": ("drift off", Drift(enabled=False))}
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in configs]
    if unknown or not names:
        ap.error(f"unknown --configs {', '.join(unknown) or '(none)'}; choose from {', '.join(configs)}")
    for label, drift in (configs[c] for c in names):
        cfg = WorldConfig(backend=args.backend, device=args.device, drift=drift)
        for b in (int(v) for v in args.sizes.split(",")):
            w = World(x, pop, n_users=b, config=cfg, seed=0)
            steps = args.steps if b > 1 else args.steps * 10
            load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            scans0, runs = 0, []
            for _ in range(max(1, args.repeat)):
                scans0 = w.n_full_scans
                runs.append(bench(w, steps, args.slate, warmup=args.warmup))
            wall, cpu = np.array(runs).T
            scans = (w.n_full_scans - scans0) / (steps + max(1, args.warmup))
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"  {label:<13} B={b:<5} {wall.max():>12,.0f} user-steps/s  (median {np.median(wall):,.0f}; "
                  f"{cpu.max():,.0f} per CPU-s; {wall.max() / b:,.0f} steps/s; full scans/step {scans:.1f}; "
                  f"load {load0:.2f}→{load:.2f})")


if __name__ == "__main__":
    main()
