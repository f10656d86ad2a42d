"""A/B test simulation and sizing: lift with intervals and p-values, guardrails, users needed, power check.

1. Both policies train on warm-up rows (uniform policy, a world of its own), then freeze.
2. The observed test: ``users_per_arm`` users per arm, followed ``horizon`` steps; per metric,
   Welch lift (treatment − control) with its 95% interval and p-value; a guardrail is flagged
   when the treatment raises it significantly (lift > 0, p < α).
3. Sizing: users per arm for ``power`` at ``alpha`` to detect the observed lift of the primary
   metric, from the observed variances (noncentral-t power, :mod:`banditsim.sim.stats.two_sample`).
4. Power check: ``power_tests`` simulated tests at the largest multiple of that size, all at
   once on the batched world; for each multiple, the first n users of each arm of each test
   form a test of size n (valid because users are independent under frozen policies);
   detection = p < α with the lift's sign. Compared with the analytic power from the observed
   variances (the planning line) and from the pooled simulated users (the true parameters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from banditsim.sim.abtest.simulate import simulate_many
from banditsim.sim.metrics import ab_metric_names
from banditsim.sim.stats.two_sample import power, required_n, welch, wilson
from banditsim.sim.policies.frozen import build_policy, item_features
from banditsim.sim.policies.warmup import collect_warmup


def lift_table(users: np.ndarray, alpha: float, guardrails=("negative_rate", "session_end_rate")) -> list[dict]:
    """Per metric: control, treatment, lift, interval, p, significant, guardrail flag.

    ``users``: (2, n, len(ab_metric_names())) per-user metrics of one test.

    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(0.5, 0.1, size=(2, 500, 4)); u[1, :, 2] += 0.05      # treatment: more negatives
    >>> [r["metric"] for r in lift_table(u, 0.05) if r["guardrail_breached"]]
    ['negative_rate']
    """
    r = welch(users[0].T, users[1].T, alpha)
    out = []
    for i, m in enumerate(ab_metric_names()):
        sig = bool(r["p"][i] < alpha)
        out.append({"metric": m, "control": float(r["control"][i]), "treatment": float(r["treatment"][i]),
                    "lift": float(r["diff"][i]), "low": float(r["low"][i]), "high": float(r["high"][i]),
                    "relative_lift": float(r["relative"][i]), "p_value": float(r["p"][i]), "significant": sig,
                    "var_control": float(r["var_control"][i]), "var_treatment": float(r["var_treatment"][i]),
                    "guardrail": m in guardrails,
                    "guardrail_breached": bool(m in guardrails and sig and r["diff"][i] > 0)})
    return out


def sizing(lifts: list[dict], alpha: float, target: float, users_per_day: int | None = None) -> list[dict]:
    """Users per arm (and days, given traffic) to detect each metric's observed lift."""
    out = []
    for r in lifts:
        n = required_n(r["lift"], r["var_control"], r["var_treatment"], alpha, target)
        row = {"metric": r["metric"], "lift": r["lift"], "users_per_arm": n,
               "detectable": n <= 100_000_000}
        row["days"] = int(-(-n // users_per_day)) if users_per_day and row["detectable"] else None
        out.append(row)
    return out


def detection_curve(users: np.ndarray, ns, metric: int, sign: float, alpha: float, params: dict) -> list[dict]:
    """Simulated detection rate (with Wilson interval) and analytic power at each n.

    ``users``: (n_tests, 2, n_max, len(ab_metric_names())); the first n users of each arm form a test of size n.
    ``params``: lift/var_control/var_treatment of the planning (pilot) estimates.
    """
    pooled = welch(users[:, 0, :, metric].ravel(), users[:, 1, :, metric].ravel(), alpha)
    out = []
    for n in ns:
        sub = users[:, :, :n, metric]
        r = welch(sub[:, 0], sub[:, 1], alpha)
        hits = int(((r["p"] < alpha) & (np.sign(r["diff"]) == sign)).sum())
        lo, hi = wilson(hits, sub.shape[0])
        out.append({"users_per_arm": int(n), "tests": int(sub.shape[0]), "detected": hits,
                    "detection_rate": hits / sub.shape[0], "low": float(lo), "high": float(hi),
                    "power_planned": float(power(n, params["lift"], params["var_control"],
                                                 params["var_treatment"], alpha)),
                    "power_true": float(power(n, pooled["diff"], pooled["var_control"],
                                              pooled["var_treatment"], alpha)),
                    "pooled_lift": float(pooled["diff"])})
    return out


@dataclass
class ABResult:
    """The observed test's per-user metrics (2, n, len(ab_metric_names())), lift rows, sizing rows,
    power-check rows (empty when skipped, with ``note`` saying why) and seconds per phase."""

    users: np.ndarray
    lifts: list[dict]
    sizing: list[dict]
    power_curve: list[dict]
    primary: str
    required_n: int
    note: str
    seconds: dict


def run_abtest(cfg, item_vectors: np.ndarray, population, world_config) -> ABResult:
    """The whole A/B study of an :class:`~banditsim.sim.abtest.config.ABTestConfig` on given items and users."""
    from banditsim.envs.feedback_kinds import reward_vector
    from banditsim.envs.world import World

    t = cfg.test
    root = np.random.SeedSequence(t.seed)
    s_warm, s_pol, s_pilot, s_check, s_rng = root.spawn(5)
    rng = np.random.default_rng(s_rng)

    def make_world(n_users: int, seed: int):
        return World(item_vectors, population, n_users=n_users, config=world_config, seed=seed)

    times = {}
    t0 = time.perf_counter()
    warm_seed = int(s_warm.generate_state(1)[0])
    warm = collect_warmup(make_world(t.warmup_users, warm_seed), t.warmup_steps, rng, seed=warm_seed)
    feats = item_features(item_vectors, t.item_dims)
    kinds = reward_vector(world_config.reward_map)
    pol_seed = int(s_pol.generate_state(1)[0])
    control, treatment = (build_policy(s, item_vectors, feats, kinds, pol_seed + i, {}).fit(warm)
                          for i, s in enumerate((cfg.control, cfg.treatment)))
    times["warmup_and_fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    users = simulate_many(make_world, control, treatment, 1, t.users_per_arm, t.horizon, t.max_slots, rng,
                          s_pilot)[0]
    lifts = lift_table(users, t.alpha, tuple(t.guardrails))
    sizes = sizing(lifts, t.alpha, t.power, t.users_per_day)
    times["test"] = time.perf_counter() - t0
    k = ab_metric_names().index(t.primary_metric)
    n_req = sizes[k]["users_per_arm"]
    ns = sorted({max(2, int(round(m * n_req))) for m in t.power_multipliers})
    curve, note = [], ""
    if t.power_tests == 0:
        note = "power check skipped (test.power_tests = 0)"
    elif not sizes[k]["detectable"]:
        note = f"no lift in {t.primary_metric}: nothing to size"
    elif t.power_tests * 2 * ns[-1] > t.max_check_users:
        note = (f"power check skipped: {t.power_tests} tests × 2 × {ns[-1]:,} users exceeds "
                f"test.max_check_users = {t.max_check_users:,}")
    else:
        t0 = time.perf_counter()
        sims = simulate_many(make_world, control, treatment, t.power_tests, ns[-1], t.horizon, t.max_slots,
                             rng, s_check)
        params = lifts[k]
        curve = detection_curve(sims, ns, k, float(np.sign(params["lift"])), t.alpha,
                                {"lift": params["lift"], "var_control": params["var_control"],
                                 "var_treatment": params["var_treatment"]})
        times["power_check"] = time.perf_counter() - t0
    return ABResult(users=users, lifts=lifts, sizing=sizes, power_curve=curve, primary=t.primary_metric,
                    required_n=n_req, note=note, seconds=times)


def run_abtest_from_config(cfg, progress: bool = False) -> ABResult:
    """Prepare the catalog, embeddings and users of ``cfg`` (as ``banditsim run`` does), then run."""
    from banditsim.sim.run.prepare import prepare, world_config

    prep = prepare(cfg, progress=progress)
    return run_abtest(cfg, prep.item_vectors, prep.population, world_config(cfg))
