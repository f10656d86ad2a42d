"""Scale checks of issue #9 that are too slow for the test suite (run once, numbers reported).

``python -m bench.reliability_scale embed [--n-items 100000]``
    Writes a synthetic catalog of short, distinct item texts (CSV), then, each in a child
    process whose peak RSS comes from ``os.wait4``: ``banditsim embed`` with an empty cache
    (every text through all-MiniLM-L6-v2), ``banditsim embed`` again (all from the cache), and
    ``banditsim run`` over the whole catalog (clusters population, three agents, cache hit).

``python -m bench.reliability_scale decisions [--replicas 1000 --steps 10000]``
    10^7 decisions: ``replicas`` independent bandits (one batched agent, one row per replica)
    for ``steps`` steps on K=10 Bernoulli arms, for fast agents; checks every float in the
    agent's state is finite and the Beta counts add up exactly. Runs each agent in a child
    process (its own peak RSS).

``python -m bench.reliability_scale world [--world-sizes 1000,2500,5000,10000]``
    Build time, step time and peak RSS of ``envs.world.World`` over n random unit 384-dim items
    (one child process per size): shows how the world's memory grows with the catalog.

Each prints one line per measurement and, with ``--json PATH``, writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADJ = ("quiet", "lost", "golden", "broken", "hidden", "electric", "silent", "crimson", "frozen", "wild",
       "last", "secret", "distant", "burning", "gentle", "iron", "paper", "midnight", "northern", "little")
NOUN = ("river", "empire", "garden", "detective", "machine", "summer", "kingdom", "letter", "ocean", "city",
        "heart", "mountain", "stranger", "island", "winter", "voyage", "house", "signal", "forest", "dream")
GENRE = ("Drama", "Comedy", "Horror", "Sci-Fi", "Romance", "Thriller", "Documentary", "Animation",
         "Western", "Musical", "Crime", "Fantasy")


def item_text(i: int) -> str:
    """A short, distinct item text (about a dozen tokens)."""
    a, n = ADJ[i % len(ADJ)], NOUN[(i // len(ADJ)) % len(NOUN)]
    g1, g2 = GENRE[(i // 7) % len(GENRE)], GENRE[(i // 3 + 5) % len(GENRE)]
    return f"The {a} {n} {i}. Genres: {g1}, {g2}"


def write_catalog(path: Path, n_items: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,title,genres\n")
        for i in range(n_items):
            t = item_text(i)
            fh.write(f"i{i},\"{t.split('. Genres')[0]}\",{t.split(': ')[1].replace(', ', '|')}\n")
    return path


def child(args: list[str], env: dict | None = None) -> dict:
    """Run a child process; its wall seconds, peak RSS (MiB, ``ru_maxrss``), exit code, last lines."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    lines = out.strip().splitlines()
    return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "exit": os.waitstatus_to_exitcode(status), "tail": lines[-3:],
            "report": next((x.strip() for x in lines if "embedded with" in x or x.startswith("results:")), "")}


def part_embed(n_items: int, log=print) -> list[dict]:
    rows = []
    cli = [sys.executable, "-m", "banditsim.sim.cli"]
    with tempfile.TemporaryDirectory(prefix="banditsim-100k-") as tmp:
        tmp = Path(tmp)
        catalog = write_catalog(tmp / "items.csv", n_items)
        env = dict(os.environ, BANDITSIM_CACHE_DIR=str(tmp / "cache"), HF_HUB_OFFLINE="1")
        embed = cli + ["embed", "--catalog", str(catalog), "--text-columns", "title,genres",
                       "--category-column", "genres", "--device", "cpu"]
        for what in ("embed, empty cache", "embed, cache hit"):
            r = child(embed, env)
            r.update(what=what, n_items=n_items)
            rows.append(r)
            log(f"{what:<22} {n_items:>8,} items  {r['seconds']:9.1f} s (cpu {r['cpu_seconds']:.0f} s)  "
                f"peak RSS {r['peak_rss_mib']:8.1f} MiB  exit {r['exit']}  {r['report']}")
        cfg = tmp / "run.yaml"
        cfg.write_text(
            f"name: scale\ncatalog: {{source: {catalog}, text_columns: [title, genres], category_column: genres}}\n"
            "population: {kind: clusters, n_users: 2000, n_clusters: 20}\n"
            "agents:\n  - {name: beta_ts, params: {n_propensity_draws: 8}}\n  - {name: linucb}\n"
            "  - {name: epsilon_greedy}\n"
            "run: {seeds: 1, horizon: 50, workers: 1}\nworld: {n_users: 64}\nlog: {max_rows_per_cell: 1000}\n")
        r = child(cli + ["run", str(cfg), "--out", str(tmp / "out"), "--quiet"], env)
        r.update(what="run (3 agents x 50 steps x 64 users)", n_items=n_items)
        rows.append(r)
        log(f"{r['what']:<22} {n_items:>8,} items  {r['seconds']:9.1f} s  peak RSS {r['peak_rss_mib']:8.1f} MiB"
            f"  exit {r['exit']}")
    return rows


def decisions_one(agent: str, replicas: int, steps: int, n_arms: int = 10) -> dict:
    """In this process: ``replicas`` × ``steps`` decisions of one agent on Bernoulli arms."""
    import numpy as np

    from banditsim.agents import Context, Feedback, make_agent

    params = {"n_propensity_draws": 1} if agent in ("beta_ts", "dirichlet_ts", "gaussian_ts") else {}
    a = make_agent(agent, n_arms, n_replicas=replicas, random_state=0, **params)
    rng = np.random.default_rng(1)
    rates = rng.uniform(0.01, 0.10, size=(replicas, n_arms))
    ctx = Context(n_rows=replicas, replica=np.arange(replicas))
    start = time.perf_counter()
    for _ in range(steps):
        d = a.act(ctx)
        win = rng.random(replicas) < rates[np.arange(replicas), d.actions]
        a.update(ctx, d, Feedback(reward=np.where(win, 1.0, -1.0), kind=np.where(win, 6, 0)))
    seconds = time.perf_counter() - start
    finite = all(np.isfinite(v).all() for v in _float_arrays(a))
    out = {"agent": agent, "decisions": replicas * steps, "seconds": round(seconds, 2), "finite": finite}
    if agent == "beta_ts":
        total = (a.alpha + a.beta - a.alpha_prior - a.beta_prior).sum(axis=1)
        out["counts_exact"] = bool(np.all(total == steps))
    return out


def _float_arrays(obj):
    import numpy as np

    stack = [vars(obj)]
    while stack:
        for v in stack.pop().values():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                yield v
            elif hasattr(v, "__dict__") and type(v).__module__.startswith("agents"):
                stack.append(vars(v))


def world_one(n_items: int, dim: int = 384) -> dict:
    """In this process: build a World over ``n_items`` random unit items and step it 20 times."""
    import numpy as np

    from banditsim.envs.population import synthetic_population, unit_rows
    from banditsim.envs.world import World

    rng = np.random.default_rng(0)
    x = unit_rows(rng.normal(size=(n_items, dim)).astype(np.float32))
    pop = synthetic_population(x[rng.integers(n_items, size=200)] + 0.3 * rng.normal(size=(200, dim)) / dim ** 0.5,
                               x, rng)
    start = time.perf_counter()
    world = World(x, pop, n_users=64, seed=1)
    build = time.perf_counter() - start
    world.reset()
    start = time.perf_counter()
    for _ in range(20):
        world.step(rng.integers(0, n_items, 64))
    return {"n_items": n_items, "build_seconds": round(build, 2), "step_ms": round((time.perf_counter() - start) * 50, 2)}


def part_world(sizes: list[int], log=print) -> list[dict]:
    rows = []
    for n in sizes:
        r = child([sys.executable, "-m", "bench.reliability_scale", "_world_one", str(n)],
                  dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        result = json.loads(r["tail"][-1]) if r["exit"] == 0 else {"n_items": n, "error": r["tail"][-1:]}
        result.update(peak_rss_mib=r["peak_rss_mib"], wall_seconds=r["seconds"])
        rows.append(result)
        log(json.dumps(result))
    return rows


def part_decisions(agents: list[str], replicas: int, steps: int, log=print) -> list[dict]:
    rows = []
    for agent in agents:
        r = child([sys.executable, "-m", "bench.reliability_scale", "_decisions_one", agent, str(replicas), str(steps)],
                  dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        result = json.loads(r["tail"][-1]) if r["exit"] == 0 else {"agent": agent, "error": r["tail"]}
        result.update(peak_rss_mib=r["peak_rss_mib"], wall_seconds=r["seconds"])
        rows.append(result)
        log(json.dumps(result))
    return rows


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_decisions_one":
        print(json.dumps(decisions_one(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    if argv and argv[0] == "_world_one":
        print(json.dumps(world_one(int(argv[1]))))
        return 0
    ap = argparse.ArgumentParser(prog="python -m bench.reliability_scale", description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["embed", "decisions", "world"])
    ap.add_argument("--world-sizes", default="1000,2500,5000,10000")
    ap.add_argument("--n-items", type=int, default=100_000)
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--agents", default="ucb1,beta_ts,epsilon_greedy,kl_ucb,dirichlet_ts")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.part == "embed":
        rows = part_embed(args.n_items)
    elif args.part == "world":
        rows = part_world([int(n) for n in args.world_sizes.split(",")])
    else:
        rows = part_decisions(args.agents.split(","), args.replicas, args.steps)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
