"""One replication of a coverage study on a :class:`~sim.ope.sessions.SessionLog`.

:func:`evaluate_session` runs the estimators on one log for every target, with diagnostics
(exact support from the logging policy's distribution) and intervals cluster-robust by user
(``clustered=False``: the iid-row intervals, for comparison). DM, DR and switch-DR share one
reward model cross-fitted by user. ``bench/ope_coverage.py`` repeats it over a grid of scenarios.
"""

from __future__ import annotations

import numpy as np

from banditsim.sim.ope._common import cross_fitted_rewards
from banditsim.sim.ope.diagnostics import weight_diagnostics
from banditsim.sim.ope.direct import direct_method
from banditsim.sim.ope.doubly_robust import doubly_robust
from banditsim.sim.ope.ipw import ips, snips
from banditsim.sim.ope.switch_dr import switch_dr

ESTIMATORS = ("ips", "snips", "dm", "dr", "switch_dr")
_MODEL_BASED = ("dm", "dr", "switch_dr")


def evaluate_session(slog, targets, truths: dict[str, float], estimators=ESTIMATORS, *,
                     clustered: bool = True, alpha: float = 0.05) -> list[dict]:
    """Rows ``target, estimator, verdict, value, low, high, covers`` (+ diagnostics) for one log.

    ``covers`` follows :meth:`Estimate.covers` (``None`` for no estimate, infinite ends, or an
    interval excluding model bias); a ``no-support`` target gets ``value=None``.
    """
    log, cluster = slog.log, (slog.user if clustered else None)
    qhat = cross_fitted_rewards(log, slog.user)[:, :, :1] if set(estimators) & set(_MODEL_BASED) else None
    fns = {"ips": ips, "snips": snips, "dm": direct_method, "dr": doubly_robust, "switch_dr": switch_dr}
    out = []
    for pol in targets:
        pi = pol.probs(log.context)
        dist = pi[:, :, None]
        w = pi[np.arange(log.n_rounds), log.action] / log.pscore
        seen = slog.behavior > 0
        diag = weight_diagnostics(w, support=np.where(seen, pi, 0.0).sum(axis=1), cluster=slog.user,
                                  second_moment=np.where(seen, pi * pi / np.where(seen, slog.behavior, 1.0), 0.0).sum(1))
        truth = truths[pol.label]
        for name in estimators:
            row = {"target": pol.label, "estimator": name, "truth": truth, **diag.as_dict()}
            if diag.verdict == "no-support":
                out.append({**row, "value": None, "low": None, "high": None, "covers": None,
                            "excludes_model_bias": name in _MODEL_BASED})
                continue
            kw = {"estimated_rewards": qhat} if name in _MODEL_BASED else {}
            est = fns[name](log, dist, alpha=alpha, cluster=cluster, **kw)
            out.append({**row, "value": est.value, "low": est.low, "high": est.high, "covers": est.covers(truth),
                        "excludes_model_bias": est.excludes_model_bias,
                        "raw_covers": bool(np.isfinite(est.low) and np.isfinite(est.high)
                                           and est.low <= truth <= est.high)})
    return out
