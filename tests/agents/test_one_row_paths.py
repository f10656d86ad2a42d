"""One-row fast paths (agents._state.one_row): a single stream's act and update give bit for bit the
actions, propensities, probabilities, explanations and state of the general (batched) paths, and
refuse bad input with the same one-line errors.

Each case plays the same random stream of one-row calls (random replicas, masks or none,
rewards, kinds, a few batched calls and direct edits of the state in between) twice, with
``agents._state.one_row.ENABLED`` on and off, and compares everything bitwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.agents import Context, Feedback, make_agent
from banditsim.agents._state import one_row
from banditsim.agents import KIND_VALUES

N_KINDS = len(KIND_VALUES)

D = 3
CASES = [
    ("beta_ts", 12, {}),  # dense draws
    ("beta_ts", 40, {}),  # the ladder, one row
    ("beta_ts", 300, {}),  # the ladder, one row and batched
    ("beta_ts", 60, {"binarize": True, "reward_range": (-1.0, 1.0)}),
    ("epsilon_greedy", 30, {"epsilon": 0.3}),
    ("epsilon_greedy", 30, {"epsilon": 0.3, "initial_value": 1.0}),  # unpulled arms tie
    ("linucb", 25, {}),
    ("ucb1", 25, {}),
]


KEPT = {"_means", "_means_kept"}
"""Arrays derived from the state that only the one-row paths keep (ε-greedy's means): compared with a
recomputation in their own test, not with the general path (which has none)."""


def _state(agent) -> dict:
    """Every array of the agent's learned state (and its samplers')."""
    out = {}
    for key, val in vars(agent).items():
        if isinstance(val, np.ndarray) and key not in KEPT:
            out[key] = val
    for holder in ("_stats", "posterior", "_threshold"):
        obj = getattr(agent, holder, None)
        if obj is not None:
            out.update({f"{holder}.{k}": v for k, v in vars(obj).items() if isinstance(v, np.ndarray)})
    return out


def _play(name, n_arms, params, enabled, monkeypatch, explain, edits):
    monkeypatch.setattr(one_row, "ENABLED", enabled)
    agent = make_agent(name, n_arms, n_replicas=3, random_state=5, **params)
    agent.explain = explain
    rng = np.random.default_rng(1)
    out = []
    for step in range(150):
        replica = int(rng.integers(3))
        features = rng.normal(size=(1, D)) if name == "linucb" else None
        mask = None
        if step % 3 == 1:
            mask = rng.random((1, n_arms)) < 0.6
            mask[0, rng.integers(n_arms)] = True
        if step % 25 == 24:  # now and then a batch of four rows: the general path between one-row calls
            ctx = Context(features=None if features is None else rng.normal(size=(4, D)),
                          replica=rng.integers(0, 3, 4))
        else:
            ctx = Context(features=features, mask=mask, replica=np.array([replica]))
        d = agent.act(ctx)
        out.append((d.actions.copy(), d.propensities.copy(),
                    None if d.probabilities is None else d.probabilities.copy(),
                    None if d.explanation is None else {k: v.copy() for k, v in d.explanation.items()}))
        reward = rng.choice([0.0, 1.0, 0.25, -0.5], size=d.n_rows)
        kind = rng.integers(0, N_KINDS, d.n_rows)
        agent.update(ctx if step % 7 else Context(features=ctx.features, replica=ctx.replica), d,
                     Feedback(reward=reward, kind=kind))
        if edits and step % 40 == 39 and hasattr(agent, "alpha"):  # behind the agent's back
            agent.alpha[replica, rng.integers(n_arms)] += 3.0
    for replica in range(3):  # the general path brings a sampler up to date when its replica acts next
        agent.act(Context(features=np.zeros((1, D)) if name == "linucb" else None, replica=[replica]))
    return agent, out


def _assert_same(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif a is None or b is None:
        assert a is None and b is None, path
    else:
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)


@pytest.mark.parametrize(("name", "n_arms", "params"), CASES)
@pytest.mark.parametrize("explain", [False, True])
def test_one_row_paths_match_the_general_paths(name, n_arms, params, explain, monkeypatch):
    fast, fast_out = _play(name, n_arms, params, True, monkeypatch, explain, edits=False)
    slow, slow_out = _play(name, n_arms, params, False, monkeypatch, explain, edits=False)
    for step, (f, s) in enumerate(zip(fast_out, slow_out)):
        for part, fv, sv in zip(("actions", "propensities", "probabilities", "explanation"), f, s):
            _assert_same(fv, sv, f"step {step} {part}")
    _assert_same(_state(fast), _state(slow), "state")


def test_beta_ts_one_row_paths_match_through_direct_edits(monkeypatch):
    """Edits of alpha between calls reach the one-row ladder as they reach the general sync."""
    fast, fast_out = _play("beta_ts", 80, {}, True, monkeypatch, False, edits=True)
    slow, slow_out = _play("beta_ts", 80, {}, False, monkeypatch, False, edits=True)
    for f, s in zip(fast_out, slow_out, strict=True):
        _assert_same(f[:3], s[:3])
    _assert_same(_state(fast), _state(slow), "state")


def test_epsilon_greedy_kept_means_are_the_arm_stats_means():
    """ε-greedy's one-row path keeps each replica's means between calls: after one-row updates (which
    rewrite one entry), batched ones (which drop the replicas they touch) and a new ``initial_value``
    (which drops all), the kept means are bit for bit ``ArmStats.means``, and those it acts on are kept."""
    agent = make_agent("epsilon_greedy", 30, n_replicas=3, random_state=5, initial_value=1.0)
    rng = np.random.default_rng(2)
    for step in range(300):
        if step == 10:  # most arms still unpulled
            agent.initial_value = 0.25
        n = 4 if step % 17 == 16 else 1
        ctx = Context(replica=rng.integers(0, 3, n))
        agent.update(ctx, agent.act(ctx), Feedback(reward=rng.choice([0.0, 1.0, 0.3, -0.7, 1e6], size=n)))
        agent.act(Context(replica=[step % 3]))
        kept = agent._means_kept
        assert kept[step % 3]
        fresh = agent._stats.means(np.arange(3), agent.initial_value)
        np.testing.assert_array_equal(agent._means[kept].view(np.uint64), fresh[kept].view(np.uint64),
                                      err_msg=f"step {step}")


# ------------------------------------------------------------------ bad input on the one-row paths
BAD = [
    ("features nan", lambda a: a.act(Context(features=[[0.0, np.nan, 1.0]])),
     "context.features row 0, column 1 is nan: must be finite, with magnitude <= 1e+06"),
    ("features above the bound", lambda a: a.act(Context(features=[[np.nextafter(1e6, 2e6), 0.0, 0.0]])),
     "context.features row 0, column 0 is 1e+06: must be finite, with magnitude <= 1e+06"),
    ("features whose square overflows", lambda a: a.act(Context(features=[[1e155, 0.0, 0.0]])),
     "context.features row 0, column 0 is 1e+155: must be finite, with magnitude <= 1e+06"),
    ("features -inf", lambda a: a.act(Context(features=[[0.0, 0.0, -np.inf]])),
     "context.features row 0, column 2 is -inf: must be finite, with magnitude <= 1e+06"),
    ("reward nan", lambda a: a.update(None, np.array([1]), Feedback(reward=[np.nan])),
     "feedback.reward row 0 is nan: must be finite, with magnitude <= 1e+06"),
    ("reward 2e6", lambda a: a.update(None, np.array([1]), Feedback(reward=[-2e6])),
     "feedback.reward row 0 is -2e+06: must be finite, with magnitude <= 1e+06"),
    ("action -1", lambda a: a.update(None, np.array([-1]), Feedback(reward=[1.0])),
     "actions must be in [0, 20), got -1..-1"),
    ("action n_arms", lambda a: a.update(None, np.array([20]), Feedback(reward=[1.0])),
     "actions must be in [0, 20), got 20..20"),
    ("action uint", lambda a: a.update(None, np.array([20], dtype=np.uint8), Feedback(reward=[1.0])),
     "actions must be in [0, 20), got 20..20"),
    ("action float", lambda a: a.update(None, np.array([1.0]), Feedback(reward=[1.0])),
     "actions must be integers, got dtype float64"),
    ("replica 2", lambda a: a.act(Context(replica=[2])), "replica must be in [0, 2), got 2..2"),
    ("replica -1", lambda a: a.update(Context(replica=[-1]), np.array([1]), Feedback(reward=[1.0])),
     "replica must be in [0, 2), got -1..-1"),
    ("kind too big", lambda a: a.update(None, np.array([1]), Feedback(reward=[1.0], kind=[N_KINDS])),
     f"feedback.kind must be in [0, {N_KINDS}), got {N_KINDS}..{N_KINDS}"),
    ("kind -1 int8", lambda a: a.update(None, np.array([1]), Feedback(reward=[1.0], kind=np.array([-1], np.int8))),
     f"feedback.kind must be in [0, {N_KINDS}), got -1..-1"),
    ("mask all False", lambda a: a.act(Context(mask=np.zeros((1, 20), bool))),
     "mask allows fewer than slate_size=1 items in some row"),
    ("mask shape", lambda a: a.act(Context(mask=np.ones((1, 19), bool))), "mask must have shape (1, 20), got (1, 19)"),
    ("no rows", lambda a: a.update(None, np.array([], dtype=np.int64), Feedback(reward=[])),
     "n_rows must be >= 1, got 0"),
]


@pytest.mark.parametrize("name", ["beta_ts", "epsilon_greedy", "linucb", "ucb1"])
@pytest.mark.parametrize(("case", "call", "message"), BAD, ids=[b[0] for b in BAD])
def test_one_row_bad_input_gives_the_same_one_line_error(name, case, call, message):
    agent = make_agent(name, 20, n_replicas=2, random_state=0)
    ctx = Context(features=np.zeros((1, D)) if name == "linucb" else None)
    warm = agent.act(ctx)
    agent.update(ctx, warm, Feedback(reward=[1.0]))
    before = {k: v.copy() for k, v in _state(agent).items()}
    with pytest.raises(ValueError) as err:
        call(agent)
    assert str(err.value) == message
    _assert_same(before, _state(agent))


@pytest.mark.parametrize("value", [1e6, -1e6, 0.0, -0.0, 5e-324, 999_999.999])
def test_values_at_or_inside_the_bound_are_accepted(value):
    agent = make_agent("linucb", 4, random_state=0)
    d = agent.act(Context(features=[[value, 1.0, -1.0]]))
    agent.update(Context(features=[[value, 1.0, -1.0]]), d, Feedback(reward=[value]))
