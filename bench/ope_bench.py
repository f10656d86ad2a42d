"""Time each OPE estimator on a large synthetic log and print a table.

Usage: python bench/ope_bench.py [--rounds 1000000] [--actions 80] [--dim 16] [--repeat 3]

Times are the best of ``--repeat`` runs, each including input validation; the model-based
estimators (DM, DR, switch-DR) are timed twice: with precomputed obp-style
``estimated_rewards`` and fitting the default ridge reward model inside the call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from banditsim.sim.ope import (
    RidgeRewardModel,
    SlateLog,
    cascade_pscore,
    direct_method,
    doubly_robust,
    independent_ips,
    ips,
    reward_interaction_ips,
    snips,
    softmax_target_policy,
    switch_dr,
    synthetic_log,
)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build_cases(rounds: int, actions: int = 80, dim: int = 16, len_list: int = 3):
    """The synthetic log and the estimator calls timed on it.

    Returns ``(cases, setup_seconds, data)`` where ``cases`` is a list of (name, callable)
    and ``data`` holds ``log``, ``pi`` (target action_dist) and ``q_hat`` (estimated rewards).
    """
    t0 = time.perf_counter()
    log = synthetic_log(rounds, actions, dim_context=dim, random_state=0)
    pi = softmax_target_policy(log, temperature=0.3)
    q_hat = RidgeRewardModel().fit(log).predict(log.context)
    setup = time.perf_counter() - t0
    n, k = rounds, len_list
    rng = np.random.default_rng(1)
    slate_id = np.repeat(np.arange(n // k), k)
    position = np.tile(np.arange(k), n // k)
    pb, pe = rng.uniform(0.01, 1.0, n // k * k), rng.uniform(0.0, 1.0, n // k * k)
    slate = SlateLog(slate_id=slate_id, position=position, reward=rng.random(n // k * k) < 0.1,
                     pscore_item_position=pb, pscore_cascade=cascade_pscore(slate_id, position, pb))
    pe_cascade = cascade_pscore(slate_id, position, np.maximum(pe, 1e-3))

    cases = [
        ("ips", lambda: ips(log, pi)),
        ("snips", lambda: snips(log, pi)),
        ("dm (estimated_rewards)", lambda: direct_method(log, pi, estimated_rewards=q_hat)),
        ("dr (estimated_rewards)", lambda: doubly_robust(log, pi, estimated_rewards=q_hat)),
        ("switch-dr tau=5 (estimated_rewards)",
         lambda: switch_dr(log, pi, tau=5.0, estimated_rewards=q_hat)),
        ("dm (fit ridge)", lambda: direct_method(log, pi)),
        ("dr (fit ridge)", lambda: doubly_robust(log, pi)),
        ("switch-dr tau=5 (fit ridge)", lambda: switch_dr(log, pi, tau=5.0)),
        ("ips, bootstrap B=200", lambda: ips(log, pi, interval="bootstrap", random_state=0)),
        (f"slate iips ({n // k} slates x {k})", lambda: independent_ips(slate, pe)),
        (f"slate rips ({n // k} slates x {k})", lambda: reward_interaction_ips(slate, pe_cascade)),
        ("ridge fit only (onehot)", lambda: RidgeRewardModel().fit(log)),
    ]
    return cases, setup, {"log": log, "pi": pi, "q_hat": q_hat}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=80)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--len-list", type=int, default=3, help="slots per slate (slate rows)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows, setup, data = build_cases(args.rounds, args.actions, args.dim, args.len_list)
    print(f"# {args.rounds:,} rounds, {args.actions} actions, context dim {args.dim}, "
          f"action_dist {data['pi'].shape} float64; setup {setup:.1f} s; best of {args.repeat}")
    print(f"| {'estimator':<40} | {'seconds':>8} | {'value':>9} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 11}|")
    for name, fn in rows:
        seconds = best_of(fn, args.repeat)
        result = fn()
        value = getattr(result, "value", float("nan"))
        print(f"| {name:<40} | {seconds:8.3f} | {value:9.5f} |")


if __name__ == "__main__":
    main()
