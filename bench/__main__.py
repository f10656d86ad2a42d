"""``python -m bench``: banditsim against its peers and issue 18's targets, in one process.

Parts: (s) one user's stream (one replica, act + update every step) at K=100, 1,000 and 1,682
Bernoulli arms and a sharp linear problem, (l) single-user latency at K=100 against obp with the
Python calls and µs per act + update, (a) K=100 Bernoulli, 100 seeds batched, (b) d=64 linear
contexts, (c) the MovieLens world at B users, (t) threads and slow paths in a user's own loop
(default threads against one, neural_linear_ts against lin_ts, torch on the CPU against numpy),
(d) embedding throughput, (e) off-policy estimators on 1M rows, (m) the runner's peak RSS,
(r) ``banditsim run`` end to end per quickstart agent (cell-loop decisions/s, start-up, wall, peak
RSS), (x) the contextual agents' gain on the MovieLens world (a reduced run, labelled), (g) the
world and LinTS on a CUDA GPU ("not measured: no CUDA device" without one).  Every agent runs at
its defaults; ``--tuned`` adds the tuned rows of earlier tables, labelled "tuned".  The run ends
with issue 18's figures (bench/goals.py): ours, the peer or target, the ratio, the load.
Results go to JSON and markdown (default ``bench/results/latest.{json,md}``).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # the wall time counts from here where the process's own start is unknown

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import report  # noqa: E402
from bench.timing import load, process_age  # noqa: E402

HERE = Path(__file__).resolve().parent
FULL = {"s_T": {"k100": 20_000, "k1000": 5_000, "k1682": 5_000, "sharp": 2_000}, "s_budget": 10.0,
        "l_rounds": 20, "l_chunk": 200, "a_T": 100_000, "b_T": 20_000, "seeds": 100, "peer_budget": 15.0,
        "ours_budget": 0.0, "c_sizes": [1, 256, 4096], "c_budget": 3.0, "c_repeat": 2, "t_size": "full",
        "d_texts": None, "e_rows": 1_000_000, "m_users": 4096, "m_horizon": 2442, "repeat": 3,
        "r_users": 1024, "r_horizon": 200, "x_steps": 100, "x_users": 16, "x_seeds": 3, "x_workers": 2,
        "g_sizes": [4096, 65536], "g_budget": 3.0}
QUICK = {"s_T": {"k100": 300, "k1000": 150, "k1682": 100, "sharp": 150}, "s_budget": 0.25,
         "l_rounds": 2, "l_chunk": 20, "a_T": 150, "b_T": 60, "seeds": 8, "peer_budget": 0.2,
         "ours_budget": 0.0, "c_sizes": [1, 16], "c_budget": 0.1, "c_repeat": 1, "t_size": "quick",
         "d_texts": 16, "e_rows": 20_000, "m_users": 16, "m_horizon": 20, "repeat": 1,
         "r_users": 16, "r_horizon": 20, "x_steps": 10, "x_users": 4, "x_seeds": 2, "x_workers": 1,
         "g_sizes": [256], "g_budget": 0.2}
PARTS = ("s", "l", "a", "b", "c", "t", "d", "e", "m", "r", "x", "g")
READS = {"both": (False, True), "read": (True,), "unread": (False,)}  # --propensities: the timed reads
# --quick's default; the others at their quick sizes take 20 s or more each: (c), (t), (x) fit the
# MovieLens users, (d) loads the transformer, (m), (r) start runs
QUICK_PARTS = "s,l,a,b,e,g"


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"tiny sizes, parts {QUICK_PARTS} (a smoke test, < 30 s)")
    ap.add_argument("--only", default=None,
                    help=f"comma list of parts among {','.join(PARTS)} (default all; with --quick {QUICK_PARTS})")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--markdown", type=Path, default=HERE / "results" / "latest.md")
    ap.add_argument("--seeds", type=int, default=None, help="seeds for (a)/(b) (default 100)")
    ap.add_argument("--peer-budget", type=float, default=None, help="seconds per peer policy (default 20)")
    ap.add_argument("--ours-budget", type=float, default=None,
                    help="seconds per our policy on (a)/(b); 0 = always the full T (default)")
    ap.add_argument("--stream-budget", type=float, default=None,
                    help="(s): seconds per policy and implementation (default 10)")
    ap.add_argument("--mem-users", type=int, default=None, help="(m) users at once (default 4096)")
    ap.add_argument("--mem-horizon", type=int, default=None,
                    help="(m) horizon H of the long run (default 2442: 10M decisions); the short one is H/4")
    ap.add_argument("--peers", default="obp,mabwiser,vw", help="peers to try (comma list; '' for none)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS threads for ours and the peers alike (threadpoolctl); 0 = library default")
    ap.add_argument("--propensity-draws", type=int, default=None,
                    help="Monte-Carlo propensity draws of our Thompson agents on (a)/(b) (default: the agents' "
                         "own default); a value makes those rows 'tuned'")
    ap.add_argument("--tuned", action="store_true",
                    help="(a)/(b): also run the tuned settings of earlier tables (ε=0.05, LinUCB α=0.5, "
                         "LinTS noise 0.25, 1 propensity draw), labelled 'tuned'")
    ap.add_argument("--propensities", choices=READS, default="both",
                    help="(a)/(b): time the sampling agents with every decision's propensities read inside the "
                         "timed act, as a logged run does ('read'; Thompson agents draw them only when read), "
                         "not read ('unread': the peers compute none), or both (default); rows say which")
    args = ap.parse_args(argv)
    if args.only is None:
        args.only = QUICK_PARTS if args.quick else ",".join(PARTS)
    bad = set(args.only.split(",")) - set(PARTS)
    if bad:
        ap.error(f"--only: unknown part(s) {sorted(bad)}; choose among {','.join(PARTS)}")
    return args


def agent_parts(parts, size, args, rows, peer_status) -> None:
    """(a) and (b): ours, then every installed peer on the same problem."""
    from bench.agents_bench import bernoulli_problem, linear_problem
    from bench.peer_runs import run_peer
    from bench.peers import load_peers
    from bench.problems import SAMPLING, run_ours

    peers, status = load_peers(args.peers.split(","))
    peer_status.update(status)
    rates, theta = bernoulli_problem(), linear_problem()
    for part in [p for p in ("a", "b") if p in parts]:
        horizon = size["a_T"] if part == "a" else size["b_T"]
        print(f"({part}) T={horizon:,}, {size['seeds']} seeds", flush=True)
        reads = READS[args.propensities]
        ours = run_ours(part, horizon, size["seeds"], args.propensity_draws, size["ours_budget"] or float("inf"),
                        read_propensities=reads[0], tuned=args.tuned)
        read = {} if len(reads) == 1 else run_ours(
            part, horizon, size["seeds"], args.propensity_draws, size["ours_budget"] or float("inf"),
            read_propensities=True, tuned=args.tuned, agents=SAMPLING)
        for policy, (row, run) in ours.items():
            rows.append(row)
            if policy in read:
                rows.append(read[policy][0])
            for peer in args.peers.split(","):
                make = peers.get(peer, {}).get(part, {}).get(policy.removesuffix(" (tuned)"))
                if make is None:
                    continue
                r = run_peer(make, part, run.steps, size["seeds"], size["peer_budget"], rates, theta)
                r.update(problem=row["problem"], policy=policy, impl=peer, load=load(),
                         ratio=row["decisions_per_s"] / r["decisions_per_s"],
                         ours_regret_same_T=run.regret_at(r["steps"]))
                if policy in read:
                    r["ratio_read"] = read[policy][0]["decisions_per_s"] / r["decisions_per_s"]
                rows.append(r)
                print(f"  {row['problem']:22s} {policy:15s} {peer:9s} {r['decisions_per_s']:14,.0f} dec/s  "
                      f"ours/peer {r['ratio']:8.1f}x" + (f" (read {r['ratio_read']:.1f}x)" if "ratio_read" in r else "")
                      + f"  regret {r['regret']:8.1f} vs ours {r['ours_regret_same_T']:8.1f}"
                      f" @T={r['steps']:,} ({r['seeds']} seeds)", flush=True)


def main(argv=None) -> dict:
    args = parse(argv)
    if args.blas_threads > 0:
        # Env vars cover BLAS libraries loaded later (python -m bench); threadpoolctl those
        # already loaded (main() called from a process that imported numpy).
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(args.blas_threads))
        import numpy  # noqa: F401 - load the BLAS libraries before limiting them
        import scipy.linalg  # noqa: F401

        from bench.peers import load_peers
        load_peers(args.peers.split(","), log=lambda *_: None)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # env vars only: enough for `python -m bench`
            return _run(args, argv)
        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            return _run(args, argv)
    return _run(args, argv)


def _run(args, argv) -> dict:
    size = dict(QUICK if args.quick else FULL)
    if args.seeds:
        size["seeds"] = args.seeds
    for key, arg in (("peer_budget", "peer_budget"), ("ours_budget", "ours_budget"), ("s_budget", "stream_budget"),
                     ("m_users", "mem_users"), ("m_horizon", "mem_horizon")):
        if getattr(args, arg) is not None:
            size[key] = getattr(args, arg)
    parts = args.only.split(",")
    rows: list[dict] = []
    peer_status: dict = {}
    result = {"command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
              "quick": args.quick, "sizes": size, "propensity_draws": args.propensity_draws,
              "propensities": args.propensities, "blas_threads": args.blas_threads or "library default",
              "peers": peer_status, "rows": rows, "started": report.machine()}
    print(f"{result['command'].strip()}: {result['started']['date']}, load "
          f"{' / '.join(str(v) for v in result['started']['load_1_5_15'])}", flush=True)

    def save() -> None:  # after every part, so an interrupted run keeps what it measured
        result["machine"] = report.machine()
        report.write(result, args.json, args.markdown)

    for part in PARTS:
        if part in parts and not (part == "b" and "a" in parts):  # (a) and (b) run together
            rows += PART_RUNS[part](size, args, parts, peer_status)
            save()
    from bench.goals import format_line, issue_figures

    wall = process_age() or time.perf_counter() - _T0
    result["wall_s"] = wall
    result["issue_figures"] = issue_figures(rows, wall if args.quick and args.only == QUICK_PARTS else None)
    save()
    print(f"issue 18's figures (wall {wall:.1f} s, load {load():.2f} at the end):")
    for line in result["issue_figures"]:
        print(format_line(line))
    print(f"wrote {args.json} and {args.markdown}")
    return result


def _stream_part(size, args, parts, peer_status) -> list[dict]:
    from bench.peers import load_peers
    from bench.single_stream import run_single_stream

    _, status = load_peers(args.peers.split(","))
    peer_status.update(status)
    print("(s) one user's stream, every agent at its defaults", flush=True)
    return run_single_stream(size["s_T"], size["s_budget"], [p for p, st in status.items() if st["installed"]])


def _latency_part(size, args, parts, peer_status) -> list[dict]:
    from bench.latency_part import run_latency

    print(f"(l) single-user latency against obp, {size['l_rounds']} x {size['l_chunk']} steps", flush=True)
    return run_latency(size["l_rounds"], size["l_chunk"])


def _agents_part(size, args, parts, peer_status) -> list[dict]:
    rows: list[dict] = []
    agent_parts(parts, size, args, rows, peer_status)
    return rows


def _world_part(size, args, parts, peer_status) -> list[dict]:
    from bench.world_part import run_world

    print("(c) MovieLens world", flush=True)
    return run_world(size["c_sizes"], size["c_budget"], size["c_repeat"], args.propensity_draws)


def _threads_part(size, args, parts, peer_status) -> list[dict]:
    from bench.threads_part import run_threads

    print(f"(t) threads and slow paths in a child at default thread settings ({size['t_size']} size)", flush=True)
    return run_threads(size["t_size"])


def _embed_part(size, args, parts, peer_status) -> list[dict]:
    from bench.embed_part import run_embedding

    print("(d) embeddings", flush=True)
    return run_embedding(size["d_texts"], size["repeat"])


def _ope_part(size, args, parts, peer_status) -> list[dict]:
    from bench.ope_part import run_ope

    print(f"(e) OPE on {size['e_rows']:,} rows", flush=True)
    ope = run_ope(size["e_rows"], size["repeat"])
    for r in ope:
        if r["impl"] == "obp":
            ours = next(o for o in ope if o["impl"] == "banditsim" and o["policy"] == r["policy"])
            r["ratio"] = r["seconds"] / ours["seconds"]
    return ope


def _memory_part(size, args, parts, peer_status) -> list[dict]:
    from bench.memory import run_memory

    print("(m) runner memory", flush=True)
    return run_memory(size["m_users"], size["m_horizon"])


def _e2e_part(size, args, parts, peer_status) -> list[dict]:
    from bench.e2e_part import run_e2e

    print(f"(r) banditsim run end to end, {size['r_users']:,} users x {size['r_horizon']} steps", flush=True)
    return run_e2e(size["r_users"], size["r_horizon"])


def _gain_part(size, args, parts, peer_status) -> list[dict]:
    from bench.gain_part import run_gain

    print(f"(x) contextual gain, reduced run: {size['x_steps']} steps, B={size['x_users']}, {size['x_seeds']} seeds",
          flush=True)
    return run_gain(size["x_steps"], size["x_users"], size["x_seeds"], size["x_workers"])


def _gpu_part(size, args, parts, peer_status) -> list[dict]:
    from bench.gpu_part import run_gpu

    print(f"(g) GPU at B = {', '.join(f'{b:,}' for b in size['g_sizes'])}", flush=True)
    return run_gpu(size["g_sizes"], size["g_budget"])


PART_RUNS = {"s": _stream_part, "l": _latency_part, "a": _agents_part, "b": _agents_part, "c": _world_part,
             "t": _threads_part, "d": _embed_part, "e": _ope_part, "m": _memory_part, "r": _e2e_part,
             "x": _gain_part, "g": _gpu_part}


if __name__ == "__main__":
    main()
