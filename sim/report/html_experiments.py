"""``report.html`` of ``banditsim ope`` and ``banditsim abtest`` results folders
(see :mod:`banditsim.sim.report.html_report`)."""

from __future__ import annotations

import json
from pathlib import Path

from banditsim.sim.report.experiment_plots import own_log_title, plot_estimates, plot_power
from banditsim.sim.report.html_page import esc, number, page, percent, png_file_figure, section, signed, table
from banditsim.sim.report.result_documents import read_json
from banditsim.sim.stats.two_sample import format_p


def experiment_report(out_dir: Path) -> str:
    """The HTML text of an ``ope`` or ``abtest`` folder's report."""
    if (out_dir / "ope.json").is_file():
        return ope_report(out_dir, read_json(out_dir / "ope.json"))
    return abtest_report(out_dir, read_json(out_dir / "abtest.json"))


def redraw_experiment_plots(out_dir: Path) -> list[Path]:
    """Redraw the plot of an ``ope`` or ``abtest`` folder from its JSON."""
    if (out_dir / "ope.json").is_file():
        doc = read_json(out_dir / "ope.json")
        if "log" in doc:  # estimates on a user's own log
            name = out_dir / "estimates.png"
            return [plot_estimates(doc.get("estimates", []), name, title=own_log_title(doc["log"]))]
        return [plot_estimates(doc.get("estimates", []), out_dir / "estimate_vs_truth.png")]
    doc = read_json(out_dir / "abtest.json")
    power = ((doc.get("config") or {}).get("test") or {}).get("power", 0.8)
    return [plot_power(doc.get("power_check", []), doc.get("required_users_per_arm", 0), power,
                       out_dir / "power_curve.png")]


def config_block(config: dict | None, extra: dict | None = None) -> str:
    """The config (every default) as a collapsible JSON block."""
    body = {"config": config or {}, **(extra or {})}
    return ("<details open><summary>config with every default</summary>"
            f"<pre>{esc(json.dumps(body, indent=2, default=str))}</pre></details>")


def _interval(low, high, digits: int = 4) -> str:
    if low is None or high is None:
        return "—"
    return f"{number(low, digits)} – {number(high, digits)}"


def ope_report(out_dir: Path, doc: dict) -> str:
    """Estimates vs the exact truth (or, on a user's own log, estimates alone) with diagnostics."""
    rows = doc.get("estimates", [])
    has_truth = any(r.get("truth") is not None for r in rows)
    covers = {True: "yes", False: "no"}
    est = [[r["target"], r["estimator"], number(r.get("estimate"), 4), _interval(r.get("low"), r.get("high")),
            number(r.get("truth"), 4), "—" if r.get("rel_error") is None else signed(100 * r["rel_error"], 1) + "%",
            covers.get(r.get("covers"), "n/a: model bias" if r.get("excludes_model_bias") else "n/a"),
            r.get("verdict", "")] for r in rows]
    head = ["target", "estimator", "estimate", "95% interval (by user)", "truth", "rel. error", "covers", "verdict"]
    estimates = table(head, est, caption=(
        "Each target policy's value by each estimator. Intervals are cluster-robust by user; DM's (and "
        "switch-DR's with a data-chosen threshold) exclude the model's bias and never count as covering."))
    diag_rows = []
    for r in {r["target"]: r for r in rows}.values():
        diag_rows.append([r["target"], number(r.get("ess"), 1), percent(r.get("ess_share"), 2),
                          number(r.get("ess_expected"), 1), number(r.get("ess_users"), 1),
                          number(r.get("max_weight"), 3), number(r.get("p99_weight"), 3),
                          number(r.get("mean_weight"), 3), percent(r.get("support")), r.get("verdict", "")])
    diag = table(["target", "ESS", "ESS %", "E[ESS]", "users ESS", "max w", "p99 w", "mean w", "support", "verdict"],
                 diag_rows, caption="Overlap diagnostics per target: ok, low-ess or no-support (no estimate).")
    ranking = _ope_winners(rows, has_truth)
    plot = png_file_figure(out_dir / "estimate_vs_truth.png") or png_file_figure(out_dir / "estimates.png")
    lg = doc.get("logging") or {}
    if lg:
        subtitle = (f"logging policy {lg.get('label')}: {lg.get('rows', 0):,} rows, true value "
                    f"{number(lg.get('true_value'), 4)}, mean reward {number(lg.get('mean_reward'), 4)}")
    else:
        subtitle = f"estimates on the log {doc.get('log', '?')} (a real log has no truth)"
    sections = [
        ("summary", "Summary", section("summary", "Estimates", ranking + estimates)),
        ("diagnostics", "Diagnostics", section("diagnostics", "Overlap diagnostics", diag)),
        ("plots", "Plot", section("plots", "Estimate vs truth" if has_truth else "Estimates",
                                  f'<div class="grid">{plot}</div>') if plot else ""),
        ("config", "Config", section("config", "Config", config_block(doc.get("config"), {
            k: doc[k] for k in ("logging", "log", "settings", "seconds") if k in doc}))),
    ]
    return page(f"banditsim ope: {out_dir.name}", subtitle, sections)


def _ope_winners(rows: list[dict], has_truth: bool) -> str:
    """Targets × estimators (and the truth): the best target of each column shaded and named."""
    from banditsim.sim.report.metric_columns import winner

    targets = list(dict.fromkeys(r["target"] for r in rows))
    estimators = list(dict.fromkeys(r["estimator"] for r in rows))
    value = {(r["target"], r["estimator"]): r.get("estimate") for r in rows}
    trusted = {(r["target"], r["estimator"]): r.get("estimate") if r.get("verdict") == "ok" else None for r in rows}
    truth = {r["target"]: r.get("truth") for r in rows}
    columns = (["truth"] if has_truth else []) + estimators
    best = {c: winner({t: truth[t] if c == "truth" else trusted.get((t, c)) for t in targets}, True) for c in columns}
    body, classes = [], []
    for t in targets:
        body.append([t] + [number(truth[t] if c == "truth" else value.get((t, c)), 4) for c in columns])
        classes.append([""] + ["win" if best[c] == t else "" for c in columns])
    return table(["target"] + columns, body, cell_class=classes, footer=["best target"] + [best[c] or "—" for c in columns],
                 caption="Policy value of each target: the exact truth and each estimator's estimate; the best target "
                         "of each column is shaded, among estimates whose overlap verdict is ok (— when none is, "
                         "or on a tie).")


def _ab_direction(metric: str, guardrail: bool) -> bool | None:
    """Higher is better for an A/B metric, from the registry (its ``ab`` name); guardrails: lower."""
    from banditsim.sim.report.metric_columns import registry

    for m in registry().values():
        if getattr(m, "ab", None) == metric:
            return m.higher_is_better
    return False if guardrail else None


def abtest_report(out_dir: Path, doc: dict) -> str:
    """Lifts with intervals and p-values, the better arm per metric, guardrails, sizing, power check."""
    cfg = doc.get("config") or {}
    control = (cfg.get("control") or {}).get("label", "control")
    treatment = (cfg.get("treatment") or {}).get("label", "treatment")
    rows, classes = [], []
    for r in doc.get("lifts", []):
        up = _ab_direction(r["metric"], r.get("guardrail", False))
        if not r.get("significant"):
            better = "no significant difference"
        elif up is None:
            better = "— (direction unknown)"
        else:
            better = treatment if (r["lift"] > 0) == up else control
        flag = "GUARDRAIL BREACHED" if r.get("guardrail_breached") else ("guardrail" if r.get("guardrail") else "")
        rows.append([r["metric"], number(r["control"], 4), number(r["treatment"], 4),
                     f"{signed(r.get('lift'), 4)} [{signed(r.get('low'), 4)}, {signed(r.get('high'), 4)}]",
                     "—" if r.get("relative_lift") is None else signed(100 * r["relative_lift"], 1) + "%",
                     "—" if r.get("p_value") is None else format_p(r["p_value"]), better, flag])
        classes.append(["", "win" if better == control else "", "win" if better == treatment else "", "", "", "",
                        "", ""])
    lifts = table(["metric", control, treatment, "lift [95% CI]", "relative", "p", "better arm", "flag"], rows,
                  cell_class=classes, caption=f"{treatment} vs {control}: per-user means, Welch test; the better arm "
                                              "of each significant metric is shaded.")
    sizing = table(["metric", "lift", "users per arm", "detectable", "days"],
                   [[s["metric"], signed(s.get("lift"), 4), f"{s['users_per_arm']:,}" if s.get("users_per_arm") else "—",
                     "yes" if s.get("detectable") else "no", s.get("days") or "—"] for s in doc.get("sizing", [])],
                   caption=f"Users per arm for the configured power to detect the observed lift; primary metric "
                           f"{doc.get('primary_metric')}: {number(doc.get('required_users_per_arm'), 0)} users per arm.")
    power = table(["users/arm", "tests", "detected [95% CI]", "analytic planned", "analytic true"],
                  [[f"{c['users_per_arm']:,}", c["tests"],
                    f"{number(c.get('detection_rate'))} [{number(c.get('low'))}, {number(c.get('high'))}]",
                    number(c.get("power_planned")), number(c.get("power_true"))] for c in doc.get("power_check", [])],
                  caption="Power check: simulated tests at each size against the analytic power.")
    note = f"<p>{esc(doc['note'])}</p>" if doc.get("note") else ""
    sections = [
        ("summary", "Lifts", section("summary", "Lifts and guardrails", lifts + note)),
        ("sizing", "Sizing", section("sizing", "Sizing and power", sizing + (power if doc.get("power_check") else "")
                                     + f'<div class="grid">{png_file_figure(out_dir / "power_curve.png")}</div>')),
        ("config", "Config", section("config", "Config", config_block(cfg, {"seconds": doc.get("seconds")}))),
    ]
    return page(f"banditsim abtest: {treatment} vs {control}",
                f"primary metric {doc.get('primary_metric')}; folder {out_dir.name}", sections)
