"""The README's production-realism tables (issue #21), measured: ``python -m bench.production_realism``.

Regret against feedback delay and against ``run.update_every``; stationary against forgetting
agents with drift off, on, strong and with a population trend (and their paired differences); the
private agents against ε with the non-private agents as a reference row. Cumulative regret per
user at the horizon, mean [95% interval over seeds]. The world, variants and agents are
``sim.realism_study``'s, the same as ``notebooks/production_realism.ipynb``'s (which plots them).
Prints markdown, with the command, date, size, load and wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone

from banditsim.sim.studies import realism_study as rs

SECTIONS = ("delay", "every", "drift", "privacy")


def delay_tables(study: rs.RealismStudy) -> str:
    """Regret against a fixed delay and the realistic mix."""
    return rs.markdown(study.regret(rs.delay_variants(study.size), rs.learners()), "every answer late by (steps)")


def cadence_tables(study: rs.RealismStudy) -> str:
    """Regret against ``run.update_every``."""
    return rs.markdown(study.regret(rs.cadence_variants(study.size), rs.learners()), "`update_every`")


def drift_tables(study: rs.RealismStudy) -> str:
    """Stationary vs forgetting agents per drift variant, then forgetting − stationary per seed."""
    points = study.regret(rs.DRIFTS, rs.drift_agents())
    labels = {"discounted_beta_ts": f"`discounted_beta_ts` (γ {rs.GAMMA})",
              "discounted_lin_ts": f"`discounted_lin_ts` (γ {rs.GAMMA})",
              "discounted_linucb": f"`discounted_linucb` (γ {rs.GAMMA})",
              "sliding_window_ucb": f"`sliding_window_ucb` (window {rs.WINDOW})"}
    diffs = rs.paired_differences(points, rs.FORGETTING)
    return (rs.markdown(points, "agent", rows="agent", row_labels=labels) + "\n\n"
            + rs.markdown(diffs, "forgetting − stationary (same seeds)", rows="agent", signed=True))


def privacy_tables(study: rs.RealismStudy) -> str:
    """Regret against ε, and the non-private agents (``rs.private_references``) as the last row."""
    points = []
    for eps in rs.epsilons(study.size):
        points += study.regret({f"{eps:g}": {}}, rs.private_agents(eps))
    plain = {v: k for k, v in rs.PRIVATE.items()}
    ref = "not private (`lin_ts` with noise 0.5, `linucb`, `beta_ts` with `binarize: true`)"
    points += [rs.Point(ref, plain[p.agent], p.per_seed) for p in study.regret({ref: {}}, rs.private_references())]
    return rs.markdown(points, "ε")


TABLES = {"delay": delay_tables, "every": cadence_tables, "drift": drift_tables, "privacy": privacy_tables}


def main(argv: list[str] | None = None) -> int:
    """Print the chosen sections' tables (all by default) at the chosen size."""
    parser = argparse.ArgumentParser(prog="python -m bench.production_realism", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("ci", "full"), default="full",
                        help="full: the notebook's stored size (32 users x 100 steps, 6 seeds); ci: tiny")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown or not only:
        print(f"error: --only: unknown section {unknown[0]!r} (sections: {', '.join(SECTIONS)})" if unknown
              else "error: --only: no section given", file=sys.stderr)
        return 2
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    study = rs.RealismStudy(args.size)
    print(f"size {args.size}: {study.n_users} users x {study.horizon} steps, {study.seeds} seeds; "
          "cumulative regret per user at the horizon, mean [95% interval over seeds]\n")
    for name in only:
        t0 = time.perf_counter()
        print(TABLES[name](study))
        print(f"\n({name}: {time.perf_counter() - t0:.0f} s)\n", flush=True)
    load1 = os.getloadavg()
    print(f"Measured {datetime.now(timezone.utc).isoformat(timespec='seconds')}: "
          f"`python -m bench.production_realism{' --size ci' if args.size == 'ci' else ''}"
          f"{'' if only == list(SECTIONS) else ' --only ' + ','.join(only)}`, "
          f"{time.perf_counter() - start:.0f} s wall, load {load0:.1f} at the start, "
          f"{load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f} at the end ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
