"""Part (t) of ``python -m bench``: threads and the slow paths of issue 18 goal 5, in a user's own loop.

Runs in a child process started without the BLAS thread variables (``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, ``OMP_NUM_THREADS``), so numpy, OpenBLAS and torch keep their library defaults as
in a user's script (``python -m bench`` itself pins one BLAS thread).  In that child, rounds
interleaved, each figure timed for ``budget`` seconds a round (the sum of the rounds is reported):

* ``lin_ts`` (``mode='shared'``, the 384-dim item embeddings of the 1,682 MovieLens items) act + update
  for one user (B = 1) and ``World.step`` at B = 256: default threads against one BLAS thread
  (threadpoolctl around the loop); ratio = default / one thread (goal: as fast, ≥ 0.9 here);
* ``neural_linear_ts`` against ``lin_ts`` by :func:`bench.neural_vs_lints.measure` (CPU seconds;
  ratio = neural / lin_ts time, goal ≤ 3);
* torch on the CPU against numpy: ``World.step`` at B = 256 (world backend torch) and ``lin_ts``
  shared at B = 256 (agent backend torch); ratio = torch time / numpy time (goal ≤ 1.5).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench.timing import load

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
SIZES = {"quick": {"budget": 0.2, "rounds": 1, "neural_parts": "s", "neural_rounds": 1},
         "full": {"budget": 2.0, "rounds": 3, "neural_parts": "sbq", "neural_rounds": 3}}
WORLD_B = 256
ROOT = Path(__file__).resolve().parents[1]
AS_FAST = {"goal_min": 0.9}  # "as fast with default threads as with one": within 10 %


def _world(prep, b: int, backend: str = "numpy"):
    from banditsim.envs.world import World
    from banditsim.sim.run.prepare import world_config

    cfg = dataclasses.replace(world_config(prep.config), backend=backend)
    return World(prep.item_vectors, prep.population, n_users=b, config=cfg, seed=0)


def _pair(label: str, unit: str, peer_name: str, ours: list[float], peer: list[float], goal: dict, note: str) -> dict:
    """A row comparing the mean rates of two interleaved variants ("ours" and "peer"); ``goal``:
    ``{"goal_min": x}`` or ``{"goal_max": x}`` on the ratio."""
    o, p = sum(ours) / len(ours), sum(peer) / len(peer)
    return {"problem": "(t) threads and slow paths, own loop", "policy": label, "impl": "banditsim",
            "ours_value": o, "peer_value": p, "peer_name": peer_name, "unit": unit, "ratio": o / p,
            "rounds": len(ours), "load": load(), **goal, "note": note}


def _interleaved(fns: dict, rounds: int) -> dict:
    """{name: [rate per round]} calling each ``fns[name]() -> rate`` once per round, in turn."""
    out = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            out[k].append(fn())
    return out


def blas_rows(prep, size: dict, log=print) -> list[dict]:
    """lin_ts at B = 1 and the world at B = 256: default threads against one BLAS thread."""
    from threadpoolctl import threadpool_limits

    from bench.world_part import agent_rate, world_rate

    budget, rounds = size["budget"], size["rounds"]
    world = _world(prep, WORLD_B)

    def limited(fn, one: bool):
        def run():
            with threadpool_limits(1, user_api="blas") if one else nullcontext():
                return fn()[0]
        return run

    lin = lambda: agent_rate(prep, 1, {"mode": "shared"}, budget)  # noqa: E731
    step = lambda: world_rate(world, budget)  # noqa: E731
    r = _interleaved({"lin_default": limited(lin, False), "lin_one": limited(lin, True),
                      "world_default": limited(step, False), "world_one": limited(step, True)}, rounds)
    n, d = prep.item_vectors.shape
    rows = [_pair(f"lin_ts shared d={d}, {n:,} items, B=1: default threads / 1 BLAS thread", "decisions/s",
                  "1 BLAS thread", r["lin_default"], r["lin_one"], AS_FAST, "act+update only"),
            _pair(f"world.step B={WORLD_B}: default threads / 1 BLAS thread", "events/s", "1 BLAS thread",
                  r["world_default"], r["world_one"], AS_FAST, "uniform random actions")]
    for row in rows:
        log(f"  (t) {row['policy']:70s} {row['ours_value']:12,.0f} vs {row['peer_value']:12,.0f} {row['unit']}: "
            f"{row['ratio']:.2f}x  (load {row['load']:.2f})")
    return rows


def torch_rows(prep, size: dict, log=print) -> list[dict]:
    """Torch on the CPU against numpy: the world's step and shared lin_ts at B = 256 (ratio of times)."""
    from bench.world_part import agent_rate, world_rate

    budget = size["budget"]
    worlds = {b: _world(prep, WORLD_B, b) for b in ("numpy", "torch")}
    lin = {b: {"mode": "shared", "backend": b} for b in ("numpy", "torch")}
    r = _interleaved({"world_numpy": lambda: world_rate(worlds["numpy"], budget)[0],
                      "world_torch": lambda: world_rate(worlds["torch"], budget)[0],
                      "lin_numpy": lambda: agent_rate(prep, WORLD_B, lin["numpy"], budget)[0],
                      "lin_torch": lambda: agent_rate(prep, WORLD_B, lin["torch"], budget)[0]}, size["rounds"])
    rows = []
    for what, unit in (("world", "events/s"), ("lin", "decisions/s")):
        label = (f"world.step B={WORLD_B}" if what == "world" else f"lin_ts shared B={WORLD_B}") + ": torch / numpy time"
        row = _pair(label, unit, "numpy", r[f"{what}_torch"], r[f"{what}_numpy"], {"goal_max": 1.5},
                    "torch on the CPU, default threads; ratio of times (numpy's rate / torch's)")
        row["ratio"] = row["peer_value"] / row["ours_value"]
        rows.append(row)
        log(f"  (t) {label:70s} torch {row['ours_value']:12,.0f} vs numpy {row['peer_value']:12,.0f} {unit}: "
            f"time ratio {row['ratio']:.2f}  (load {row['load']:.2f})")
    return rows


def neural_rows(size: dict, log=print) -> list[dict]:
    """neural_linear_ts against lin_ts (ratio = neural / lin_ts CPU seconds, summed over the rounds)."""
    from bench.neural_vs_lints import measure

    rows = []
    for r in measure(size["neural_parts"], size["neural_rounds"], print_line=lambda line: log(f"  (t) {line}")):
        neural, lin = (sum(t[0] for t in r[k]) for k in ("neural_linear_ts", "lin_ts"))
        wall = sum(t[1] for t in r["neural_linear_ts"]) / sum(t[1] for t in r["lin_ts"])
        rows.append({"problem": "(t) threads and slow paths, own loop", "policy": f"neural_linear_ts / lin_ts: {r['case']}",
                     "impl": "banditsim", "ours_value": neural, "peer_value": lin, "peer_name": "lin_ts",
                     "unit": "CPU s", "ratio": neural / lin, "ratio_wall": wall, "rounds": len(r["cpu_ratios"]),
                     "load": r["load"], "goal_max": 3,
                     "note": f"ratio of CPU seconds ({wall:.2f}x by wall clock); bench.neural_vs_lints, both agents "
                             "at their defaults"})
    return rows


def child(out_path: str, size_name: str) -> None:
    """The child's work: every (t) row, written as JSON to ``out_path``."""
    from bench.world_part import prepared

    size = SIZES[size_name]
    prep = prepared()
    rows = blas_rows(prep, size) + torch_rows(prep, size) + neural_rows(size)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rows, f)


def run_threads(size_name: str) -> list[dict]:
    """Rows of part (t), measured in a child process at the libraries' default thread settings."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        proc = subprocess.run([sys.executable, "-u", "-m", "bench.threads_part", out, size_name], env=env,
                              cwd=ROOT, stderr=subprocess.PIPE, text=True, check=False)  # its lines go to our stdout
        if proc.returncode != 0:
            raise RuntimeError(f"(t) child failed: {proc.stderr.strip().splitlines()[-1:]}")
        with open(out, encoding="utf-8") as f:
            return json.load(f)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in SIZES:
        sys.exit("usage: python -m bench.threads_part ROWS.json quick|full (used by python -m bench)")
    child(sys.argv[1], sys.argv[2])
