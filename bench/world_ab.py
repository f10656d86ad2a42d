"""World throughput, this checkout against an older revision, in one process (robust to machine load).

Run: ``python bench/world_ab.py REV [--sizes 1,256,4096] [--slate 0] [--trend-rate 0] [--rounds 8]
[--block-steps N]``. ``REV``'s ``envs/`` is extracted (``git archive``) under another package name
and imported beside today's, both worlds are built on the MovieLens catalog with every default
dynamic on, and they step in alternating blocks of the same number of steps (uniform random actions,
after 20 untimed steps), so both see the same machine load. Printed per size: events/s (best and
median of the blocks, wall clock) and events per CPU-second (median) of each, and the ratios.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def old_envs(rev: str):
    """Import ``rev``'s ``envs`` package as ``envs_ab`` (from a temporary folder); returns the package
    name. Raises ValueError with git's message when ``rev`` has no ``envs/``."""
    proc = subprocess.run(["git", "archive", rev, "envs"], cwd=ROOT, capture_output=True, check=False)
    if proc.returncode != 0:
        raise ValueError(proc.stderr.decode(errors="replace").strip().splitlines()[-1])
    tmp = Path(tempfile.mkdtemp(prefix="world_ab_"))
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(tmp, filter="data")
    pkg = tmp / "envs_ab"
    (tmp / "envs").rename(pkg)
    for f in pkg.rglob("*.py"):  # subpackages too (envs/world/)
        text = re.sub(r"\b(from|import) (banditsim\.)?envs(?=[. ])", r"\1 envs_ab", f.read_text())
        f.write_text(text)
    sys.path.insert(0, str(tmp))
    return "envs_ab"


_POPULATIONS: dict = {}  # package name -> its fitted MovieLens population (fitted once)


def make_world(pkg: str, x, b: int, trend: float):
    """A World of package ``pkg`` (``banditsim.envs`` or the old one) on item vectors ``x``, every default dynamic on."""
    mod = lambda name: importlib.import_module(f"{pkg}.{name}")  # noqa: E731
    if pkg not in _POPULATIONS:
        _POPULATIONS[pkg] = mod("fit_ratings").movielens_population(x)
    pop = _POPULATIONS[pkg]
    cfg = mod("world_config").WorldConfig(drift=mod("dynamics").Drift(trend_rate=trend))
    return mod("world").World(x, pop, n_users=b, config=cfg, seed=0)


def compare(worlds: dict, slate: int, rounds: int, block: int) -> dict:
    """{name: (blocks, 2) array of (events/s wall, events per CPU-s)} from alternating timed blocks."""
    b, n = next(iter(worlds.values())).n_users, next(iter(worlds.values())).n_items
    rng = np.random.default_rng(0)
    acts = ([np.argsort(rng.random((b, n)), axis=1)[:, :slate] for _ in range(8)] if slate
            else [rng.integers(n, size=b) for _ in range(64)])
    done = {}
    for name, w in worlds.items():
        w.reset(seed=0)
        for s in range(20):
            w.step(acts[s % len(acts)])
        done[name] = 20
    out = {name: [] for name in worlds}
    names = list(worlds)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            w = worlds[name]
            t, c = time.perf_counter(), time.process_time()
            for _ in range(block):
                w.step(acts[done[name] % len(acts)])
                done[name] += 1
            out[name].append((b * block / (time.perf_counter() - t), b * block / max(time.process_time() - c, 1e-9)))
    return {name: np.array(v) for name, v in out.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="git revision to compare against (e.g. a commit before a change)")
    ap.add_argument("--sizes", default="1,256,4096")
    ap.add_argument("--slate", type=int, default=0, help="slate size (0: single item)")
    ap.add_argument("--trend-rate", type=float, default=0.0)
    ap.add_argument("--rounds", type=int, default=8, help="timed blocks per world")
    ap.add_argument("--block-steps", type=int, default=None, help="steps per block (default: ≈40,000 events)")
    args = ap.parse_args(argv)
    try:
        sizes = [int(v) for v in args.sizes.split(",")]
    except ValueError:
        ap.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if min(sizes) < 1 or args.rounds < 1 or args.slate < 0 or (args.block_steps is not None and args.block_steps < 1):
        ap.error("--sizes, --rounds and --block-steps must be ≥ 1 and --slate ≥ 0")
    try:
        pkg = old_envs(args.rev)
    except ValueError as e:
        ap.error(f"cannot read envs/ of {args.rev!r}: {e}")
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.embedding import embed_texts

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    print(f"MovieLens world {x.shape[0]} items, every default dynamic on, trend_rate {args.trend_rate}, "
          f"slate {args.slate or 'single item'}: {args.rev} against this checkout, {args.rounds} blocks each")
    for b in sizes:
        worlds = {args.rev: make_world(pkg, x, b, args.trend_rate), "now": make_world("banditsim.envs", x, b, args.trend_rate)}
        block = args.block_steps or max(2, 40_000 // b)
        res = compare(worlds, args.slate, args.rounds, block)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        for name, v in res.items():
            print(f"  B={b:<5} {name:>10}: {v[:, 0].max():>12,.0f} events/s best (median {np.median(v[:, 0]):,.0f}); "
                  f"{np.median(v[:, 1]):,.0f} per CPU-s median")
        old, new = res[args.rev], res["now"]
        print(f"  B={b:<5} ratio now/{args.rev}: {np.median(new[:, 1]) / np.median(old[:, 1]):.2f}x per CPU-s (median), "
              f"{new[:, 0].max() / old[:, 0].max():.2f}x wall (best); {block} steps a block; load {load:.2f}")


if __name__ == "__main__":
    main()
