"""Off-policy estimates checked against the simulator's exact ground truth.

1. Warm-up: a uniformly random policy plays a world of its own; every policy (logging and
   targets) and the DM/DR reward model are fitted on those rows, then frozen.
2. Logging: the frozen logging policy plays a fresh world; for every logged row the world's
   exact expected reward of every item *before the step*, q(x, ·), gives the truth
   Σ_a π(a|x) q(x, a) of every target on that very context (user state included).
   Only per-row sums are kept (:mod:`banditsim.sim.offline.reduce`): memory is O(rows × targets).
3. Estimation: IPS, SNIPS, DM, DR, switch-DR on the log with 95% intervals, cluster-robust
   by user (a user's rows in a multi-round session are not independent); true value = mean
   over logged rows of Σ_a π q (exact, no Monte Carlo).

Every row carries the target's overlap diagnostics (:mod:`banditsim.sim.ope.diagnostics`: ESS, max and
p99 weight, support — exact here, from the logging policy's full distribution — and a verdict).
A ``no-support`` target gets no number (``None``) and the other targets go on. ``covers`` is
``None`` where an interval cannot claim coverage: an infinite end, or an interval that excludes
the reward model's bias (DM always; switch-DR with ``switch_tau: auto`` or when it switched rows). DR's interval includes the
model's error: q̂ is fitted on the warm-up rows, independent of the log.

The logging policy is frozen while it logs, so its propensities are those of one fixed policy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from banditsim.sim.policies.frozen import build_policy, exact_probabilities, item_features, shared_ridge
from banditsim.sim.offline.estimate_rows import estimate_row
from banditsim.sim.offline.reduce import ReducedLog, reduce_rows
from banditsim.sim.policies.warmup import collect_warmup


@dataclass
class OPELog:
    """Logged rows (all (n,) unless said) and, per target label, π(a_i|x_i), Σπq, Σπq̂ and the
    supported mass Σ_a π(a|x_i) 1{π_b(a|x_i) > 0} (``support``) and the weight's second moment
    Σ_a π(a|x_i)² / π_b(a|x_i) over those actions (``second_moment``); the last two are absent
    when the logging policy gives no distribution."""

    step: np.ndarray
    user_id: np.ndarray
    context_id: np.ndarray
    features: np.ndarray          # (n, d_u) visible user features
    action: np.ndarray
    pscore: np.ndarray
    reward: np.ndarray
    kind: np.ndarray
    q_logged: np.ndarray          # exact expected reward of the logged action
    qhat_logged: np.ndarray       # reward model at the logged action
    targets: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.action.shape[0])

    def reduced(self, label: str) -> ReducedLog:
        """The two-action summary log of target ``label`` (see :mod:`banditsim.sim.offline.reduce`)."""
        t = self.targets[label]
        return reduce_rows(self.pscore, self.reward, t["pi_logged"], t["pi_q"], self.q_logged,
                           t["pi_qhat"], self.qhat_logged)

    def true_value(self, label: str) -> float:
        """Exact value of target ``label`` on the logged contexts: mean_i Σ_a π(a|x_i) q(x_i, a)."""
        return float(self.targets[label]["pi_q"].mean())


def collect_log(world, logging, targets, reward_model, steps: int, max_rows: int,
                rng: np.random.Generator, seed: int | None = None) -> OPELog:
    """Reset ``world`` (with ``seed``); the frozen ``logging`` policy plays up to ``steps`` steps or ``max_rows`` rows.

    ``reward_model(features) -> (B, n_items)`` is the DM/DR model q̂. Vectorised over the B
    users and the items; the only loops are over steps and targets.
    """
    obs = world.reset(seed=seed)
    b = world.n_users
    steps = min(steps, -(-max_rows // b))
    rows = np.arange(b)
    parts: dict[str, list] = {}
    tparts: dict[str, dict[str, list]] = {
        t.label: {"pi_logged": [], "pi_q": [], "pi_qhat": [], "support": [], "second_moment": []} for t in targets}
    for t in range(steps):
        keep = min(b, max_rows - t * b)
        feats = obs.features.astype(np.float64)
        mask = np.array(obs.mask)
        q = world.expected_rewards()
        qhat = reward_model(feats)
        action, pscore, bdist = logging.decide(feats, mask, rng)
        for target in targets:
            pi = exact_probabilities(target, feats, mask, rng)
            tp = tparts[target.label]
            if bdist is not None:
                seen = bdist > 0
                tp["support"].append(np.where(seen, pi, 0.0).sum(axis=1)[:keep])
                tp["second_moment"].append(np.where(seen, pi * pi / np.where(seen, bdist, 1.0), 0.0).sum(axis=1)[:keep])
            tp["pi_logged"].append(pi[rows, action][:keep])
            tp["pi_q"].append(np.einsum("ij,ij->i", pi, q)[:keep])
            tp["pi_qhat"].append(np.einsum("ij,ij->i", pi, qhat)[:keep])
        res = world.step(action)
        for name, value in (("step", np.full(b, t)), ("user_id", res.user_ids), ("context_id", obs.population_index),
                            ("features", feats), ("action", action), ("pscore", pscore), ("reward", res.reward),
                            ("kind", res.kind), ("q_logged", q[rows, action]), ("qhat_logged", qhat[rows, action])):
            parts.setdefault(name, []).append(value[:keep])
        obs = res.observation
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    return OPELog(**cols, targets={k: {n: np.concatenate(v) for n, v in d.items() if v} for k, d in tparts.items()})


def run_estimator(name: str, red: ReducedLog, *, alpha: float, interval: str, switch_tau, seed: int,
                  cluster=None):
    """Registered estimator ``name`` (:mod:`banditsim.sim.ope.registry`) on a reduced log."""
    from banditsim.sim.ope.registry import get_estimator

    return get_estimator(name)(red.log, red.action_dist, estimated_rewards=red.estimated_rewards,
                               settings={"switch_tau": switch_tau}, alpha=alpha, interval=interval,
                               random_state=seed, cluster=cluster)


def estimate_target(label: str, red: ReducedLog, truth: float | None, estimators, *, support=None, cluster=None,
                    second_moment=None, alpha: float = 0.05, interval: str = "clt", switch_tau="auto",
                    seed: int = 0) -> list[dict]:
    """Rows of every estimator for one target. A ``no-support`` target gets rows with no numbers;
    an estimator that fails on this target gets a row with its error as ``note`` (the rest go on)."""
    from banditsim.sim.ope import OPEInputError
    from banditsim.sim.ope.diagnostics import weight_diagnostics
    from banditsim.sim.ope.registry import get_estimator

    for name in estimators:  # an unknown name is an error, not a row
        get_estimator(name)
    w = red.action_dist[:, 0, 0] / red.log.pscore
    diag = weight_diagnostics(w, support=support, cluster=cluster, second_moment=second_moment)
    out = []
    for name in estimators:
        if diag.verdict == "no-support":
            why = (f"only {diag.support:.1%} of the target's mass is on actions the logging policy can take"
                   if diag.support_exact else  # no logging distribution: the mass is estimated from the weights
                   f"the weights put only {diag.support:.1%} of the target's mass on logged actions "
                   "(estimated; its 95% upper bound is below 99%)")
            out.append(estimate_row(label, name, None, truth, diag, 0.0, f"no estimate: {why}"))
            continue
        t0 = time.perf_counter()
        try:
            est = run_estimator(name, red, alpha=alpha, interval=interval, switch_tau=switch_tau, seed=seed,
                                cluster=cluster)
            note = ""
        except OPEInputError as exc:
            est, note = None, f"no estimate: {exc}"
        out.append(estimate_row(label, name, est, truth, diag, time.perf_counter() - t0, note))
    return out


def estimate_all(log: OPELog, estimators, *, alpha: float = 0.05, interval: str = "clt",
                 switch_tau="auto", seed: int = 0) -> list[dict]:
    """One row per (target, estimator): estimate, cluster-robust interval (by user), truth,
    errors, covers, diagnostics and verdict, seconds. Targets are independent of each other.

    Examples
    --------
    >>> n = 2_000; rng = np.random.default_rng(0)
    >>> r = rng.normal(size=n); one = np.ones(n)
    >>> log = OPELog(step=one, user_id=np.arange(n) % 200, context_id=one, features=one[:, None],
    ...              action=one.astype(int), pscore=one, reward=r, kind=one, q_logged=np.zeros(n),
    ...              qhat_logged=np.zeros(n), targets={"same": {"pi_logged": one, "pi_q": np.zeros(n),
    ...              "pi_qhat": np.zeros(n), "support": one}})
    >>> row = estimate_all(log, ["ips"])[0]
    >>> row["target"], row["estimator"], row["truth"], row["covers"], row["verdict"], row["users"]
    ('same', 'ips', 0.0, True, 'ok', 200)
    """
    out = []
    for label in log.targets:
        out += estimate_target(label, log.reduced(label), log.true_value(label), estimators,
                               support=log.targets[label].get("support"), cluster=log.user_id,
                               second_moment=log.targets[label].get("second_moment"), alpha=alpha,
                               interval=interval, switch_tau=switch_tau, seed=seed)
    return out


@dataclass
class OPEResult:
    """What :func:`run_ope_experiment` found: the log, the table rows, the logging policy's
    true and observed value, and wall-clock seconds per phase."""

    log: OPELog
    rows: list[dict]
    logging: dict
    seconds: dict


def run_ope_experiment(cfg, item_vectors: np.ndarray, population, world_config, *, world=None) -> OPEResult:
    """The whole experiment of an :class:`~banditsim.sim.offline.config.OPEConfig` on given items and users.

    One world (default: :class:`banditsim.envs.world.World` with ``cfg.world.n_users`` users, or ``world``)
    is reset with one seed for the warm-up and another for the log: fresh people each time.
    """
    from banditsim.envs.feedback_kinds import reward_vector
    from banditsim.envs.world import World

    ex = cfg.experiment
    seeds = np.random.SeedSequence(ex.seed).spawn(4)
    ints = [int(s.generate_state(1)[0]) for s in seeds]
    if world is None:
        world = World(item_vectors, population, n_users=cfg.world.n_users, config=world_config, seed=ints[0])
    times = {}
    t0 = time.perf_counter()
    warm = collect_warmup(world, ex.warmup_steps, np.random.default_rng(seeds[1]), seed=ints[0])
    feats = item_features(item_vectors, ex.item_dims)
    kinds = reward_vector(world_config.reward_map)
    cache: dict = {}
    policies = [build_policy(s, item_vectors, feats, kinds, ints[2] + i, cache).fit(warm)
                for i, s in enumerate([cfg.logging, *cfg.targets])]
    model = shared_ridge(warm, feats, ex.reward_model_ridge, cache)
    times["warmup_and_fit"] = time.perf_counter() - t0
    if cfg.world.slate_size > 1:
        return _run_slates(cfg, world, policies, warm, times, seeds, ints)
    t0 = time.perf_counter()
    log = collect_log(world, policies[0], policies[1:], model, ex.log_steps, ex.max_rows,
                      np.random.default_rng(seeds[2]), seed=ints[3])
    times["logging"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = estimate_all(log, ex.estimators, alpha=ex.alpha, interval=ex.interval, switch_tau=ex.switch_tau,
                        seed=ex.seed)
    times["estimation"] = time.perf_counter() - t0
    logging = {"label": cfg.logging.label, "true_value": float(log.q_logged.mean()),
               "mean_reward": float(log.reward.mean()), "warmup_rows": warm.n_rows, "rows": log.n_rows}
    return OPEResult(log=log, rows=rows, logging=logging, seconds=times)


def _run_slates(cfg, world, policies, warm, times, seeds, ints) -> OPEResult:
    """The slate experiment (:mod:`banditsim.sim.offline.slate_experiment`) after the shared warm-up and fits."""
    from banditsim.sim.offline.slate_experiment import check_slate_policies, collect_slate_log, estimate_slates

    ex = cfg.experiment
    check_slate_policies(cfg.logging, cfg.targets)
    t0 = time.perf_counter()
    log = collect_slate_log(world, policies[0], policies[1:], cfg.world.slate_size, ex.log_steps, ex.max_rows,
                            np.random.default_rng(seeds[2]), seed=ints[3])
    times["logging"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = estimate_slates(log, alpha=ex.alpha, interval=ex.interval, seed=ex.seed)
    times["estimation"] = time.perf_counter() - t0
    n_slates = int(log.slate_value_logged.shape[0])
    logging = {"label": cfg.logging.label, "true_value": float(log.slate_value_logged.mean()),
               "mean_reward": float(log.reward.sum() / n_slates), "warmup_rows": warm.n_rows, "rows": n_slates,
               "slate_size": cfg.world.slate_size}
    return OPEResult(log=log, rows=rows, logging=logging, seconds=times)


def run_ope_from_config(cfg, progress: bool = False) -> OPEResult:
    """Prepare the catalog, embeddings and users of ``cfg`` (as ``banditsim run`` does), then run."""
    from banditsim.sim.run.prepare import prepare, world_config

    prep = prepare(cfg, progress=progress)
    return run_ope_experiment(cfg, prep.item_vectors, prep.population, world_config(cfg))
