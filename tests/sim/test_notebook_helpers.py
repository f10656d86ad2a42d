"""The package modules the notebooks use: size switch, embedding map, learning trace,
prepared runs, cold-start view, candidate ranking and the A/B decision."""

from __future__ import annotations

import json

import numpy as np
import pytest

from banditsim.envs.clusters import cluster_population
from banditsim.envs.population import unit_rows
from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.run.prepare import Prepared


def tiny_prep(cfg_dict: dict, n_items: int = 40, n_new: int = 0) -> Prepared:
    """A Prepared over random unit item vectors (no embedding model), 2 categories."""
    rng = np.random.default_rng(0)
    x = unit_rows(rng.normal(size=(n_items, 16))).astype(np.float32)
    cats = np.zeros((n_items, 2), bool)
    cats[: n_items // 2, 0] = True
    cats[n_items // 2:, 1] = True
    cfg = RunConfig.model_validate(cfg_dict)
    return Prepared(cfg, x, cluster_population(x, 60, n_clusters=4, seed=0), [str(i) for i in range(n_items)],
                    [f"item {i}" for i in range(n_items)], cats, ["A", "B"], np.arange(n_items),
                    n_items - n_new, {"model": "none"})


# ---------------------------------------------------------------- size switch
def test_notebook_size_reads_the_environment(monkeypatch):
    from banditsim.sim.config.notebook_size import SIZE_ENV, notebook_size, pick

    monkeypatch.delenv(SIZE_ENV, raising=False)
    assert notebook_size() == "full" and pick(1, 2) == 2
    monkeypatch.setenv(SIZE_ENV, "ci")
    assert notebook_size() == "ci" and pick(1, 2) == 1
    monkeypatch.setenv(SIZE_ENV, "tiny")
    with pytest.raises(ValueError, match="BANDITSIM_NOTEBOOK_SIZE must be 'ci' or 'full'"):
        notebook_size()
    with pytest.raises(ValueError, match="size must be"):
        pick(1, 2, size="big")


# ---------------------------------------------------------------- embedding map
def test_pca_2d_matches_the_leading_directions():
    from banditsim.sim.report.embedding_map import pca_2d

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4)) * np.array([3.0, 1.0, 0.1, 0.1])
    coords, comps, explained = pca_2d(x)
    assert np.allclose(np.abs(comps[0]), [1, 0, 0, 0], atol=0.05)
    assert np.allclose(coords, (x - x.mean(0)) @ comps.T)
    assert explained[0] > 0.85
    with pytest.raises(ValueError, match="n_components"):
        pca_2d(x, 9)


def test_embedding_map_figure_has_labels_and_users():
    from banditsim.sim.report.embedding_map import (
        favourite_items,
        main_category,
        plot_embedding_map,
        users_by_category,
    )

    prep = tiny_prep({"world": {"n_users": 4}, "agents": [{"name": "random"}]})
    labels = main_category(prep.categories, prep.category_names)
    assert set(labels) == {"A", "B"}
    users = users_by_category(prep.population, prep.item_vectors, prep.categories, ["A", "B"], ["A", "B"], n=5)
    fav = favourite_items(prep.population, prep.item_vectors, users, n=5)
    u = prep.population.utility(prep.item_vectors, users, with_bias=False)
    assert (u[0, fav[0]].min() >= np.sort(u[0])[-5] - 1e-6)
    fig = plot_embedding_map(prep.item_vectors, labels, user_tastes=prep.population.theta[users],
                             user_names=["a", "b"], user_favourites=fav)
    ax = fig.axes[0]
    assert "principal component 1" in ax.get_xlabel() and ax.get_legend() is not None
    with pytest.raises(ValueError, match="unknown category"):
        users_by_category(prep.population, prep.item_vectors, prep.categories, ["A", "B"], ["C"])


# ---------------------------------------------------------------- learning trace
def test_trace_is_deterministic_and_scores_against_truth():
    from banditsim.sim.run.learning_trace import plot_trace, trace_recommendations, trace_table

    prep = tiny_prep({"world": {"n_users": 8}, "run": {"horizon": 12, "seeds": 1},
                      "agents": [{"name": "epsilon_greedy", "params": {"epsilon": 0.1}}, {"name": "random"}]})
    a = trace_recommendations(prep, 0, [1, 2], [0, 6, 12])
    b = trace_recommendations(prep, 0, [1, 2], [0, 6, 12])
    assert a == b and [r["step"] for r in a] == [0, 0, 6, 6, 12, 12]
    util = prep.population.utility(prep.item_vectors, [1, 2])
    for r in a:
        row = util[[1, 2].index(r["user"])]
        assert r["percentile"] == pytest.approx(100 * (row < row[r["item"]]).sum() / (len(row) - 1))
    rows = a + trace_recommendations(prep, 1, [1, 2], [0, 6, 12])
    assert len(plot_trace(rows).axes) == 2
    assert "item" in trace_table(rows)
    with pytest.raises(ValueError, match="checkpoints"):
        trace_recommendations(prep, 0, [1], [13])


@pytest.mark.parametrize("extra,expected_updates", [
    ({}, 12),                                                            # every step, as before
    ({"run": {"horizon": 12, "seeds": 1, "update_every": 4}}, 3),        # retrained every 4 steps
    ({"feedback_delay": {"default": {"dist": "fixed", "steps": 50}}}, 0),  # nothing arrives in 12 steps
])
def test_trace_learns_only_what_the_runner_would_deliver(monkeypatch, extra, expected_updates):
    """The trace replays the cell as the runner does, delays and update cadence included."""
    import banditsim.sim.run.play
    from banditsim.sim.run.learning_trace import trace_recommendations

    cfg = {"world": {"n_users": 8}, "run": {"horizon": 12, "seeds": 1},
           "agents": [{"name": "epsilon_greedy", "params": {"epsilon": 0.1}}], **extra}
    prep = tiny_prep(cfg)
    calls = []
    real_build = banditsim.sim.run.play.build_agent

    def build_and_count(*args, **kwargs):
        agent = real_build(*args, **kwargs)
        update = agent.update
        agent.update = lambda *a, **k: (calls.append(1), update(*a, **k))[1]
        return agent

    monkeypatch.setattr(banditsim.sim.run.play, "build_agent", build_and_count)
    trace_recommendations(prep, 0, [1, 2], [0, 12])
    assert len(calls) == expected_updates


def test_each_prepared_world_gets_its_own_template():
    """The world template was cached by id(prep): a new Prepared reusing a collected one's id,
    or an edited config, got the stale world (another drift rate, another user count)."""
    import gc

    from banditsim.sim.run.play import start_world

    for rate, n_users in [(0.0, 3), (0.3, 5), (0.05, 3), (0.3, 4)]:
        prep = tiny_prep({"world": {"n_users": n_users, "drift": {"rate": rate}}})
        world, _ = start_world(prep, 0)
        assert world.config.drift.rate == rate and world.n_users == n_users
        del prep, world
        gc.collect()
    prep = tiny_prep({"world": {"n_users": 3}})
    start_world(prep, 0)
    prep.config = prep.config.model_copy(update={"world": prep.config.world.model_copy(update={"n_users": 6})})
    assert start_world(prep, 0)[0].n_users == 6


# ---------------------------------------------------------------- prepared runs and cold start
def test_run_prepared_equals_runner_cells_and_cold_start_share(tmp_path):
    from banditsim.envs.errors import BanditsimError
    from banditsim.sim.report.cold_start_view import new_item_share, plot_cold_start
    from banditsim.sim.report.plots import read_columns
    from banditsim.sim.run.runner import run_prepared

    prep = tiny_prep({"world": {"n_users": 6}, "run": {"horizon": 10, "seeds": 2, "workers": 1},
                      "cold_start": {"new_item_fraction": 0.25, "release_step": 5},
                      "agents": [{"name": "random"}, {"name": "epsilon_greedy"}]}, n_items=100, n_new=25)
    res = run_prepared(prep, tmp_path / "run", log=lambda s: None)
    assert set(res.summary) == {"random", "epsilon_greedy"} and res.cells_run == 4
    # a run started from Python gets its report.html too (it was written by the CLI only)
    assert res.report == tmp_path / "run" / "report.html" and "<table" in res.report.read_text()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["catalog"]["n_initial"] == 75
    share = new_item_share(tmp_path / "run")
    grid = share["share"]["random"]
    assert grid.shape == (2, 10)
    assert np.all(grid[:, :5] == 0)                # nothing new before the release
    assert grid[:, 5:].mean() > 0.05               # random shows new items at about their share (25%)
    fig = plot_cold_start(share, read_columns(tmp_path / "run" / "metrics.parquet"), window=2)
    assert len(fig.axes) == 2
    with pytest.raises(BanditsimError, match="not an empty folder"):
        run_prepared(prep, tmp_path / "run", log=lambda s: None)


# ---------------------------------------------------------------- decisions
def _lift(metric, lift, p, guardrail=False, breached=False):
    return {"metric": metric, "lift": lift, "low": lift - 0.01, "high": lift + 0.01, "p_value": p,
            "significant": p < 0.05, "guardrail": guardrail, "guardrail_breached": breached}


def test_ab_decision_verdicts():
    from banditsim.sim.abtest.decision import ab_decision, plot_lifts

    ok = [_lift("reward", 0.1, 0.001), _lift("negative_rate", -0.02, 0.01, guardrail=True)]
    assert ab_decision(ok).verdict == "ship"
    assert ab_decision([_lift("reward", -0.1, 0.001)]).verdict == "do not ship"
    assert ab_decision([_lift("reward", 0.01, 0.4)]).verdict == "keep testing"
    bad = [_lift("reward", 0.1, 0.001), _lift("negative_rate", 0.02, 0.01, guardrail=True, breached=True)]
    d = ab_decision(bad)
    assert d.verdict == "do not ship" and "breached" in str(d)
    with pytest.raises(ValueError, match="primary metric"):
        ab_decision(ok, primary="clicks")
    assert len(plot_lifts(bad).axes) == 2


def test_rank_candidates_orders_by_estimate():
    from banditsim.sim.abtest.decision import rank_candidates

    rows = [{"target": t, "estimator": "dr", "estimate": v, "low": v - 0.1, "high": v + 0.1, "truth": v}
            for t, v in (("a", 0.2), ("b", 0.6), ("c", 0.4))]
    ranked = rank_candidates(rows, baseline=0.45)
    assert [r["target"] for r in ranked] == ["b", "c", "a"]
    assert [r["beats_baseline"] for r in ranked] == [True, False, False]
    with pytest.raises(ValueError, match="no rows for estimator"):
        rank_candidates(rows, "ips")
