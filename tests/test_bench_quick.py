"""``python -m bench``'s issue-18 parts at quick size and its summary of the issue's figures.

The benchmark's timings are never asserted here: only that the parts print and save their rows, that
the summary (bench/goals.py) reads ours, the peer, the ratio and the goal out of those rows, and that
the markdown starts with the command, the date and the load.  Parts (t) and (x) fit the MovieLens
users (tens of seconds), so they are tested through their functions on small inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gain_part import goal_checks
from bench.goals import issue_figures

ROOT = Path(__file__).resolve().parents[1]


def test_quick_latency_gpu_and_both_propensity_reads(tmp_path):
    pytest.importorskip("obp")
    out_json, out_md = tmp_path / "q.json", tmp_path / "q.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "l,a,g", "--seeds", "4", "--peers", "obp",
         "--peer-budget", "0.05", "--json", str(out_json), "--markdown", str(out_md)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out_json.read_text())
    rows = result["rows"]
    latency = {r["policy"]: r for r in rows if r["problem"].startswith("(l)")}
    assert set(latency) == {"thompson", "epsilon_greedy", "linucb"}
    for r in latency.values():
        assert r["ratio"] > 0 and r["us_per_step"] > 0 and r["calls_per_step"] > 0 and r["peer_name"] == "obp"
    # (a) at the default --propensities both: beta_ts timed unread and read, the peer's row has both ratios
    thompson = [r for r in rows if r["problem"].startswith("(a)") and r["policy"] == "thompson"]
    assert sorted(r["note"].split("; ")[-1] for r in thompson if r["impl"] == "banditsim") == [
        "propensities not read", "propensities read (as a logged run)"]
    assert {"ratio", "ratio_read"} <= next(r for r in thompson if r["impl"] == "obp").keys()
    gpu = [r for r in rows if r["problem"].startswith("(g)")]
    import torch

    if not torch.cuda.is_available():
        assert [r["note"] for r in gpu] == ["not measured: no CUDA device"]
        assert "(g) not measured: no CUDA device" in proc.stdout
    figures = result["issue_figures"]
    assert {f["goal"] for f in figures} == {"2", "3", "4", "5", "6", "7", "8"}
    assert len([f for f in figures if f["goal"] == "3" and f["ratio"] is not None]) == 3
    assert "issue 18's figures" in proc.stdout and "goal 3: (l) single-user latency, K=100: thompson" in proc.stdout
    md = out_md.read_text().splitlines()
    assert md[0] == "# `python -m bench --quick --only l,a,g --seeds 4 --peers obp --peer-budget 0.05 --json " \
                    f"{out_json} --markdown {out_md}`"
    assert md[2].startswith(f"Started {result['started']['date']} at load average ")
    assert "| goal | figure | ours | peer / target | ratio | goal | met | load |" in md


def _stream_rows(ratio, ratio_read, k="1,000"):
    problem = f"(s) one stream, K={k} Bernoulli"
    return [{"problem": problem, "policy": "thompson", "impl": "banditsim", "decisions_per_s": 1.0, "load": 1.5,
             "note": "defaults; propensities not read"},
            {"problem": problem, "policy": "thompson", "impl": "obp", "decisions_per_s": 100.0, "load": 2.5,
             "ratio": ratio, "ratio_read": ratio_read, "note": ""}]


def test_issue_figures_read_ours_peer_ratio_and_goal_from_the_rows():
    rows = _stream_rows(2.5, 0.5) + [
        {"problem": "(t) threads", "policy": "torch / numpy", "impl": "banditsim", "ours_value": 10.0,
         "peer_value": 20.0, "peer_name": "numpy", "unit": "events/s", "ratio": 2.0, "goal_max": 1.5, "load": 1.0},
        {"problem": "(x) gain", "policy": "best contextual / best context-free", "impl": "banditsim",
         "ours_value": 50.0, "peer_value": 100.0, "peer_name": "beta_ts", "unit": "regret", "ratio": 0.5,
         "goal_max": 0.8, "intervals_apart": False, "load": 1.0},
        {"problem": "(r) banditsim run end to end", "policy": "lin_ts", "impl": "banditsim", "kind": "linear",
         "decisions_per_s": 25_000.0, "peak_rss_mib": 2000.0, "n_users": 1024, "horizon": 200, "load": 1.0},
        {"problem": "(c) MovieLens world 1682 items d=384", "policy": "world.step alone", "impl": "banditsim",
         "B": 4096, "events_per_s": 508_000.0, "load": 1.0}]
    figures = issue_figures(rows, quick_wall_s=31.0)
    by = {(f["goal"], f["figure"].split(",")[-1].strip()): f for f in figures}
    assert by[("1", "python -m bench --quick wall time")]["met"] is False
    unread = by[("2", "propensities not read")]
    assert (unread["ratio"], unread["met"], unread["ours"], unread["load"]) == (2.5, True, "250 decisions/s", 1.5)
    assert (by[("2", "propensities read")]["ratio"], by[("2", "propensities read")]["met"]) == (0.5, False)
    torch_line = next(f for f in figures if f["goal"] == "5")
    assert (torch_line["ratio"], torch_line["target"], torch_line["met"]) == (2.0, "<= 1.5x", False)
    gain = next(f for f in figures if f["goal"] == "7")
    assert gain["met"] is False and gain["target"] == "<= 0.8x, 95% intervals apart"  # ratio met, intervals not
    e2e = next(f for f in figures if f["goal"] == "4")
    assert e2e["ratio"] == 1.25 and e2e["met"] is False  # 25,000/s meets 20,000/s; 2,000 MiB does not
    world = next(f for f in figures if f["goal"] == "6")
    assert world["ratio"] == 0.508 and world["met"] is False
    missing = [f for f in figures if f["ours"].startswith("not measured in this run")]
    assert [f["goal"] for f in missing] == ["2", "2", "3", "8"]  # K=1,682 and (a) not in the rows; (l), (g)


def test_gain_goal_checks_pick_the_best_of_each_kind():
    stats = {"beta_ts": (100.0, 90.0, 110.0), "dirichlet_ts": (80.0, 70.0, 90.0),
             "linucb/shared+history": (60.0, 50.0, 69.0), "lin_ts/shared+history": (63.0, 55.0, 71.0),
             "linucb/shared/demo": (10.0, 5.0, 15.0)}  # a history-off row is neither kind
    gain, ts_ucb = goal_checks(stats, "reduced", log=lambda *_: None)
    assert (gain["ours_name"], gain["peer_name"], gain["ratio"]) == ("linucb/shared+history", "dirichlet_ts", 0.75)
    assert gain["intervals_apart"] is True  # 69 < 70
    assert (ts_ucb["ours_name"], ts_ucb["peer_name"], ts_ucb["ratio"]) == ("lin_ts/shared+history",
                                                                          "linucb/shared+history", 1.05)
    stats["linucb/shared+history"] = (60.0, 50.0, 70.5)
    assert goal_checks(stats, "reduced", log=lambda *_: None)[0]["intervals_apart"] is False


def test_threads_part_rows_on_a_tiny_world():
    """(t)'s default-threads and torch-vs-numpy rows, on a 24-item world instead of MovieLens."""
    from types import SimpleNamespace

    from banditsim.sim.config.run_config import RunConfig
    from bench.threads_part import blas_rows, torch_rows
    from tests.sim.tiny_world import tiny_items, tiny_population

    items = tiny_items()
    prep = SimpleNamespace(item_vectors=items, population=tiny_population(items), config=RunConfig.model_validate({}))
    size = {"budget": 0.01, "rounds": 2}
    printed = []
    rows = blas_rows(prep, size, log=printed.append) + torch_rows(prep, size, log=printed.append)
    assert [r["policy"].split(":")[0] for r in rows] == [
        "lin_ts shared d=8, 24 items, B=1", "world.step B=256", "world.step B=256", "lin_ts shared B=256"]
    assert [("goal_min" in r, "goal_max" in r) for r in rows] == [(True, False)] * 2 + [(False, True)] * 2
    for r in rows:
        assert r["rounds"] == 2 and r["ratio"] > 0 and r["ours_value"] > 0 and r["peer_value"] > 0
    assert rows[2]["ratio"] == rows[2]["peer_value"] / rows[2]["ours_value"]  # torch / numpy: a ratio of times
    assert len(printed) == 4


def test_threads_part_neural_rows_read_bench_neural_vs_lints():
    """(t)'s neural_linear_ts / lin_ts rows from bench.neural_vs_lints's sharp single stream (one round)."""
    from bench.threads_part import neural_rows

    rows = neural_rows({"neural_parts": "s", "neural_rounds": 1}, log=lambda *_: None)
    assert [r["policy"] for r in rows] == ["neural_linear_ts / lin_ts: (s) sharp stream, unread",
                                           "neural_linear_ts / lin_ts: (s) sharp stream, read"]
    for r in rows:
        assert r["ratio"] == r["ours_value"] / r["peer_value"] and r["goal_max"] == 3 and r["ratio_wall"] > 0
