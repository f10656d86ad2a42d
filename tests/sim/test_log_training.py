"""Forgetting agents trained from a log age each row by its decision step (issue #21 follow-up).

``banditsim ope --log FILE --target ...`` (``sim.ope_log_file``) and the frozen policies trained on
warm-up rows (``banditsim.sim.policies.frozen``) learn a log in ONE update call.  With a plain ``Feedback`` a
forgetting agent took the whole log as one step (nothing aged); with ``Feedback.step`` from the log's
``step`` column (``LoadedLog.steps``) it holds what it would after learning the rows step by step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from banditsim.agents import Context, Feedback, make_agent
from banditsim.sim.policies.frozen import AgentPolicy
from banditsim.sim.ope.log import OPEInputError
from banditsim.sim.ope.log_file import read_log_file
from banditsim.sim.offline.log_file import estimate_log_file, trained_agent
from banditsim.sim.config.policy_spec import PolicySpec
from banditsim.sim.policies.warmup import WarmupRows
from tests.agents.forgetting_state import assert_same_state

N_ARMS, USERS, STEPS, DIM = 4, 5, 12, 3
FORGETTING = [("discounted_beta_ts", {"gamma": 0.8, "reward_range": (-1.0, 1.0), "n_propensity_draws": 8}),
              ("discounted_linucb", {"gamma": 0.8}),
              ("sliding_window_ucb", {"window": 3})]
IDS = [n for n, _ in FORGETTING]


def _log(seed=0):
    """STEPS decision steps of USERS rows each: features, actions, dyadic rewards, kinds, the step of each row."""
    rng = np.random.default_rng(seed)
    n = USERS * STEPS
    return {"x": rng.normal(size=(n, DIM)), "action": rng.integers(0, N_ARMS, n),
            "reward": rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], n), "kind": rng.integers(0, 7, n),
            "step": np.repeat(np.arange(STEPS), USERS)}


def _write(path, log, step=True, fmt="parquet"):
    cols = {"action": log["action"], "pscore": np.full(log["action"].size, 1.0 / N_ARMS), "reward": log["reward"]}
    cols.update({f"x_{j}": log["x"][:, j] for j in range(DIM)})
    if step is True:
        cols["step"] = log["step"].astype(np.int32)  # log.parquet's dtype
    elif step is not False:
        cols["step"] = step
    if fmt == "parquet":
        pq.write_table(pa.table(cols), path)
    elif fmt == "npz":
        np.savez(path, **cols)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(pa.table(cols), path)
    return path


def _step_by_step(name, params, log, rows, per_row=False):
    """The agent fed ``rows`` one decision step per call with plain ``Feedback`` (each call one step)."""
    agent = make_agent(name, N_ARMS, random_state=0, **params)
    groups = np.arange(rows.size) if per_row else log["step"][rows]
    for s in np.unique(groups):
        r = rows[groups == s]
        agent.update(Context(features=log["x"][r]), log["action"][r], Feedback(reward=log["reward"][r]))
    return agent


@pytest.mark.parametrize("name,params", FORGETTING, ids=IDS)
def test_agent_trained_from_a_log_file_equals_step_by_step(tmp_path, name, params):
    """The OPE replay's training half (6 steps × 5 rows, one call) against 6 calls of one step each."""
    log = _log()
    path = _write(tmp_path / "log.parquet", log)
    loaded = read_log_file(path)
    train = np.arange(USERS * STEPS // 2)
    steps = loaded.steps()
    np.testing.assert_array_equal(steps, log["step"])
    from_log = trained_agent({"name": name, "params": params}, loaded.log, train, steps, seed=0)
    by_step = _step_by_step(name, params, log, train)
    assert_same_state(name, from_log, by_step)
    assert from_log.clock.tolist() == [STEPS // 2 - 1]
    # the old training, one plain Feedback for the whole half, took it as one step: a different state
    old = make_agent(name, N_ARMS, random_state=0, **params)
    old.update(Context(features=log["x"][train]), log["action"][train], Feedback(reward=log["reward"][train]))
    with pytest.raises(AssertionError):
        assert_same_state(name, old, by_step)


@pytest.mark.parametrize("fmt", ["csv", "npz"])
def test_a_log_without_step_is_one_decision_per_row(tmp_path, fmt):
    """No ``step`` column (e.g. OBP's bandit_feedback): each row is one round, in file order."""
    log = _log(1)
    path = _write(tmp_path / f"log.{fmt}", log, step=False, fmt=fmt)
    loaded = read_log_file(path)
    steps = loaded.steps()
    np.testing.assert_array_equal(steps, np.arange(USERS * STEPS))
    train = np.arange(20)
    name, params = FORGETTING[2]
    from_log = trained_agent({"name": name, "params": params}, loaded.log, train, steps, seed=0)
    assert_same_state(name, from_log, _step_by_step(name, params, log, train, per_row=True))
    with_steps = _write(tmp_path / f"steps.{fmt}", log, fmt=fmt)
    np.testing.assert_array_equal(read_log_file(with_steps).steps(), log["step"])


BAD_STEPS = [(np.r_[-1, np.zeros(USERS * STEPS - 1, int)], "decision steps >= 0, got -1 in row 0"),
             (np.r_[0.5, np.zeros(USERS * STEPS - 1)], "integer decision steps, got 0.5 in row 0"),
             (np.r_[np.nan, np.zeros(USERS * STEPS - 1)], ("got nan in row 0", "has 1 missing values")),  # CSV: empty
             (np.array(["a"] * (USERS * STEPS)), "integer decision steps, got")]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("bad,message", BAD_STEPS, ids=["negative", "fraction", "nan", "text"])
def test_a_bad_step_column_is_one_clear_error(tmp_path, fmt, bad, message):
    path = _write(tmp_path / f"log.{fmt}", _log(), step=bad, fmt=fmt)
    with pytest.raises(OPEInputError) as info:
        estimate_log_file(path, [{"name": "sliding_window_ucb", "params": {"window": 3}}])
    text = str(info.value)
    alternatives = (message,) if isinstance(message, str) else message
    assert text.startswith(f"log.{fmt}: column 'step'") and "\n" not in text, text
    assert any(m in text for m in alternatives), text


def test_a_bad_step_column_through_the_cli(tmp_path, capsys):
    from tests.reliability.rel_helpers import check_cli_error

    path = _write(tmp_path / "log.parquet", _log(), step=np.r_[-4, np.zeros(USERS * STEPS - 1, int)])
    out = tmp_path / "results"
    check_cli_error(["ope", "--log", str(path), "--out", str(out), "--target", "sliding_window_ucb:window=3"],
                    capsys, "ope log file", "step=-4", expect="column 'step' must hold decision steps >= 0",
                    must_not_exist=[out])


def test_estimates_of_a_forgetting_target_use_the_aged_model(tmp_path):
    """End to end: the replayed target's estimates are those of the step-by-step agent's distribution."""
    log = _log(2)
    path = _write(tmp_path / "log.parquet", log)
    rows = estimate_log_file(path, [{"name": "sliding_window_ucb", "params": {"window": 2}, "label": "sw"}],
                             estimators=("ips",))
    test = np.arange(USERS * STEPS // 2, USERS * STEPS)
    agent = _step_by_step("sliding_window_ucb", {"window": 2}, log, np.arange(USERS * STEPS // 2))
    dist = agent.act(Context(features=log["x"][test])).probabilities
    expected = np.mean(dist[np.arange(test.size), log["action"][test]] * N_ARMS * log["reward"][test])
    assert rows[0]["estimate"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name,params", FORGETTING, ids=IDS)
def test_frozen_agent_policy_trained_on_timed_warmup_rows_equals_step_by_step(name, params):
    log = _log(3)
    rows = np.arange(USERS * STEPS)
    warm = WarmupRows(log["x"], log["action"], log["reward"], log["kind"], np.full(rows.size, 0.25), log["step"])
    spec = PolicySpec(label="p", name=name, params=params)
    values = [-1.0, -0.5, -0.1, 0.0, 0.5, 1.0, 1.0, 1.0]  # one reward per feedback kind
    policy = AgentPolicy(spec, np.eye(N_ARMS), values, 0).fit(warm)
    by_step = make_agent(name, N_ARMS, random_state=0, kind_values=values, **params)
    for s in range(STEPS):
        r = rows[log["step"] == s]
        by_step.update(Context(features=log["x"][r], arm_features=np.eye(N_ARMS)), log["action"][r],
                       Feedback(reward=log["reward"][r], kind=log["kind"][r]))
    assert_same_state(name, policy.agent, by_step)
    # rows without steps (step=None) are one retraining: one step
    plain = AgentPolicy(spec, np.eye(N_ARMS), values, 0).fit(WarmupRows(*dataclasses.astuple(warm)[:5]))
    assert plain.agent.clock.tolist() == [0] and policy.agent.clock.tolist() == [STEPS - 1]
