"""neural_linear_ts / lin_ts time at both agents' defaults (issue 18 goal 5: within 3×).

``python -m bench.neural_vs_lints [--rounds 3] [--parts s,b,q]``.  Three problems, each agent timed in
the same process, rounds interleaved (lin_ts, then neural_linear_ts, then lin_ts ...); the ratio of CPU
time of the process (both agents compute on one thread) holds under machine load, the wall-time ratio
is printed beside it:

* (s) the sharp linear single stream of ``bench.single_stream`` (d=10, K=20), 1,000 steps;
* (b) problem (b) of ``bench.problems`` (d=64, K=50, 100 replicas), 200 steps;
* (q) one quickstart cell (MovieLens world, 64 users, 1,682 items, 100 steps) through the runner's own
  ``play_cell``; lin_ts as the quickstart configures it (``mode: shared``).

(s) and (b) run with propensities unread and read on every step; (q) with the interaction log on
(the runner reads every decision's propensities for it) and off.
"""

from __future__ import annotations

import argparse
import time

from bench.timing import load

PAIR = ("lin_ts", "neural_linear_ts")


def _timed(fn) -> tuple[float, float]:
    """(CPU seconds of the process, wall seconds) of one call of ``fn``."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def _sharp(name: str, read: bool):
    from bench.single_stream import run_ours

    return lambda: run_ours("sharp", name, 1000, float("inf"), read)


def _problem_b(name: str, read: bool):
    from bench.agents_bench import linear_problem
    from bench.problems import ours_linear

    theta = linear_problem()
    return lambda: ours_linear(name, {}, theta, 200, 100, read_propensities=read)


def _quickstart_cells(logged: bool):
    """``name -> callable`` playing one quickstart cell of that agent (world prepared once)."""
    import banditsim.sim.run.play as play
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.run.cells import Cell
    from banditsim.sim.run.prepare import prepare

    agents = [{"name": "lin_ts", "label": "lin_ts", "params": {"mode": "shared"}},
              {"name": "neural_linear_ts", "label": "neural_linear_ts"}]
    cfg = RunConfig(agents=agents, run={"seeds": 1}, log={"enabled": logged})
    prep = prepare(cfg, progress=False)
    play._template_world(prep)
    return {spec["name"]: (lambda i=i, spec=spec: play.play_cell(prep, Cell(i, spec["label"], 0)))
            for i, spec in enumerate(agents)}


def _cases(parts: str):
    """(label, {agent name: callable}) per measured case."""
    out = []
    for read in (False, True):
        tag = "read" if read else "unread"
        if "s" in parts:
            out.append((f"(s) sharp stream, {tag}", {n: _sharp(n, read) for n in PAIR}))
        if "b" in parts:
            out.append((f"(b) d=64 K=50 x100, {tag}", {n: _problem_b(n, read) for n in PAIR}))
        if "q" in parts:
            out.append((f"(q) quickstart cell, log {'on' if read else 'off'}", _quickstart_cells(read)))
    return out


def measure(parts: str = "sbq", rounds: int = 3, print_line=print) -> list[dict]:
    """Rows: case, (CPU s, wall s) of each agent per round and the per-round CPU and wall ratios
    neural_linear_ts / lin_ts."""
    rows = []
    for label, fns in _cases(parts):
        for fn in fns.values():  # warm-up: imports, first-call caches
            fn()
        lin, neural = [], []
        for _ in range(rounds):
            lin.append(_timed(fns[PAIR[0]]))
            neural.append(_timed(fns[PAIR[1]]))
        cpu = [n[0] / max(l[0], 1e-9) for n, l in zip(neural, lin)]
        wall = [n[1] / l[1] for n, l in zip(neural, lin)]
        row = {"case": label, "lin_ts": lin, "neural_linear_ts": neural, "cpu_ratios": cpu, "wall_ratios": wall,
               "load": load()}
        rows.append(row)
        print_line(f"{label:34s} CPU s lin_ts {min(t[0] for t in lin):7.2f}  neural {min(t[0] for t in neural):7.2f}"
                   f"  ratio {min(cpu):.2f}-{max(cpu):.2f}x  wall ratio {min(wall):.2f}-{max(wall):.2f}x"
                   f"  (load {row['load']:.1f})")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.neural_vs_lints", description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parts", default="sbq", help="any of s, b, q")
    args = ap.parse_args(argv)
    measure(args.parts, args.rounds)


if __name__ == "__main__":
    main()
