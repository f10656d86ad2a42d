"""Slate OPE against the simulator's exact slate value (``banditsim ope`` with ``world.slate_size > 1``).

Policies are ridge policies (``kind: ridge``) ranking the allowed items by their model's score:

- logging: with probability ``1 - epsilon`` the top-k slate, with probability ``epsilon`` a
  uniformly random slate of k distinct allowed items in random order (``epsilon > 0``, so every
  slate can be logged). Its propensities are exact: item-position marginal
  ``(1 - e) 1{a_j = top_j} + e / n_allowed``, prefix (cascade) ``(1 - e) 1{a_0..a_j = top_0..top_j}
  + e prod_{m <= j} 1 / (n_allowed - m)``;
- targets: the deterministic top-k slate of their own model (``temperature: 0, epsilon: 0``), so
  the truth is exact: the world's ``slate_expected_rewards`` of the target's slate for the user's
  state before the step, averaged over the logged rows.

The world answers a slate with one response at one position (cascade choice); the reward goes to
that position (to the last one when no position responded), so a slate's rewards sum to its
reward. Estimators: IIPS (item-position), RIPS (cascade) and standard slate IPS (whole slate), with
intervals cluster-robust by user; the diagnostics and verdict use the whole-slate weights (exact
support and expected ESS from the logging probabilities of each target's slate).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from banditsim.sim.policies.frozen import PolicyError


def check_slate_policies(logging, targets) -> None:
    """One-line :class:`PolicyError` unless the policies fit slate OPE (see the module docstring)."""
    if logging.kind != "ridge" or logging.temperature != 0 or not logging.epsilon > 0:
        raise PolicyError(f"slate OPE (world.slate_size > 1): the logging policy {logging.label!r} must be kind "
                          "'ridge' with temperature 0 and epsilon > 0 (top-k slate, else a random slate)")
    for t in targets:
        if t.kind != "ridge" or t.temperature != 0 or t.epsilon != 0:
            raise PolicyError(f"slate OPE (world.slate_size > 1): target {t.label!r} must be kind 'ridge' with "
                              "temperature 0 and epsilon 0 (its top-k slate, so the truth is exact)")


def top_k(scores: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """(B, k) allowed items by descending score (ties: lower item id first).

    >>> top_k(np.array([[0.1, 0.9, 0.5, 0.7]]), np.array([[True, True, True, False]]), 2).tolist()
    [[1, 2]]
    """
    s = np.where(mask, scores, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


@dataclass
class SlateOPELog:
    """Logged slates, long format (one row per (slate, position)), and per target the exact
    truth per slate, the target's propensities of the logged items, and ``p_logging``: the
    logging policy's probability of the target's slate, per slate."""

    slate_id: np.ndarray
    user_id: np.ndarray
    position: np.ndarray
    item: np.ndarray
    reward: np.ndarray
    pscore_item_position: np.ndarray
    pscore_cascade: np.ndarray
    slate_value_logged: np.ndarray                     # (n_slates,) exact value of each logged slate
    targets: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.slate_id.shape[0])

    def table(self):
        """The logged rows as a pyarrow table (``pi_ip_/pi_cascade_<target>`` columns)."""
        import pyarrow as pa

        cols = {k: getattr(self, k) for k in ("slate_id", "user_id", "position", "item", "reward",
                                              "pscore_item_position", "pscore_cascade")}
        for label, t in self.targets.items():
            cols[f"pi_ip_{label}"] = t["pi_ip"]
            cols[f"pi_cascade_{label}"] = t["pi_cascade"]
        return pa.table(cols)


def _logging_propensities(slates, top, n_allowed, eps):
    """Item-position marginals and prefix probabilities (B, k) of ``slates`` under the logging policy."""
    k = slates.shape[1]
    same = slates == top
    prefix_same = np.cumprod(same, axis=1).astype(bool)
    uniform_prefix = np.cumprod(1.0 / (n_allowed[:, None] - np.arange(k)), axis=1)
    marginal = (1 - eps) * same + eps / n_allowed[:, None]
    cascade = (1 - eps) * prefix_same + eps * uniform_prefix
    return marginal, cascade


def collect_slate_log(world, logging, targets, k: int, steps: int, max_rows: int, rng, seed=None) -> SlateOPELog:
    """The logging policy plays ``steps`` steps (or ``max_rows`` slates); vectorised over users."""
    obs = world.reset(seed=seed)
    b = world.n_users
    steps = min(steps, -(-max_rows // b))
    eps = logging.spec.epsilon
    parts: dict[str, list] = {}
    tparts = {t.label: {"truth": [], "pi_ip": [], "pi_cascade": [], "p_logging": []} for t in targets}
    n_slates = 0
    for t in range(steps):
        keep = min(b, max_rows - t * b)
        feats = obs.features.astype(np.float64)
        mask = np.array(obs.mask)
        n_allowed = mask.sum(axis=1)
        if n_allowed.min() < k:
            raise PolicyError(f"a user has only {int(n_allowed.min())} allowed items, fewer than the slate size {k}")
        top = top_k(logging.scores(feats), mask, k)
        keys = np.where(mask, rng.random(mask.shape), np.inf)
        rand = np.argsort(keys, axis=1)[:, :k]
        slates = np.where((rng.random(b) < eps)[:, None], rand, top)
        marginal, cascade = _logging_propensities(slates, top, n_allowed, eps)
        uniform_slate = np.prod(1.0 / (n_allowed[:, None] - np.arange(k)), axis=1)
        for target in targets:
            tslate = top_k(target.scores(feats), mask, k)
            tp = tparts[target.label]
            tp["truth"].append(world.slate_expected_rewards(tslate)[:keep])
            same = slates == tslate
            tp["pi_ip"].append(same.astype(float)[:keep].ravel())
            tp["pi_cascade"].append(np.cumprod(same, axis=1).astype(float)[:keep].ravel())
            tp["p_logging"].append(((1 - eps) * np.all(tslate == top, axis=1) + eps * uniform_slate)[:keep])
        res = world.step(slates)
        where = np.where(res.position >= 0, res.position, k - 1)
        reward = np.zeros((b, k))
        reward[np.arange(b), where] = res.reward
        sid = n_slates + np.arange(b)
        for name, value in (("slate_id", np.repeat(sid, k)), ("user_id", np.repeat(res.user_ids, k)),
                            ("position", np.tile(np.arange(k), b)), ("item", slates.ravel()),
                            ("reward", reward.ravel()), ("pscore_item_position", marginal.ravel()),
                            ("pscore_cascade", cascade.ravel())):
            parts.setdefault(name, []).append(value[: keep * k])
        parts.setdefault("slate_value_logged", []).append(res.expected_reward_chosen[:keep])
        n_slates += b
        obs = res.observation
    cols = {name: np.concatenate(v) for name, v in parts.items()}
    return SlateOPELog(**cols, targets={lab: {n: np.concatenate(v) for n, v in d.items()} for lab, d in tparts.items()})


def estimate_slates(log: SlateOPELog, *, alpha: float = 0.05, interval: str = "clt", seed: int = 0) -> list[dict]:
    """IIPS, RIPS and standard slate IPS per target, against the exact truth, with diagnostics."""
    from banditsim.sim.ope import OPEInputError
    from banditsim.sim.ope.diagnostics import weight_diagnostics
    from banditsim.sim.ope.registry import SLATE_ESTIMATORS
    from banditsim.sim.ope.slate import SlateLog, whole_slate
    from banditsim.sim.offline.estimate_rows import estimate_row

    slog = SlateLog(slate_id=log.slate_id, position=log.position, reward=log.reward,
                    pscore_item_position=log.pscore_item_position, pscore_cascade=log.pscore_cascade)
    first = log.position == 0
    slate_user = log.user_id[first]
    behaviour_full = whole_slate(slog, log.pscore_cascade)[first]
    kw = {"alpha": alpha, "interval": interval, "random_state": seed, "cluster": log.user_id}
    target_key = {"item_position": "pi_ip", "cascade": "pi_cascade"}  # a target's probabilities by kind
    out = []
    for label, t in log.targets.items():
        truth = float(t["truth"].mean())
        w = whole_slate(slog, t["pi_cascade"])[first] / behaviour_full
        # the target's slate is deterministic and the logging policy gives it probability
        # p_b(target slate) > 0 (epsilon > 0): support 1, E_b[w^2] = 1 / p_b(target slate)
        p_target = _prob_of_target_slate(log, label)
        diag = weight_diagnostics(w, support=np.ones_like(w), cluster=slate_user, second_moment=1.0 / p_target)
        for name, spec in SLATE_ESTIMATORS.items():
            t0 = time.perf_counter()
            try:
                est, note = spec.resolve()(slog, t[target_key[spec.target]], **kw), ""
            except OPEInputError as exc:
                est, note = None, f"no estimate: {exc}"
            out.append(estimate_row(label, name, est, truth, diag, time.perf_counter() - t0, note))
    return out


def _prob_of_target_slate(log: SlateOPELog, label: str) -> np.ndarray:
    """Logging probability of each row's target slate, per slate: stored when logging."""
    return log.targets[label]["p_logging"]
