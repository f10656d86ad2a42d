"""Machine description, the ours/peer pairing, and the JSON and markdown outputs."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
from importlib import metadata
from pathlib import Path

READ_WORDS = {"both": "timed both read and not read", "read": "read", "unread": "not read"}
PACKAGES = ("numpy", "scipy", "torch", "pyarrow", "transformers", "obp", "mabwiser", "vowpalwabbit",
            "scikit-learn", "pandas")


def machine() -> dict:
    """CPU model, cores, load, date, Python and package versions."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cpu": cpu, "cores": os.cpu_count(), "load_1_5_15": [round(v, 2) for v in load],
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(), "packages": versions}


def _fmt(v, spec=",.0f"):
    if v is None:
        return ""
    if not isinstance(v, (int, float)) or math.isnan(v):
        return "n/a"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:{spec}}"


def _regret(r):
    if r.get("regret") is None:
        return ""
    sem = r.get("regret_sem")
    tail = f" ± {sem:.1f}" if sem is not None and not math.isnan(sem) else ""
    return f"{r['regret']:,.1f}{tail} @T={r['steps']:,}"


def agent_table(rows: list[dict]) -> list[str]:
    """Markdown rows for (a)/(b): ours and each peer, ratio, regret at equal T."""
    out = ["| problem | policy | impl | decisions/s | ours/peer | regret (ours at the same T) | how measured | load |",
           "|---|---|---|---:|---:|---|---|---:|"]
    for r in rows:
        ratio = r.get("ratio")
        ours_at = r.get("ours_regret_same_T")
        reg = _regret(r) + (f" (ours {ours_at:,.1f})" if ours_at is not None else "")
        read = f" ({r['ratio_read']:,.2f}x read)" if r.get("ratio_read") is not None else ""
        out.append(f"| {r['problem']} | {r['policy']} | {r['impl']} | {_fmt(r['decisions_per_s'])} | "
                   f"{'' if ratio is None else f'{ratio:,.2f}x'}{read} | {reg} | {r['note']} | {_fmt(r.get('load'), '.2f')} |")
    return out


def other_table(rows: list[dict]) -> list[str]:
    """Markdown rows for the parts other than (s), (a), (b)."""
    out = ["| problem | what | impl | figure | how measured | load |", "|---|---|---|---:|---|---:|"]
    for r in rows:
        if "ours_value" in r:
            fig = (f"{_fmt(r['ours_value'])} {r['unit']} vs {r['peer_name']} {_fmt(r['peer_value'])}: "
                   f"{r['ratio']:.2f}x")
        elif "ci95" in r:
            fig = f"regret {r['regret']:,.2f} [{r['ci95'][0]:,.2f}, {r['ci95'][1]:,.2f}]"
        elif "events_per_s" in r:
            fig = f"{r['events_per_s']:,.0f} events/s (B={r['B']})"
        elif "B" in r:
            fig = f"{r['decisions_per_s']:,.0f} decisions/s (B={r['B']})"
        elif "texts_per_s" in r:
            fig = f"{r['texts_per_s']:,.0f} texts/s ({r['seconds']:.3f} s)"
        elif "rows_per_s" in r:
            ratio = f"; ours/obp {r['ratio']:.1f}x" if r.get("ratio") else ""
            fig = f"{r['seconds']:.3f} s ({r['rows_per_s']:,.0f} rows/s{ratio})"
        elif "peak_rss_mib" in r:
            fig = f"{r['peak_rss_mib']:,.0f} MiB peak RSS, {r['decisions']:,} decisions, {r['seconds']:.0f} s"
        else:
            fig = ""
        out.append(f"| {r['problem']} | {r['policy']} | {r['impl']} | {fig} | {r.get('note', '')} | "
                   f"{_fmt(r.get('load'), '.2f')} |")
    return out


def figures_table(figures: list[dict]) -> list[str]:
    """Markdown rows of issue 18's figures (bench/goals.py): ours, peer or target, ratio, goal, load."""
    out = ["| goal | figure | ours | peer / target | ratio | goal | met | load |", "|---|---|---|---|---:|---|---|---:|"]
    for f in figures:
        ratio = "" if f["ratio"] is None else f"{f['ratio']:,.2f}x"
        met = {True: "met", False: "**missed**", None: ""}[f["met"]]
        out.append(f"| {f['goal']} | {f['figure']} | {f['ours']} | {f['peer']} | {ratio} | {f['target']} | {met} | "
                   f"{_fmt(f['load'], '.2f')} |")
    return out


def _loads(m: dict) -> str:
    return " / ".join(str(v) for v in m["load_1_5_15"])


def markdown(result: dict) -> str:
    """The short markdown report: the command, date and load first."""
    m, s = result["machine"], result.get("started", result["machine"])
    wall = f"; wall {result['wall_s']:,.0f} s" if "wall_s" in result else ""
    lines = [f"# `{result['command'].strip()}`", "",
             f"Started {s['date']} at load average {_loads(s)} (1 / 5 / 15 min); ended {m['date']} at load "
             f"{_loads(m)}{wall}. {m['cpu']} ({m['cores']} cores); Python {m['python']}, "
             + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + ".", "",
             f"BLAS threads: {result['blas_threads']}; "
             f"Thompson propensity draws: {result['propensity_draws'] or 'agent default'} "
             f"({READ_WORDS[result['propensities']]} by the benchmark in (a)/(b)). Peers: "
             + "; ".join(f"{k}: {v.get('version') if v['installed'] else 'not installed (' + v['error'] + ')'}"
                         for k, v in result["peers"].items()) + ".", ""]
    agents = [r for r in result["rows"] if r["problem"].startswith(("(s)", "(a)", "(b)"))]
    rest = [r for r in result["rows"] if not r["problem"].startswith(("(s)", "(a)", "(b)"))]
    if result.get("issue_figures"):
        lines += ["Issue 18's figures:", ""] + figures_table(result["issue_figures"]) + [""]
    if agents:
        lines += agent_table(agents) + [""]
    if rest:
        lines += other_table(rest) + [""]
    return "\n".join(lines)


def write(result: dict, json_path: Path, md_path: Path) -> None:
    """Write the JSON (all rows, machine, peers) and the markdown table."""
    for p in (json_path, md_path):
        p.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1, default=float))
    md_path.write_text(markdown(result))
