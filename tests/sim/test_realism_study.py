"""The production-realism study's tables (sim.realism_study, bench.production_realism)."""

from __future__ import annotations

import numpy as np
import torch

from banditsim.sim.studies import realism_study as rs
from banditsim.sim.stats.intervals import mean_ci

torch.set_num_threads(1)


def test_paired_differences_are_per_seed_differences_with_their_own_interval():
    pts = [rs.Point("off", "b", (10.0, 12.0, 11.0)), rs.Point("off", "a", (9.0, 12.5, 10.0)),
           rs.Point("on", "b", (20.0, 22.0, 21.0)), rs.Point("on", "a", (15.0, 18.0, 16.5))]
    diffs = rs.paired_differences(pts, {"a": "b"})
    assert [(d.variant, d.agent) for d in diffs] == [("off", "`a` − `b`"), ("on", "`a` − `b`")]
    assert diffs[1].per_seed == (-5.0, -4.0, -4.5)
    assert diffs[1].interval == mean_ci([-5.0, -4.0, -4.5])
    # the paired interval is narrower than the difference of the two intervals would suggest
    lo, hi = diffs[1].interval[1:]
    assert hi < 0 and rs.cell(diffs[1], signed=True).startswith("−4.5 [−")


def test_markdown_orientation_labels_and_missing_cells():
    pts = [rs.Point("0.1", "x", (1.0, 2.0)), rs.Point("0.1", "y", (3.0, 3.0)), rs.Point("1", "x", (4.0, 4.0))]
    text = rs.markdown(pts, "ε").splitlines()
    assert text[0] == "| ε | `x` | `y` |" and text[1] == "|---|---|---|"
    assert text[3] == "| 1 | 4.0 [4.0, 4.0] | (not run) |"
    m, lo, hi = mean_ci([1.0, 2.0])
    assert text[2].startswith(f"| 0.1 | {m:.1f} [{lo:.1f}, {hi:.1f}] |")
    by_agent = rs.markdown(pts, "agent", rows="agent", row_labels={"x": "`x` (γ 0.9)"}).splitlines()
    assert by_agent[0] == "| agent | 0.1 | 1 |" and by_agent[2].startswith("| `x` (γ 0.9) |")
    assert by_agent[3] == "| `y` | 3.0 [3.0, 3.0] | (not run) |"


def test_variants_are_valid_configs_at_both_sizes():
    base = {"catalog": {"source": str(rs.DATA / "podcasts.csv"), "text_columns": ["title"]},
            "population": {"kind": "clusters", "n_users": 50, "n_clusters": 3}}
    for size in ("ci", "full"):
        variants = {**rs.delay_variants(size), **rs.cadence_variants(size), **rs.DRIFTS}
        agent_sets = [rs.learners(), rs.drift_agents(), rs.private_references()] + [
            rs.private_agents(eps) for eps in rs.epsilons(size)]
        for extra in variants.values():
            rs.run_config(base, extra, rs.learners())
        for agents in agent_sets:
            cfg = rs.run_config(base, {}, agents)
            assert [a.label for a in cfg.agents] == list(agents)
    # each forgetting / private agent's reference is in the same table as the agent
    assert set(rs.FORGETTING) | set(rs.FORGETTING.values()) <= set(rs.drift_agents())
    assert set(rs.PRIVATE.values()) == set(rs.private_references())
    # the fixed-noise lin_ts reference has the noise scale the discounted and private agents use
    from banditsim.agents import make_agent

    fixed = rs.drift_agents()[rs.LIN_TS_FIXED]["params"]["noise_std"]
    assert fixed == rs.private_references()[rs.LIN_TS_FIXED]["params"]["noise_std"]
    for name in ("discounted_lin_ts", "private_lin_ts"):
        spec = {**rs.drift_agents(), **rs.private_agents(1.0)}[name]
        assert make_agent(name, 3, **spec["params"]).noise_std == fixed
    assert rs.private_agents(1000.0)["private_beta_ts"]["params"]["epsilon"] == 1000.0


def test_bad_section_is_one_error_line(capsys):
    from bench.production_realism import main

    assert main(["--only", "delay,drfit"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --only: unknown section 'drfit' (sections: delay, every, drift, privacy)"
    assert main(["--only", " , "]) == 2
    assert capsys.readouterr().err.strip() == "error: --only: no section given"


def test_ci_size_prints_the_cadence_table(capsys):
    from bench.production_realism import main

    assert main(["--size", "ci", "--only", "every"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert lines[0] == "| `update_every` | `lin_ts` | `linucb` | `beta_ts` |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| 1", "| 5"]
    values = [float(c.split(" [")[0]) for line in lines[2:] for c in line.strip("| ").split(" | ")[1:]]
    assert len(values) == 6 and all(np.isfinite(values)) and min(values) > 0
    assert "`python -m bench.production_realism --size ci --only every`" in out



def test_the_study_catalog_is_the_notebooks_podcast_file():
    # the study module sits two folders below the repository root (sim/studies/); a wrong depth
    # points the catalog at a folder that does not exist
    assert (rs.DATA / "podcasts.csv").is_file()
