"""Smoke test of the benchmark harness: ``python -m bench --quick --only a,b`` at tiny size.

The benchmark itself never runs in the test suite; this only proves the command works and
writes the JSON and markdown it promises (peers that are not installed are skipped; obp is
left out here because importing it imports torch, which alone takes seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_writes_json_and_markdown(tmp_path):
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "a,b", "--seeds", "4", "--peer-budget", "0.05", "--peers", "mabwiser,vw",
         "--propensities", "read",
         "--json", str(out_json), "--markdown", str(out_md)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out_json.read_text())
    assert {"command", "machine", "peers", "rows", "sizes", "blas_threads"} <= result.keys()
    assert {"cpu", "cores", "load_1_5_15", "date", "packages"} <= result["machine"].keys()
    ours = [r for r in result["rows"] if r["impl"] == "banditsim"]
    assert {(r["problem"][:3], r["policy"]) for r in ours} == {
        ("(a)", "thompson"), ("(a)", "ucb1"), ("(a)", "epsilon_greedy"),
        ("(b)", "linucb"), ("(b)", "lin_ts"), ("(b)", "epsilon_greedy")}
    for r in result["rows"]:
        assert {"problem", "policy", "impl", "decisions_per_s", "seeds", "steps", "regret"} <= r.keys()
        assert r["decisions_per_s"] > 0
        if r["impl"] != "banditsim":
            assert r["ratio"] > 0 and "ours_regret_same_T" in r
    for name, status in result["peers"].items():
        assert status["installed"] or status["error"], name
    markdown = out_md.read_text()
    assert "| problem | policy | impl | decisions/s | ours/peer |" in markdown
    assert all(r["params"].get("n_propensity_draws") is None for r in ours)  # defaults: no tuned rows
    assert result["propensities"] == "read" and "(read by the benchmark in (a)/(b))" in markdown
    thompson = next(r for r in ours if r["policy"] == "thompson")
    assert thompson["note"].endswith("propensities read (as a logged run)")


def test_bench_single_stream_part_runs_every_agent_at_its_defaults(tmp_path):
    """Part (s): one stream per problem, our agents at their defaults (Thompson timed with and
    without reading propensities), each row with its load; no peers here (import time)."""
    out_json, out_md = tmp_path / "s.json", tmp_path / "s.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "s", "--peers", "", "--stream-budget", "0.05",
         "--json", str(out_json), "--markdown", str(out_md)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out_json.read_text())["rows"]
    got = {(r["problem"], r["policy"], r["note"].split("; ")[-1]) for r in rows}
    for problem in ("K=100 Bernoulli", "K=1,000 Bernoulli"):
        label = f"(s) one stream, {problem}"
        assert {(label, p, "propensities not read") for p in ("thompson", "epsilon_greedy", "ucb1")} <= got
        assert (label, "thompson", "propensities read (as a logged run)") in got
    k1682 = "(s) one stream, K=1,682 Bernoulli"
    assert {(p, how) for pr, p, how in got if pr == k1682} == {
        ("thompson", "propensities not read"), ("thompson", "propensities read (as a logged run)")}
    assert {p for pr, p, _ in got if pr.startswith("(s) one stream, sharp")} == {"linucb", "lin_ts", "epsilon_greedy"}
    assert all(r["params"] == {} and r["seeds"] == 1 and r["decisions_per_s"] > 0 and r["load"] >= 0 for r in rows)
    assert "(s) one stream, K=1,000 Bernoulli | thompson | banditsim" in out_md.read_text()
