"""(r) End to end: ``banditsim run`` per quickstart agent at its defaults (issue 18 goal 4).

Each agent runs as its own child process, the command a user types::

    banditsim run --seeds 1 --workers 1 --set world.n_users=1024 --set run.horizon=200 \\
        --set 'agents=[{name: <agent>}]'

(204,800 decisions; the log, metrics, plots and report all on, as by default), and the linear
agents once more as the quickstart configures them (``params: {mode: shared}``, rows labelled
``linucb (shared)``, ``lin_ts (shared)``). The child is this
module (``python -m bench.e2e_part --child``): it calls the same ``sim.cli.main`` and times the
phases around :mod:`sim.play`'s functions. How the figures count:

* **cell loop**: :func:`sim.play.play_cell` less its set-up (copying the seed's world, building
  the agent) and its result tables: the steps (act, world step, update, metrics, log rows,
  explanations). ``decisions/s`` = n_users × horizon / cell-loop seconds; ``cpu decisions/s`` the
  same over the cell loop's CPU seconds (``time.process_time``: all threads of the child), which
  a loaded machine stretches far less than the wall clock.
* **start-up**: process start to the first cell (imports, embedding cache load, population fit)
  plus building the template world (first cell only).
* **rest**: cell set-up and tables, writing the cell files, merging, summary, plots and report.
* **wall**: the child process as the kernel saw it (``os.wait4``); **peak RSS**: the child's own
  high-water mark (``VmHWM``, read as it ends; ``ru_maxrss`` where /proc has none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from bench.timing import load

QUICKSTART = ("random", "epsilon_greedy", "beta_ts", "dirichlet_ts", "linucb", "lin_ts",
              "linucb (shared)", "lin_ts (shared)")
LINEAR = ("linucb", "lin_ts")
SHARED = " (shared)"  # the quickstart's setting of the linear agents: params {mode: shared}
GOAL = {"context-free": 100_000, "linear": 20_000}  # decisions/s in the cell loop (issue 18 goal 4)
GOAL_RSS_MIB = 1024


def run_argv(out: str, agent: str, n_users: int, horizon: int) -> list[str]:
    """``banditsim run`` arguments for one agent at its defaults (``"<name> (shared)"``: with
    ``mode: shared``), one seed, one worker."""
    spec = (f"{{name: {agent.removesuffix(SHARED)}, params: {{mode: shared}}}}" if agent.endswith(SHARED)
            else f"{{name: {agent}}}")
    return ["run", "--out", out, "--quiet", "--seeds", "1", "--workers", "1",
            "--set", f"world.n_users={n_users}", "--set", f"run.horizon={horizon}",
            "--set", f"agents=[{spec}]"]


def _child(phases_path: str, argv: list[str]) -> None:
    """Run ``banditsim <argv>`` in this process with the phase clocks on; write them as JSON."""
    t0 = time.perf_counter()
    import banditsim.sim.run.play as play
    import banditsim.sim.run.runner as runner

    keys = ("play", "world_build", "setup", "tables", "write", "finish")
    spent = dict.fromkeys(keys, 0.0) | dict.fromkeys([f"{k}_cpu" for k in keys], 0.0)
    first = []

    def clock(key, fn):
        def timed(*a, **k):
            if key == "play" and not first:
                first.append(time.perf_counter() - t0)
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - start
                spent[f"{key}_cpu"] += time.process_time() - start_cpu
        return timed

    play.play_cell = clock("play", play.play_cell)
    play._template_world = clock("world_build", play._template_world)
    play.start_world = clock("setup", play.start_world)
    play.build_agent = clock("setup", play.build_agent)
    play._tables = clock("tables", play._tables)
    runner.write_cell = clock("write", runner.write_cell)
    runner.finish = clock("finish", runner.finish)
    from banditsim.sim.cli import main

    sys.argv = ["banditsim", *argv]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
    spent["first_cell"] = first[0] if first else float("nan")
    spent["child_wall"] = time.perf_counter() - t0
    spent["peak_rss_mib"] = own_peak_rss_mib()
    with open(phases_path, "w", encoding="utf-8") as f:
        json.dump(spent, f)


def own_peak_rss_mib() -> float | None:
    """This process's peak resident memory in MiB (Linux ``VmHWM``), or None where /proc has none.

    The parent cannot use ``os.wait4``'s ``ru_maxrss`` for this: Linux keeps the high-water mark across
    ``execve``, and a child started by ``vfork`` inherits the parent's (a bench process that already
    loaded the model and the world reported 2.3 GiB for every child)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(agent: str, n_users: int, horizon: int) -> dict:
    """One agent's end-to-end run in a child process: phases, wall, peak RSS, decisions/s."""
    with tempfile.TemporaryDirectory() as tmp:
        phases = os.path.join(tmp, "phases.json")
        cmd = [sys.executable, "-m", "bench.e2e_part", "--child", phases,
               *run_argv(os.path.join(tmp, "run"), agent, n_users, horizon)]
        before = load()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"banditsim run ({agent}) failed: {err[-1] if err else status}")
        with open(phases, encoding="utf-8") as f:
            p = json.load(f)
    decisions = n_users * horizon
    loop = p["play"] - p["setup"] - p["tables"]  # setup includes the template world build
    loop_cpu = p["play_cpu"] - p["setup_cpu"] - p["tables_cpu"]
    startup = p["first_cell"] + p["world_build"]
    kind = "linear" if agent.removesuffix(SHARED) in LINEAR else "context-free"
    rss = p.get("peak_rss_mib") or usage.ru_maxrss / 1024
    dps = decisions / loop
    return {"problem": "(r) banditsim run end to end", "policy": agent, "impl": "banditsim",
            "decisions": decisions, "n_users": n_users, "horizon": horizon, "decisions_per_s": dps,
            "cpu_decisions_per_s": decisions / loop_cpu, "loop_s": loop, "loop_cpu_s": loop_cpu, "startup_s": startup, "rest_s": wall - loop - startup, "seconds": wall,
            "peak_rss_mib": rss, "load": (before + load()) / 2, "phases": p, "kind": kind,
            "goal_decisions_per_s": GOAL[kind],
            "goal_met": bool(dps >= GOAL[kind] and rss < GOAL_RSS_MIB),
            "note": (f"cell loop {dps:,.0f} decisions/s ({loop:.1f} s; goal {GOAL[kind]:,}), "
                     f"{decisions / loop_cpu:,.0f} per CPU-s; start-up "
                     f"{startup:.1f} s; rest {wall - loop - startup:.1f} s; load {(before + load()) / 2:.1f}")}


def run_e2e(n_users: int = 1024, horizon: int = 200, agents=QUICKSTART, log=print) -> list[dict]:
    """Rows of part (r): every quickstart agent, one child process each, in turn."""
    rows = []
    for agent in agents:
        r = measure(agent, n_users, horizon)
        rows.append(r)
        log(f"  (r) {agent:16s} loop {r['decisions_per_s']:>10,.0f} dec/s ({r['loop_s']:6.1f} s; "
            f"{r['cpu_decisions_per_s']:,.0f} per CPU-s)  start-up "
            f"{r['startup_s']:5.1f} s  rest {r['rest_s']:5.1f} s  wall {r['seconds']:6.1f} s  peak RSS "
            f"{r['peak_rss_mib']:7.0f} MiB  goal {r['goal_decisions_per_s']:,}/s, <{GOAL_RSS_MIB} MiB: "
            f"{'met' if r['goal_met'] else 'missed'}  (load {r['load']:.1f})")
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("usage: python -m bench.e2e_part --child PHASES.json <banditsim arguments> (used by python -m bench)")
