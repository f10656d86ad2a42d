"""Your own logs (issue #16 item 4): parquet / CSV / .npz round trips and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from banditsim.sim.ope.log import OPEInputError
from banditsim.sim.ope.log_file import read_log_file
from banditsim.sim.offline.log_file import estimate_log_file


def _arrays(n=1_200, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    pb = np.exp(x @ rng.normal(size=(2, k)))
    pb /= pb.sum(1, keepdims=True)
    pb = 0.8 * pb + 0.2 / k
    a = (pb.cumsum(1) < rng.random(n)[:, None]).sum(1)
    pe = np.full((n, k), 1 / k)
    return {"action": a, "pscore": pb[np.arange(n), a], "reward": (rng.random(n) < 0.3 + 0.1 * a).astype(float),
            "user_id": np.arange(n) % 200, "pi_uniform": pe[np.arange(n), a], "x_0": x[:, 0], "x_1": x[:, 1]}


def _by(rows):
    return {(r["target"], r["estimator"]): r for r in rows}


def test_parquet_csv_and_npz_round_trip_to_the_same_estimates(tmp_path):
    cols = _arrays()
    pq.write_table(pa.table(cols), tmp_path / "log.parquet")
    pacsv.write_csv(pa.table(cols), tmp_path / "log.csv")
    np.savez(tmp_path / "log.npz", n_actions=4, action=cols["action"], pscore=cols["pscore"], reward=cols["reward"],
             user_id=cols["user_id"], pi_uniform=cols["pi_uniform"],
             context=np.column_stack([cols["x_0"], cols["x_1"]]))
    got = {ext: _by(estimate_log_file(tmp_path / f"log.{ext}")) for ext in ("parquet", "csv", "npz")}
    ref = got["parquet"][("uniform", "ips")]
    assert ref["estimate"] is not None and ref["truth"] is None and ref["covers"] is None and ref["users"] == 200
    for ext in ("csv", "npz"):
        for name in ("ips", "snips"):
            assert got[ext][("uniform", name)]["estimate"] == pytest.approx(got["parquet"][("uniform", name)]["estimate"],
                                                                           rel=1e-12)
    assert got["parquet"][("uniform", "dr")]["estimate"] is None       # a pi_ column cannot give DR
    ctx = read_log_file(tmp_path / "log.csv").log.context
    assert ctx.shape == (1_200, 2)


def test_agent_targets_are_replayed_on_the_first_half_and_evaluated_on_the_rest(tmp_path):
    cols = _arrays(n=2_000)
    np.savez(tmp_path / "log.npz", n_actions=4, action=cols["action"], pscore=cols["pscore"], reward=cols["reward"],
             user_id=cols["user_id"], context=np.column_stack([cols["x_0"], cols["x_1"]]))
    rows = estimate_log_file(tmp_path / "log.npz", [{"name": "epsilon_greedy", "params": {"epsilon": 0.5},
                                                     "label": "eg"}, {"name": "random"}])
    by = _by(rows)
    assert by[("eg", "ips")]["rows"] == 1_000 and by[("random", "dr")]["estimate"] is not None
    assert by[("random", "ips")]["support"] == pytest.approx(1.0, abs=0.1)
    # the random agent's value is the mean reward of a uniform policy: IPS within its interval of the
    # logged-reward mean per action
    truth = np.mean([cols["reward"][1000:][cols["action"][1000:] == a].mean() for a in range(4)])
    r = by[("random", "ips")]
    assert r["low"] - 0.03 <= truth <= r["high"] + 0.03
    with pytest.raises(OPEInputError, match="no action probabilities|unknown agent|not_an_agent"):
        estimate_log_file(tmp_path / "log.npz", [{"name": "not_an_agent"}])


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.pop("pscore"), "missing column(s) pscore"),
    (lambda c: c.__setitem__("pscore", np.r_[0.0, c["pscore"][1:]]), "pscore must lie in (0, 1], found 0.0"),
    (lambda c: c.__setitem__("pscore", np.r_[1.5, c["pscore"][1:]]), "pscore must lie in (0, 1], found 1.5"),
    (lambda c: c.__setitem__("action", np.r_[-1, c["action"][1:]]), "unknown action id -1"),
    (lambda c: c.__setitem__("reward", np.array(["x"] * len(c["reward"]))), "'reward' must be numeric"),
    (lambda c: c.__setitem__("pi_uniform", c["pi_uniform"] + 1.0), "'pi_uniform' must hold one probability"),
    (lambda c: c.__setitem__("action", c["action"] + 0.5), "integer"),
])
@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_bad_table_files_are_one_line_errors(tmp_path, mutate, message, ext):
    cols = _arrays(n=50)
    mutate(cols)
    path = tmp_path / f"bad.{ext}"
    (pq.write_table if ext == "parquet" else pacsv.write_csv)(pa.table(cols), path)
    with pytest.raises(OPEInputError) as err:
        read_log_file(path)
    text = str(err.value)
    assert text.startswith(f"bad.{ext}: ") and message in text and "\n" not in text


def test_bad_npz_and_paths_are_one_line_errors(tmp_path):
    cols = _arrays(n=50)
    np.savez(tmp_path / "range.npz", n_actions=3, action=cols["action"], pscore=cols["pscore"], reward=cols["reward"])
    with pytest.raises(OPEInputError, match="unknown action id 3: the log has 3 actions"):
        read_log_file(tmp_path / "range.npz")
    np.savez(tmp_path / "pickled.npz", action=np.array([{"a": 1}], dtype=object), pscore=[0.5], reward=[1.0])
    with pytest.raises(OPEInputError, match="never pickle"):
        read_log_file(tmp_path / "pickled.npz")
    with pytest.raises(OPEInputError, match="unknown log format '.pkl'"):
        read_log_file(tmp_path / "log.pkl")
    with pytest.raises(OPEInputError, match="no such file"):
        read_log_file(tmp_path / "absent.csv")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(OPEInputError, match="junk.parquet: cannot read"):
        read_log_file(tmp_path / "junk.parquet")
    np.savez(tmp_path / "no_target.npz", action=cols["action"], pscore=cols["pscore"], reward=cols["reward"])
    with pytest.raises(OPEInputError, match="no target policy"):
        estimate_log_file(tmp_path / "no_target.npz")


def test_log_results_are_written_as_strict_json(tmp_path):
    import json

    from banditsim.sim.offline.output import write_log_ope_results

    cols = _arrays()
    pq.write_table(pa.table(cols), tmp_path / "log.parquet")
    rows = estimate_log_file(tmp_path / "log.parquet")
    files = write_log_ope_results(tmp_path / "out", tmp_path / "log.parquet", rows, {"train_fraction": 0.5})
    data = json.loads(files[0].read_text(), parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    assert data["estimates"][0]["estimator"] == "ips" and all(f.stat().st_size > 0 for f in files)


def test_agent_target_option_parsing():
    from banditsim.sim.offline.log_file import parse_agent_target

    assert parse_agent_target("linucb:alpha=0.5,ridge=2")["params"] == {"alpha": 0.5, "ridge": 2}
    for bad in (":epsilon=0.1", "epsilon_greedy:epsilon", "epsilon_greedy:=3"):
        with pytest.raises(OPEInputError, match="target"):
            parse_agent_target(bad)


def test_npz_with_obp_pi_b_gives_exact_support_for_agents(tmp_path):
    n, k = 2_000, 4
    rng = np.random.default_rng(3)
    pi_b = np.zeros((n, k, 1))
    pi_b[:, :2, 0] = 0.5                                    # the logging policy never shows items 2 and 3
    a = rng.integers(0, 2, n)
    np.savez(tmp_path / "obp.npz", n_actions=k, action=a, pscore=np.full(n, 0.5), reward=rng.random(n) < 0.3,
             position=np.zeros(n, int), pi_b=pi_b, user_id=np.arange(n) % 100)
    loaded = read_log_file(tmp_path / "obp.npz")
    assert loaded.behavior.shape == (n, k) and "b" not in loaded.targets
    rows = _by(estimate_log_file(tmp_path / "obp.npz", [{"name": "random"}]))
    r = rows[("random", "ips")]
    assert r["support_exact"] and r["support"] == pytest.approx(0.5) and r["verdict"] == "no-support"
    assert r["estimate"] is None
    bad = pi_b.copy()
    bad[:, 0, 0], bad[:, 1, 0] = 0.6, 0.4
    np.savez(tmp_path / "bad.npz", n_actions=k, action=a, pscore=np.full(n, 0.5), reward=np.ones(n), pi_b=bad)
    with pytest.raises(OPEInputError, match="pi_b disagrees with pscore"):
        read_log_file(tmp_path / "bad.npz")


def test_obp_bandit_feedback_saved_with_savez_round_trips(tmp_path):
    from banditsim.sim.ope import ips, softmax_target_policy, synthetic_log, to_obp_dict

    log = synthetic_log(800, 4, len_list=2, random_state=0)
    pi = softmax_target_policy(log)
    feedback = {k: v for k, v in to_obp_dict(log).items() if v is not None}
    rows = np.arange(log.n_rounds)
    np.savez(tmp_path / "feedback.npz", **feedback, pi_soft=pi[rows, log.action, log.position])
    got = read_log_file(tmp_path / "feedback.npz")
    for name in ("action", "position", "reward", "pscore", "context", "action_context"):
        np.testing.assert_array_equal(getattr(got.log, name), getattr(log, name))
    est = _by(estimate_log_file(tmp_path / "feedback.npz"))[("soft", "ips")]
    assert est["estimate"] == pytest.approx(ips(log, pi).value, rel=1e-12) and est["users"] is None   # rows iid
