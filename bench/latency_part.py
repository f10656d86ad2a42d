"""Part (l) of ``python -m bench``: single-user latency at K = 100 against obp (issue 18 goal 3).

One stream, one row per ``act`` and ``update``, Thompson sampling (``beta_ts``), ε-greedy and LinUCB
(d = 10 unit-norm contexts) at their defaults against obp's BernoulliTS, EpsilonGreedy (ε = 0.1) and
LinUCB (α = 1), timed in alternating chunks by :func:`bench.latency_vs_obp.compare` (wall and
thread CPU clocks; the row's ratio is by thread CPU time, which other processes on a loaded
machine disturb far less, the wall-clock ratio is kept beside it).  Each row also carries the Python overhead of one act + update: our thread CPU
µs per step and cProfile's count of Python calls per step.
"""

from __future__ import annotations

CASES = (("beta_ts", 100), ("epsilon_greedy", 100), ("linucb", 100))
POLICY = {"beta_ts": "thompson", "epsilon_greedy": "epsilon_greedy", "linucb": "linucb"}


def run_latency(rounds: int, chunk: int, log=print) -> list[dict]:
    """Rows of part (l): ours against obp per case (ratio = obp's CPU seconds / ours)."""
    try:
        from bench.latency_vs_obp import compare
    except ImportError as exc:  # obp missing: latency_vs_obp imports it per call, threadpoolctl at import
        log(f"  (l) not measured: {exc}")
        return [{"problem": "(l) single-user latency", "policy": "all", "impl": "banditsim",
                 "note": f"not measured: {exc}"}]
    rows = []
    for agent, n_arms in CASES:
        try:
            r = compare(agent, n_arms, rounds=rounds, chunk=chunk)
        except ImportError as exc:
            log(f"  (l) {agent}: not measured: {exc}")
            continue
        n = rounds * chunk
        rows.append({"problem": f"(l) single-user latency, K={n_arms}" + (", d=10" if agent == "linucb" else ""),
                     "policy": POLICY[agent], "impl": "banditsim", "agent": agent, "params": {},
                     "ours_value": 1e6 / r["ours_cpu_us"], "peer_value": 1e6 / r["obp_cpu_us"], "peer_name": "obp",
                     "unit": "decisions per CPU-s", "ratio": r["ratio_cpu"], "ratio_wall": r["ratio_wall"],
                     "decisions_per_s": r["ours_per_s"], "peer_decisions_per_s": r["obp_per_s"],
                     "us_per_step": r["ours_cpu_us"], "peer_us_per_step": r["obp_cpu_us"],
                     "calls_per_step": r["calls_per_step"], "steps": n, "load": r["load"],
                     "note": f"defaults, {rounds} alternating chunks of {chunk} steps each; ratio by thread CPU "
                             f"time ({r['ratio_wall']:.2f}x by wall clock); act+update {r['ours_cpu_us']:.1f} µs CPU "
                             f"(obp {r['obp_cpu_us']:.1f}), {r['calls_per_step']:.0f} Python calls"})
    return rows
