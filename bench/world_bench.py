"""World throughput on the MovieLens catalog (CPU): user-steps (feedback events) per second.

Run: ``python bench/world_bench.py [--steps 200] [--repeat 3] [--backend numpy|torch] [--slate 0]``.
Times ``World.step`` alone (uniform random actions drawn beforehand) at B = 1, 256, 4096,
with all dynamics on and with drift off. Each figure is the best of ``--repeat`` runs (the
machine may be shared); the load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench(world, steps: int, slate: int, seed: int = 0) -> float:
    """User-steps per second of ``world.step`` over ``steps`` steps."""
    rng = np.random.default_rng(seed)
    world.reset(seed=seed)
    b, n = world.n_users, world.n_items
    if slate:
        acts = [np.argsort(rng.random((b, n)), axis=1)[:, :slate] for _ in range(min(steps, 8))]
    else:
        acts = [rng.integers(n, size=b) for _ in range(min(steps, 64))]
    world.step(acts[0])
    t = time.perf_counter()
    for s in range(steps):
        world.step(acts[s % len(acts)])
    return b * steps / (time.perf_counter() - t)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--device", default=None)
    ap.add_argument("--slate", type=int, default=0, help="slate size (0: single item)")
    ap.add_argument("--sizes", default="1,256,4096")
    args = ap.parse_args(argv)
    from envs.catalog import movielens_catalog
    from envs.dynamics import Drift
    from envs.embedding import embed_texts
    from envs.fit_ratings import movielens_population
    from envs.world import World
    from envs.world_config import WorldConfig

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    pop = movielens_population(x)
    print(f"MovieLens catalog {x.shape[0]} items, {pop.n_users} fitted users, backend {args.backend}, "
          f"slate {args.slate or 'single item'}, best of {args.repeat}")
    for label, cfg in (("all dynamics", WorldConfig(backend=args.backend, device=args.device)),
                       ("drift off", WorldConfig(backend=args.backend, device=args.device, drift=Drift(enabled=False)))):
        for b in (int(v) for v in args.sizes.split(",")):
            w = World(x, pop, n_users=b, config=cfg, seed=0)
            steps = args.steps if b > 1 else args.steps * 10
            rates = [bench(w, steps, args.slate) for _ in range(max(1, args.repeat))]
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"  {label:<13} B={b:<5} {max(rates):>12,.0f} user-steps/s  "
                  f"(median {np.median(rates):,.0f}; full scans {w.n_full_scans}; load {load:.2f})")


if __name__ == "__main__":
    main()
