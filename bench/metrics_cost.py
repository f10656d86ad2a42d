"""Time the metrics inside real cells: ``python bench/metrics_cost.py --n-users 1024 --horizon 50``.

Plays one seed of each quickstart agent at ``n_users`` users (MovieLens world) and reports, per
agent and for the whole run, the time spent in :class:`sim.metrics.tracker.MetricTracker` (the truth
before each truth step and the per-step metrics) as a share of the cell's time. Both are measured in
the same process, so the share holds under machine load.
"""

from __future__ import annotations

import argparse
import time


def measure(n_users: int = 1024, horizon: int = 50, print_line=print) -> float:
    """Share of the cells' time spent computing metrics (all quickstart agents, seed 0)."""
    import banditsim.sim.run.play as play
    from banditsim.sim.run.cells import Cell
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.metrics import tracker
    from banditsim.sim.run.prepare import prepare

    cfg = RunConfig(world={"n_users": n_users}, run={"horizon": horizon, "seeds": 1})
    prep = prepare(cfg, progress=False)
    spent = [0.0]
    originals = tracker.MetricTracker.truth, tracker.MetricTracker.step

    def timed(f):
        def g(*a, **k):
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t0
        return g

    tracker.MetricTracker.truth, tracker.MetricTracker.step = (timed(f) for f in originals)
    try:
        play._template_world(prep)
        total = metric = 0.0
        for i, spec in enumerate(cfg.agents):
            spent[0] = 0.0
            t0 = time.perf_counter()
            play.play_cell(prep, Cell(agent_index=i, agent_label=spec.label or spec.name, seed_index=0))
            cell = time.perf_counter() - t0
            total, metric = total + cell, metric + spent[0]
            print_line(f"{spec.label or spec.name:15s} cell {cell:7.2f} s  metrics {spent[0]:6.2f} s  "
                       f"{spent[0] / cell:6.1%}")
        print_line(f"{'all agents':15s} cell {total:7.2f} s  metrics {metric:6.2f} s  {metric / total:6.1%}")
        return metric / total
    finally:
        tracker.MetricTracker.truth, tracker.MetricTracker.step = originals


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/metrics_cost.py", description=__doc__.split("\n")[0])
    ap.add_argument("--n-users", type=int, default=1024)
    ap.add_argument("--horizon", type=int, default=50)
    args = ap.parse_args(argv)
    measure(args.n_users, args.horizon)


if __name__ == "__main__":
    main()
