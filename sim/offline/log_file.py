"""Off-policy estimates on your own log file (no truth): the function behind ``banditsim ope --log FILE``.

Two kinds of target policy:

- ``pi_<label>`` columns of the file (the target's probability of each logged action): IPS and
  SNIPS with diagnostics. DM, DR and switch-DR need the target's whole action distribution, so
  their rows say so and carry no number.
- registered agents (``agents=[{"name": ..., "params": {...}, "label": ...}]``), replayed as Open
  Bandit Pipeline's examples do: each agent learns from the first ``train_fraction`` of the rows
  (file order; :data:`TRAIN_FRACTION` = 0.5 by default) in one batched update, each row at its decision
  step (the ``step`` column, or one step per row without it: ``LoadedLog.steps``), so a forgetting
  agent learns what it would have learned step by step; it is evaluated —
  with every estimator — on the rest. The agent must give action probabilities (e.g.
  ``epsilon_greedy``, ``ucb1``, ``linucb``, ``random``); contextual agents need the log's context
  features, and item features (``action_context`` in an ``.npz``) where they use them.

The logging distribution is usually unknown here, so the support is estimated from the weights
(:mod:`banditsim.sim.ope.diagnostics`); an ``.npz`` with obp's ``pi_b`` makes it exact for agent targets. Intervals are cluster-robust by ``user_id`` when the file has it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.ope.log import OPEInputError

TRAIN_FRACTION = 0.5


def parse_agent_target(text: str) -> dict:
    """``"name"`` or ``"name:key=value,key=value"`` (a ``--target`` option) as an agent spec dict.

    Values are read as YAML scalars (numbers, booleans, strings).

    >>> parse_agent_target("epsilon_greedy:epsilon=0.2")
    {'name': 'epsilon_greedy', 'params': {'epsilon': 0.2}, 'label': 'epsilon_greedy:epsilon=0.2'}
    >>> parse_agent_target("random")["params"]
    {}
    """
    import yaml

    name, _, rest = text.partition(":")
    if not name.strip():
        raise OPEInputError(f"target {text!r}: give an agent name, e.g. epsilon_greedy:epsilon=0.2")
    params = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise OPEInputError(f"target {text!r}: parameters are key=value pairs separated by commas")
        params[key.strip()] = yaml.safe_load(value)
    return {"name": name.strip(), "params": params, "label": text}


def _log_context(log, rows):
    from banditsim.agents.types import Context

    ctx = log.context
    return Context(features=None if ctx is None else ctx[rows], arm_features=log.action_context, n_rows=len(rows))


def trained_agent(spec: dict, log, train: np.ndarray, steps: np.ndarray, seed: int):
    """The agent of ``spec`` after one update on the ``train`` rows, each at its decision step ``steps[train]``
    (so a forgetting agent ages them as if it had learned them step by step; ``LoadedLog.steps``)."""
    from banditsim.agents.registry import make_agent
    from banditsim.agents.types import Feedback

    name = spec.get("name")
    try:
        agent = make_agent(name, log.n_actions, random_state=seed, **spec.get("params", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise OPEInputError(f"target agent {name!r}: {str(exc).splitlines()[0]}") from None
    try:
        agent.update(_log_context(log, train), log.action[train], Feedback(reward=log.reward[train], step=steps[train]))
    except (ValueError, TypeError) as exc:
        raise OPEInputError(f"target agent {name!r} cannot run on this log: {str(exc).splitlines()[0]}") from None
    return agent


def _agent_distribution(spec: dict, log, train, test, seed: int, steps: np.ndarray) -> np.ndarray:
    """(n_test, n_actions) action probabilities of the agent of ``spec`` after learning on ``train`` rows."""
    name = spec.get("name")
    agent = trained_agent(spec, log, train, steps, seed)
    try:
        probs = agent.act(_log_context(log, test)).probabilities
    except (ValueError, TypeError) as exc:
        raise OPEInputError(f"target agent {name!r} cannot run on this log: {str(exc).splitlines()[0]}") from None
    if probs is None:
        raise OPEInputError(f"target agent {name!r} gives no action probabilities; use e.g. epsilon_greedy, "
                            "ucb1, linucb or random")
    return np.asarray(probs, dtype=np.float64)


def estimate_log_file(path: str | Path, agents=(), *, train_fraction: float = TRAIN_FRACTION,
                      estimators=None, alpha: float = 0.05, interval: str = "clt", switch_tau="auto",
                      seed: int = 0) -> list[dict]:
    """Rows as :func:`banditsim.sim.offline.experiment.estimate_all` gives them, with ``truth`` None; ``estimators``:
    names of :mod:`banditsim.sim.ope.registry` (default: every registered one).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> lines = ["action,pscore,reward,user_id,pi_same"] + [f"{i % 2},0.5,{i % 3 == 0:d},{i % 150},0.5"
    ...                                                      for i in range(600)]
    >>> _ = open(p, "w").write("\\n".join(lines))
    >>> rows = estimate_log_file(p)
    >>> [(r["estimator"], r["verdict"], r["estimate"] is not None) for r in rows][:3]
    [('ips', 'ok', True), ('snips', 'ok', True), ('dm', 'ok', False)]
    """
    from banditsim.sim.ope.log_file import read_log_file
    from banditsim.sim.ope.registry import ESTIMATORS, get_estimator
    from banditsim.sim.offline.estimate_rows import estimate_row
    from banditsim.sim.offline.experiment import estimate_target
    from banditsim.sim.offline.reduce import reduce_rows

    estimators = list(ESTIMATORS) if estimators is None else list(estimators)
    model_based = [e for e in estimators if get_estimator(e).reward_model]
    if not 0.0 < train_fraction < 1.0:
        raise OPEInputError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    loaded = read_log_file(path)
    log, user = loaded.log, loaded.user
    if not loaded.targets and not agents:
        raise OPEInputError(f"{loaded.source}: no target policy: add pi_<label> columns or name an agent")
    common = {"alpha": alpha, "interval": interval, "switch_tau": switch_tau, "seed": seed}
    rows: list[dict] = []
    zeros = np.zeros(log.n_rounds)
    for label, p in loaded.targets.items():
        red = reduce_rows(log.pscore, log.reward, p, zeros, zeros, zeros, zeros)
        part = estimate_target(label, red, None, [e for e in estimators if e not in model_based], cluster=user,
                               **common)
        diag_row = part[0] if part else None
        rows += part
        for name in model_based:
            if diag_row is None:
                break
            rows.append({**diag_row, "estimator": name, "method": None, "estimate": None, "low": None,
                         "high": None, "abs_error": None, "rel_error": None, "covers": None, "interval": None,
                         "excludes_model_bias": False, "users": None, "seconds": 0.0,
                         "note": "no estimate: needs the target's whole action distribution (give an agent)"})
    n_train = int(round(train_fraction * log.n_rounds))
    if agents and not 1 <= n_train < log.n_rounds:
        raise OPEInputError(f"{loaded.source}: {log.n_rounds} rows cannot be split {train_fraction:g} / "
                            f"{1 - train_fraction:g} into training and evaluation rows")
    train, test = np.arange(n_train), np.arange(n_train, log.n_rounds)
    steps = loaded.steps() if agents else None
    for i, spec in enumerate(agents):
        label = spec.get("label") or spec.get("name")
        dist = _agent_distribution(spec, log, train, test, seed + i, steps)
        sub, sub_user = log.take(test), None if user is None else user[test]
        behavior = None if loaded.behavior is None else loaded.behavior[test]
        rows += _full_estimates(label, sub, dist, sub_user, estimators, common, estimate_row, behavior)
    return rows


def _full_estimates(label, log, dist, user, estimators, common, estimate_row, behavior=None) -> list[dict]:
    """Every estimator on a full (n, n_actions) target distribution; DM/DR share a cross-fitted model.
    With the logging distribution ``behavior`` (n, n_actions) the support and expected ESS are exact."""
    import time

    from banditsim.sim.ope._common import cross_fitted_rewards
    from banditsim.sim.ope.diagnostics import weight_diagnostics
    from banditsim.sim.ope.registry import needs_reward_model

    w = dist[np.arange(log.n_rounds), log.action] / log.pscore
    if behavior is None:
        diag = weight_diagnostics(w, cluster=user)
    else:
        seen = behavior > 0
        diag = weight_diagnostics(w, support=np.where(seen, dist, 0.0).sum(axis=1), cluster=user,
                                  second_moment=np.where(seen, dist**2 / np.where(seen, behavior, 1.0), 0.0).sum(axis=1))
    qhat = cross_fitted_rewards(log, user) if needs_reward_model(estimators) else None
    out = []
    for name in estimators:
        if diag.verdict == "no-support":
            out.append(estimate_row(label, name, None, None, diag, 0.0, f"no estimate: the weights put only "
                                    f"{diag.support:.1%} of the target's mass on logged actions"))
            continue
        t0 = time.perf_counter()
        try:
            est, note = _run_full(name, log, dist, qhat, user, common), ""
        except OPEInputError as exc:
            est, note = None, f"no estimate: {exc}"
        out.append(estimate_row(label, name, est, None, diag, time.perf_counter() - t0, note))
    return out


def _run_full(name: str, log, dist: np.ndarray, qhat, user, common: dict):
    """Registered estimator ``name`` (:mod:`banditsim.sim.ope.registry`) for a (n, n_actions) target distribution
    (same at every position)."""
    from banditsim.sim.ope.registry import get_estimator

    d = np.repeat(dist[:, :, None], log.len_list, axis=2)
    return get_estimator(name)(log, d, estimated_rewards=qhat, settings={"switch_tau": common["switch_tau"]},
                               alpha=common["alpha"], interval=common["interval"], random_state=common["seed"],
                               cluster=user)
