"""One replication of a coverage study on a :class:`~banditsim.sim.ope.sessions.SessionLog`.

:func:`evaluate_session` runs the estimators on one log for every target, with diagnostics
(exact support from the logging policy's distribution) and intervals cluster-robust by user
(``clustered=False``: the iid-row intervals, for comparison). DM, DR and switch-DR share one
reward model cross-fitted by user. ``bench/ope_coverage.py`` repeats it over a grid of scenarios.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope._common import cross_fitted_rewards
from banditsim.sim.ope.diagnostics import weight_diagnostics
from banditsim.sim.ope.registry import ESTIMATORS, get_estimator, needs_reward_model


def evaluate_session(slog, targets, truths: dict[str, float], estimators=None, *,
                     clustered: bool = True, alpha: float = 0.05) -> list[dict]:
    """Rows ``target, estimator, verdict, value, low, high, covers`` (+ diagnostics) for one log;
    ``estimators``: names of :mod:`banditsim.sim.ope.registry` (default: every registered one).

    ``covers`` follows :meth:`Estimate.covers` (``None`` for no estimate, infinite ends, or an
    interval excluding model bias); a ``no-support`` target gets ``value=None``.
    """
    log, cluster = slog.log, (slog.user if clustered else None)
    specs = [get_estimator(name) for name in (ESTIMATORS if estimators is None else estimators)]
    qhat = cross_fitted_rewards(log, slog.user)[:, :, :1] if needs_reward_model(s.name for s in specs) else None
    out = []
    for pol in targets:
        pi = pol.probs(log.context)
        dist = pi[:, :, None]
        w = pi[np.arange(log.n_rounds), log.action] / log.pscore
        seen = slog.behavior > 0
        diag = weight_diagnostics(w, support=np.where(seen, pi, 0.0).sum(axis=1), cluster=slog.user,
                                  second_moment=np.where(seen, pi * pi / np.where(seen, slog.behavior, 1.0), 0.0).sum(1))
        truth = truths[pol.label]
        for spec in specs:
            row = {"target": pol.label, "estimator": spec.name, "truth": truth, **diag.as_dict()}
            if diag.verdict == "no-support":
                out.append({**row, "value": None, "low": None, "high": None, "covers": None,
                            "excludes_model_bias": spec.reward_model})
                continue
            est = spec(log, dist, estimated_rewards=qhat, alpha=alpha, cluster=cluster)
            out.append({**row, "value": est.value, "low": est.low, "high": est.high, "covers": est.covers(truth),
                        "excludes_model_bias": est.excludes_model_bias,
                        "raw_covers": bool(np.isfinite(est.low) and np.isfinite(est.high)
                                           and est.low <= truth <= est.high)})
    return out
