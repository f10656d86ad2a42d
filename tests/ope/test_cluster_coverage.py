"""Cluster-robust intervals on multi-round sessions: 200 seeded replications (issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope.coverage import evaluate_session
from banditsim.sim.ope.sessions import SessionWorld, make_targets, population_value, session_log

N_REPS = 200
ESTIMATORS = ("ips", "snips", "dr")


@pytest.fixture(scope="module")
def coverage():
    """Per (clustered, target, estimator): coverage of the population truth over N_REPS logs of
    60 users x 8 rounds whose hidden tastes make a user's rows correlated."""
    world = SessionWorld.draw(n_actions=4, dim=2, user_sd=1.5, seed=3)
    targets = make_targets(world, names=("epsilon-greedy", "beta-ts"))
    truths = {t.label: population_value(world, t, draws=100_000)[0] for t in targets}
    hits: dict = {}
    for rep in range(N_REPS):
        slog = session_log(world, 60, 8, temperature=1.0, epsilon=0.1, seed=[5, rep])
        for clustered in (True, False):
            for r in evaluate_session(slog, targets, truths, ESTIMATORS, clustered=clustered):
                hits.setdefault((clustered, r["target"], r["estimator"]), []).append(
                    (r["covers"], r["verdict"]))
    return hits


@pytest.mark.parametrize("target", ["epsilon-greedy", "beta-ts"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_cluster_robust_intervals_cover(coverage, target, estimator):
    got = coverage[(True, target, estimator)]
    assert len(got) == N_REPS and np.mean([v == "ok" for _, v in got]) >= 0.95
    cov = np.mean([c is True for c, v in got if v == "ok"])
    assert 0.90 <= cov <= 0.99, f"{target}/{estimator}: coverage {cov:.3f}"


def test_iid_row_intervals_undercover_the_same_logs(coverage):
    """The old iid-over-rows intervals on the same logs: too narrow when users are clusters."""
    worst = min(np.mean([c is True for c, _ in coverage[(False, t, e)]])
                for t in ("epsilon-greedy", "beta-ts") for e in ("snips", "dr"))
    assert worst < 0.90
