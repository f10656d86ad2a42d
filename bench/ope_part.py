"""Problem (e): each off-policy estimator on a large synthetic log, and obp's on the same data.

Our estimators and the log come from ``bench/ope_bench.py`` (``build_cases``); obp's IPW,
SNIPW, DM, DR and Switch-DR get the same arrays (reward, action, pscore, action_dist,
estimated_rewards), so their values should agree with ours and the time ratio is like for
like.  Best of ``repeat``.
"""

from __future__ import annotations

import numpy as np

from bench.ope_bench import build_cases
from bench.timing import best_of, load

OBP_TWINS = {"ips": "InverseProbabilityWeighting", "snips": "SelfNormalizedInverseProbabilityWeighting",
             "dm (estimated_rewards)": "DirectMethod", "dr (estimated_rewards)": "DoublyRobust",
             "switch-dr tau=5 (estimated_rewards)": "SwitchDoublyRobust"}


def _obp_cases(data) -> dict:
    try:
        from obp import ope
    except Exception:  # noqa: BLE001 - obp missing or broken: no comparison
        return {}
    log, pi, q = data["log"], data["pi"], data["q_hat"]
    q3 = q[:, :, None] if q.ndim == 2 else q
    kw = {"reward": log.reward, "action": log.action, "pscore": log.pscore, "action_dist": pi,
          "position": np.zeros_like(log.action), "estimated_rewards_by_reg_model": q3}
    out = {}
    for ours, cls in OBP_TWINS.items():
        est = getattr(ope, cls)(tau=5.0) if cls == "SwitchDoublyRobust" else getattr(ope, cls)()
        out[ours] = lambda est=est: est.estimate_policy_value(**kw)
    return out


def run_ope(rounds: int, repeat: int, log=print) -> list[dict]:
    """Rows for (e): seconds and rows/s per estimator, ours and obp's."""
    cases, _, data = build_cases(rounds)
    peer = _obp_cases(data)
    rows = []
    problem = f"(e) OPE {rounds:,} rows"
    for name, fn in cases:
        seconds = best_of(fn, repeat)
        value = getattr(fn(), "value", float("nan"))
        rows.append({"problem": problem, "policy": name, "impl": "banditsim", "seconds": seconds,
                     "rows_per_s": rounds / seconds, "value": float(value), "load": load(),
                     "note": f"best of {repeat}"})
        log(f"  (e) {name:40s} banditsim {seconds:8.3f} s  value {value:.5f}   (load {rows[-1]['load']:.2f})")
        if name in peer:
            seconds = best_of(peer[name], repeat)
            value = float(peer[name]())
            rows.append({"problem": problem, "policy": name, "impl": "obp", "seconds": seconds,
                         "rows_per_s": rounds / seconds, "value": value, "load": load(),
                         "note": f"best of {repeat}; obp.ope.{OBP_TWINS[name]}"})
            log(f"  (e) {name:40s} obp       {seconds:8.3f} s  value {value:.5f}")
    return rows
