"""Part (x) of ``python -m bench``: do contextual agents earn their context? (issue 18 goal 7), reduced.

The goal's run (``python -m bench.contextual_gain``: 500 steps per slot, B = 16, 6 seeds) takes over
half an hour on two cores; this part runs the same code (:mod:`bench.contextual_gain`: the
quickstart's MovieLens world with the user-history context, k = 10, common random numbers over
seeds) at fewer steps and seeds, and every row says it is a reduced run.  The context-free agents and
the shared-mode contextual agents with history (no history-off rows); then the goal's checks: the best
contextual agent's regret against the best context-free agent's (ratio; goal ≤ 0.80 with 95 %
intervals apart) and the best LinTS against the best LinUCB (goal ≤ 1.10).
"""

from __future__ import annotations

from bench.timing import load

PROBLEM = "(x) contextual gain, MovieLens world"


def _reduced(steps: int, users: int, seeds: int) -> str:
    return (f"reduced run: {steps} steps per slot, B={users}, {seeds} seeds (the goal's run: python -m "
            "bench.contextual_gain, 500 steps, B=16, 6 seeds)")


def run_gain(steps: int, users: int, seeds: int, workers: int, log=print) -> list[dict]:
    """Rows of part (x): each agent's mean regret per slot and 95 % interval, then the two goal checks."""
    from banditsim.sim.stats.intervals import mean_ci
    from bench.contextual_gain import parse, prepared, rows_to_run, run_jobs, template

    a = parse(["--steps", str(steps), "--users", str(users), "--seeds", str(seeds), "--workers", str(workers),
               "--no-demo-rows"])
    prep = prepared(a.users)
    plan = rows_to_run(a)
    jobs = [(name, params, hist, s, a.steps) for _, name, params, hist in plan for s in range(a.seeds)]
    done = iter(run_jobs(prep, template(prep, a.users, a.k, a.dim), jobs, a.workers))
    how = _reduced(steps, users, seeds)
    rows, stats = [], {}
    for label, *_ in plan:
        stats[label] = mean_ci([next(done)["regret"] for _ in range(a.seeds)])
        m, lo, hi = stats[label]
        rows.append({"problem": PROBLEM, "policy": label, "impl": "banditsim", "regret": m, "ci95": [lo, hi],
                     "steps": steps, "seeds": seeds, "load": load(), "note": how})
        log(f"  (x) {label:24s} regret per slot {m:8.2f}  95% [{lo:8.2f}, {hi:8.2f}]  (load {rows[-1]['load']:.2f})")
    return rows + goal_checks(stats, how, log)


def _best(stats: dict, keep) -> str | None:
    labels = [k for k in stats if keep(k)]
    return min(labels, key=lambda k: stats[k][0]) if labels else None


def goal_checks(stats: dict, how: str, log=print) -> list[dict]:
    """The two goal rows from {label: (mean, lo, hi)}: context gain and LinTS / LinUCB (ratios of regret)."""
    rows = []
    free = _best(stats, lambda k: "/" not in k)
    ctx = _best(stats, lambda k: k.endswith("+history"))
    if free and ctx:
        (mc, lc, hc), (mf, lf, hf) = stats[ctx], stats[free]
        apart = hc < lf
        rows.append({"problem": PROBLEM, "policy": "best contextual / best context-free", "impl": "banditsim",
                     "ours_value": mc, "peer_value": mf, "peer_name": free, "ours_name": ctx, "unit": "regret",
                     "ratio": mc / mf, "intervals_apart": bool(apart), "goal_max": 0.8, "load": load(),
                     "note": f"95% intervals {'apart' if apart else 'overlap'}; {how}"})
        log(f"  (x) best contextual {ctx} {mc:.2f} / best context-free {free} {mf:.2f} = {mc / mf:.2f} "
            f"(goal <= 0.80), intervals {'apart' if apart else 'overlap'}")
    ts = _best(stats, lambda k: k.startswith("lin_ts") and k.endswith("+history"))
    ucb = _best(stats, lambda k: k.startswith("linucb") and k.endswith("+history"))
    if ts and ucb:
        rows.append({"problem": PROBLEM, "policy": "best lin_ts / best linucb", "impl": "banditsim",
                     "ours_value": stats[ts][0], "peer_value": stats[ucb][0], "peer_name": ucb, "ours_name": ts,
                     "unit": "regret", "ratio": stats[ts][0] / stats[ucb][0], "goal_max": 1.1, "load": load(),
                     "note": how})
        log(f"  (x) {ts} {stats[ts][0]:.2f} / {ucb} {stats[ucb][0]:.2f} = {rows[-1]['ratio']:.2f} (goal <= 1.10)")
    return rows
