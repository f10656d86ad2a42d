"""Turn off-policy estimates and A/B test results into a decision a person can act on.

:func:`rank_candidates` orders target policies by one estimator's off-policy estimate and says
which ones beat the logging policy beyond doubt (interval above its on-policy value);
:func:`ab_decision` reads the lift rows of an A/B test (``banditsim.sim.abtest.experiment.lift_table``) and says
ship / do not ship / keep testing, with the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from banditsim.sim.stats.two_sample import p_text
from banditsim.sim.stats.intervals import error_bars

LOWER_IS_BETTER = ("negative_rate", "session_end_rate")
"""Metrics where a fall is an improvement."""


def rank_candidates(rows: list[dict], estimator: str = "dr", baseline: float | None = None,
                    by: str = "low") -> list[dict]:
    """Targets sorted best first by ``estimator``'s interval, from ``banditsim.sim.offline.experiment`` rows.

    ``by="low"`` (default) ranks by the lower end of the 95% interval — the cautious choice:
    a high but wide estimate is weak evidence; ``by="estimate"`` ranks by the point estimate.

    Each item: ``target, estimate, low, high, truth, beats_baseline`` where ``beats_baseline``
    is True when the whole interval lies above ``baseline`` (None when no baseline is given).
    Targets without an estimate (verdict ``no-support``) are left out.

    >>> rows = [{"target": "a", "estimator": "dr", "estimate": 0.3, "low": 0.2, "high": 0.4, "truth": 0.31},
    ...         {"target": "b", "estimator": "dr", "estimate": 0.5, "low": 0.45, "high": 0.55, "truth": 0.52},
    ...         {"target": "b", "estimator": "ips", "estimate": 0.9, "low": 0.0, "high": 2.0, "truth": 0.52}]
    >>> [(r["target"], r["beats_baseline"]) for r in rank_candidates(rows, "dr", baseline=0.35)]
    [('b', True), ('a', False)]
    >>> rows.append({"target": "c", "estimator": "dr", "estimate": 0.6, "low": 0.1, "high": 1.1, "truth": 0.3})
    >>> [r["target"] for r in rank_candidates(rows)], [r["target"] for r in rank_candidates(rows, by="estimate")]
    (['b', 'a', 'c'], ['c', 'b', 'a'])
    >>> rows.append({"target": "d", "estimator": "dr", "estimate": None, "low": None, "high": None, "truth": 0.4})
    >>> rows.append({"target": "e", "estimator": "dr", "estimate": 0.9, "low": None, "high": None, "truth": 0.4})
    >>> [(r["target"], r["beats_baseline"]) for r in rank_candidates(rows, baseline=0.35)]  # d: no-support
    [('b', True), ('a', False), ('c', False), ('e', False)]
    """
    if by not in ("low", "estimate"):
        raise ValueError(f"by must be 'low' or 'estimate', got {by!r}")
    sub = [r for r in rows if r["estimator"] == estimator]
    if not sub:
        known = sorted({r["estimator"] for r in rows})
        raise ValueError(f"no rows for estimator {estimator!r}; the rows have {', '.join(known)}")
    out = [{"target": r["target"], "estimate": r["estimate"], "low": r["low"], "high": r["high"],
            "truth": r.get("truth"), "beats_baseline": None if baseline is None else bool(r["low"] is not None and r["low"] > baseline)}
           for r in sub if r["estimate"] is not None]            # no-support targets have no number
    return sorted(out, key=lambda r: -r[by] if r[by] is not None else float("inf"))  # undefined low: last


@dataclass
class Decision:
    """``verdict`` is ``"ship"``, ``"do not ship"`` or ``"keep testing"``; ``reasons`` say why."""

    verdict: str
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"Decision: {self.verdict.upper()}\n" + "\n".join(f"  - {r}" for r in self.reasons)


def ab_decision(lifts: list[dict], primary: str = "reward", higher_is_better: bool = True) -> Decision:
    """Ship when the primary metric improved significantly and no guardrail was breached.

    ``lifts``: rows with ``metric, lift, low, high, p_value, significant, guardrail,
    guardrail_breached`` (as ``banditsim.sim.abtest.experiment.lift_table`` returns).

    >>> rows = [{"metric": "reward", "lift": 0.1, "low": 0.05, "high": 0.15, "p_value": 0.001,
    ...          "significant": True, "guardrail": False, "guardrail_breached": False},
    ...         {"metric": "negative_rate", "lift": 0.02, "low": 0.01, "high": 0.03, "p_value": 0.01,
    ...          "significant": True, "guardrail": True, "guardrail_breached": True}]
    >>> d = ab_decision(rows)
    >>> d.verdict, d.reasons[-1]
    ('do not ship', 'guardrail negative_rate breached: +0.0200 [+0.0100, +0.0300], p = 0.01')
    >>> ab_decision(rows[:1]).verdict
    'ship'
    """
    by_metric = {r["metric"]: r for r in lifts}
    if primary not in by_metric:
        raise ValueError(f"no lift row for primary metric {primary!r}; rows have {', '.join(by_metric)}")
    p = by_metric[primary]

    def fmt(r):
        return f"{r['lift']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}], {p_text(r['p_value'])}"

    better = (p["lift"] > 0) == higher_is_better
    reasons = []
    if p["significant"] and better:
        reasons.append(f"primary metric {primary} improved significantly: {fmt(p)}")
    elif p["significant"]:
        reasons.append(f"primary metric {primary} got significantly worse: {fmt(p)}")
    else:
        reasons.append(f"primary metric {primary}: no significant difference ({fmt(p)})")
    breached = [r for r in lifts if r.get("guardrail_breached")]
    for r in lifts:
        if r.get("guardrail") and not r.get("guardrail_breached"):
            reasons.append(f"guardrail {r['metric']} held: {fmt(r)}" if r["p_value"] == r["p_value"]
                           else f"guardrail {r['metric']} held: no events in either arm")
    for r in breached:
        reasons.append(f"guardrail {r['metric']} breached: {fmt(r)}")
    if breached or (p["significant"] and not better):
        verdict = "do not ship"
    elif p["significant"]:
        verdict = "ship"
    else:
        verdict = "keep testing"
        reasons.append("the test could not tell the policies apart: run it at the sized number of users")
    return Decision(verdict, reasons)


def plot_lifts(lifts: list[dict], control: str = "control", treatment: str = "treatment"):
    """One small panel per metric: the lift (treatment − control) with its 95% interval against
    zero. Green: significant change the good way (up, or down for :data:`LOWER_IS_BETTER`
    metrics); red: significant change the bad way or a breached guardrail; grey: not
    significant. Returns a matplotlib ``Figure``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(lifts), 3.6))
    axes = fig.subplots(1, len(lifts), squeeze=False)[0]
    for ax, r in zip(axes, lifts):
        good = (r["lift"] < 0) if r["metric"] in LOWER_IS_BETTER else (r["lift"] > 0)
        colour = ("tab:red" if r.get("guardrail_breached") or (r["significant"] and not good)
                  else "tab:green" if r["significant"] else "tab:grey")
        ax.errorbar([0], [r["lift"]], yerr=error_bars(r["lift"], r["low"], r["high"]), fmt="o", color=colour,
                    capsize=6, ms=8)
        ax.axhline(0, color="black", lw=1)
        ax.set_xticks([])
        kind = "guardrail" if r.get("guardrail") else "metric"
        p = p_text(r["p_value"], 2) if r["p_value"] == r["p_value"] else "no events"
        ax.set_title(f"{r['metric']} ({kind})\n{p}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(f"lift: {treatment} − {control}\n(per-user means, 95% interval)")
    fig.suptitle("A/B test: lift per metric (green: significantly better, red: significantly worse, "
                 "grey: not significant)")
    fig.tight_layout()
    return fig
