"""Issue 18's figures picked out of the rows of ``python -m bench``: ours, the peer, the ratio, the goal.

:func:`issue_figures` reads the rows the parts wrote and returns one line per figure the issue's goals
name, each with our figure, the peer's (a peer library, the other variant, or the goal's target), the
ratio, the target, whether it is met and the load; a figure whose part did not run says so (and which
part measures it).
"""

from __future__ import annotations

import math

E2E_TARGET = {"context-free": 100_000, "linear": 20_000}  # decisions/s in the cell loop
E2E_RSS_MIB = 1024
WORLD_TARGET = 1_000_000  # feedback events/s at B = 4,096


def _line(goal, figure, ours, peer, ratio, target, met, load) -> dict:
    return {"goal": goal, "figure": figure, "ours": ours, "peer": peer, "ratio": ratio, "target": target,
            "met": met, "load": load}


def _missing(goal: str, figure: str, part: str) -> dict:
    return _line(goal, figure, "", "", None, "", None, None) | {"ours": f"not measured in this run (part {part})"}


def _peer_lines(rows, goal, problem, policy, peer, at_least, label) -> list[dict]:
    """ours/peer lines (propensities not read and read, where both were timed) of a (s)/(a) comparison."""
    found = [r for r in rows if r["problem"] == problem and r["policy"] == policy and r["impl"] == peer]
    if not found:
        return [_missing(goal, label, problem[1])]
    r = found[0]
    ours = [o for o in rows if o["problem"] == problem and o["policy"] == policy and o["impl"] == "banditsim"]
    out = []
    for key, how in (("ratio", "not read"), ("ratio_read", "read")):
        if key not in r:
            continue
        mine = next((o for o in ours if f"propensities {how}" in o["note"]), r)
        ours_rate = r[key] * r["decisions_per_s"]
        out.append(_line(goal, f"{label}, propensities {how}", f"{ours_rate:,.0f} decisions/s",
                         f"{peer} {r['decisions_per_s']:,.0f} decisions/s", r[key], f">= {at_least}x",
                         r[key] >= at_least, mine.get("load")))
    return out


def _pair_lines(rows, goal, problem_prefix, target, met) -> list[dict]:
    """Lines of rows that carry ours_value / peer_value / ratio (parts l, t, x)."""
    out = []
    for r in rows:
        if r["problem"].startswith(problem_prefix) and "ratio" in r and "ours_value" in r:
            unit = r["unit"]
            name = f"{r['ours_name']} " if "ours_name" in r else ""
            out.append(_line(goal, f"{r['problem']}: {r['policy']}", f"{name}{_num(r['ours_value'])} {unit}",
                             f"{r['peer_name']} {_num(r['peer_value'])} {unit}", r["ratio"], target(r), met(r),
                             r.get("load")))
    return out


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def _goal_target(r: dict) -> str:
    """The row's goal: ``goal_min`` or ``goal_max`` on its ratio (and 95 % intervals apart, where it says)."""
    bound = f">= {r['goal_min']}x" if "goal_min" in r else f"<= {r['goal_max']}x"
    return bound + (", 95% intervals apart" if "intervals_apart" in r else "")


def _goal_met(r: dict) -> bool:
    ok = r["ratio"] >= r["goal_min"] if "goal_min" in r else r["ratio"] <= r["goal_max"]
    return bool(ok and r.get("intervals_apart", True))


def issue_figures(rows: list[dict], quick_wall_s: float | None = None) -> list[dict]:
    """One line per figure of issue 18's goals (see the module docstring)."""
    out = []
    if quick_wall_s is not None:
        out.append(_line("1", "python -m bench --quick wall time", f"{quick_wall_s:.1f} s", "target 30 s",
                         quick_wall_s / 30, "<= 30 s", quick_wall_s <= 30, None))
    for k in ("1,000", "1,682"):
        out += _peer_lines(rows, "2", f"(s) one stream, K={k} Bernoulli", "thompson", "obp", 2,
                           f"beta_ts single stream K={k} vs obp BernoulliTS")
    seeds = next((r["seeds"] for r in rows if r["problem"] == "(a) K=100 Bernoulli" and r["impl"] == "banditsim"), 0)
    out += _peer_lines(rows, "2", "(a) K=100 Bernoulli", "thompson", "obp", 10,
                       f"beta_ts {seeds or 'R'} replicas batched at K=100 vs obp BernoulliTS")
    lat = [r for r in rows if r["problem"].startswith("(l)")]
    out += _pair_lines(lat, "3", "(l)", lambda r: ">= 2x", lambda r: r["ratio"] >= 2) if lat else [
        _missing("3", "single stream K=100 Thompson, ε-greedy, LinUCB vs obp", "l")]
    out += [_line("3", f"{r['problem']}: {r['policy']} Python overhead per act+update",
                  f"{r['us_per_step']:.1f} µs CPU, {r['calls_per_step']:.0f} calls", f"obp {r['peer_us_per_step']:.1f} µs",
                  None, "reported", None, r.get("load")) for r in lat if "us_per_step" in r]
    out += _e2e_lines(rows)
    threads = [r for r in rows if r["problem"].startswith("(t)")]
    out += _pair_lines(threads, "5", "(t)", _goal_target, _goal_met) if threads else [
        _missing("5", "threads, neural_linear_ts / lin_ts, torch / numpy on the CPU", "t")]
    out += _world_lines(rows)
    gain = [r for r in rows if r["problem"].startswith("(x)")]
    out += _pair_lines(gain, "7", "(x)", _goal_target, _goal_met) if gain else [
        _missing("7", "contextual gain on the MovieLens world", "x")]
    out += _gpu_lines(rows)
    return out


def _e2e_lines(rows) -> list[dict]:
    e2e = [r for r in rows if r["problem"].startswith("(r)")]
    if not e2e:
        return [_missing("4", "banditsim run end to end per quickstart agent", "r")]
    out = []
    for r in e2e:
        target = E2E_TARGET[r["kind"]]
        rss_ok = r["peak_rss_mib"] < E2E_RSS_MIB
        out.append(_line("4", f"banditsim run {r['n_users']:,} users x {r['horizon']} steps: {r['policy']} "
                              f"(cell loop; peak RSS {r['peak_rss_mib']:,.0f} MiB, goal < {E2E_RSS_MIB})",
                         f"{r['decisions_per_s']:,.0f} decisions/s" + (
                             f" ({r['cpu_decisions_per_s']:,.0f} per CPU-s)" if "cpu_decisions_per_s" in r else ""),
                         f"target {target:,}",
                         r["decisions_per_s"] / target, ">= 1x", r["decisions_per_s"] >= target and rss_ok,
                         r.get("load")))
    return out


def _world_lines(rows) -> list[dict]:
    world = [r for r in rows if r["problem"].startswith("(c)") and r.get("B") == 4096 and "events_per_s" in r]
    if not world:
        return [_missing("6", "world events/s at B=4,096, default dynamics", "c at full size")]
    r = world[0]
    return [_line("6", "world.step alone at B=4,096, the quickstart's dynamics", f"{r['events_per_s']:,.0f} events/s",
                  f"target {WORLD_TARGET:,}", r["events_per_s"] / WORLD_TARGET, ">= 1x",
                  r["events_per_s"] >= WORLD_TARGET, r.get("load"))]


def _gpu_lines(rows) -> list[dict]:
    gpu = [r for r in rows if r["problem"].startswith("(g)")]
    if not gpu:
        return [_missing("8", "world and LinTS on a CUDA GPU", "g")]
    out = []
    for r in gpu:
        if "B" not in r:
            out.append(_line("8", "world and LinTS on a CUDA GPU", r["note"], "", None, "measured", None, r.get("load")))
            continue
        fig = (f"{r['events_per_s']:,.0f} events/s" if "events_per_s" in r else f"{r['decisions_per_s']:,.0f} decisions/s")
        out.append(_line("8", f"{r['policy']} at B={r['B']:,} ({r['impl']})", fig, "", None, "measured", None,
                         r.get("load")))
    return out


def format_line(f: dict) -> str:
    """One printed line of the summary."""
    ratio = "" if f["ratio"] is None or math.isnan(f["ratio"]) else f"{f['ratio']:.2f}x"
    met = {True: "met", False: "MISSED", None: ""}[f["met"]]
    load = "" if f["load"] is None else f"(load {f['load']:.2f})"
    return (f"  goal {f['goal']}: {f['figure']}: ours {f['ours']}" + (f"; {f['peer']}" if f["peer"] else "")
            + (f"; ratio {ratio}" if ratio else "") + (f"; goal {f['target']} {met}" if met else "") + f" {load}")
