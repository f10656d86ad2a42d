"""``banditsim ope --log FILE`` (issue #16 item 4) through the CLI: a real run's own log, CSV and .npz
copies of it, agent targets, and one clear line for every bad file or option."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.reliability.rel_helpers import check_cli_error, tiny_config_text, write_tiny_catalog


@pytest.fixture(scope="module")
def run_log(tmp_path_factory):
    """log.parquet of a real tiny run (random agent over the items a person has not blocked), with a target
    column ``pi_same`` equal to the logging propensity (so IPS must equal the mean reward exactly)."""
    import pyarrow as pa

    from banditsim.sim.cli import main

    folder = tmp_path_factory.mktemp("ope-log")
    catalog = write_tiny_catalog(folder)
    cfg = folder / "c.yaml"
    cfg.write_text(tiny_config_text(catalog, seeds=1, horizon=60, n_users=32, agents="  - {name: random}\n")
                   .replace("max_rows_per_cell: 60", "max_rows_per_cell: 100000")
                   .replace("n_users: 60, n_clusters", "n_users: 400, n_clusters"))
    assert main(["run", str(cfg), "--out", str(folder / "run"), "--quiet"]) == 0
    table = pq.read_table(folder / "run" / "log.parquet")
    table = table.append_column("pi_same", table["pscore"])
    path = folder / "log.parquet"
    pq.write_table(table, path)
    return path, table


def _strict(path):
    return json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_own_log_in_three_formats_gives_the_same_estimates(run_log, tmp_path, capsys):
    from banditsim.sim.cli import main

    path, table = run_log
    csv = tmp_path / "log.csv"
    pacsv.write_csv(table.select(["action", "pscore", "reward", "context_id", "pi_same"]), csv)
    npz = tmp_path / "log.npz"
    np.savez(npz, n_actions=16, action=table["action"].to_numpy(), pscore=table["pscore"].to_numpy(),
             reward=table["reward"].to_numpy(), user_id=table["context_id"].to_numpy(),
             pi_same=table["pi_same"].to_numpy())
    estimates = {}
    for src in (path, csv, npz):
        out = tmp_path / f"out-{src.suffix[1:]}"
        assert main(["ope", "--log", str(src), "--out", str(out)]) == 0, capsys.readouterr().err
        doc = _strict(out / "ope.json")
        rows = {(r["target"], r["estimator"]): r for r in doc["estimates"]}
        estimates[src.suffix] = rows[("same", "ips")]["estimate"]
        assert rows[("same", "ips")]["truth"] is None and rows[("same", "ips")]["verdict"] == "ok"
        people = len(set(table["context_id"].to_pylist()))
        assert rows[("same", "ips")]["users"] == people < table.num_rows  # clustered by person, not by row
    # the target is the logging policy: every weight is 1 and IPS is the plain mean reward
    mean = float(np.mean(table["reward"].to_numpy()))
    assert estimates[".parquet"] == pytest.approx(mean, rel=1e-12)
    assert estimates[".csv"] == pytest.approx(mean, rel=1e-12) and estimates[".npz"] == pytest.approx(mean, rel=1e-12)


def test_agent_targets_from_the_command_line(run_log, tmp_path, capsys):
    from banditsim.sim.cli import main

    path, _ = run_log
    out = tmp_path / "agents"
    code = main(["ope", "--log", str(path), "--out", str(out), "--target", "epsilon_greedy:epsilon=0.3",
                 "--target", "beta_ts", "--train-fraction", "0.4"])
    assert code == 0, capsys.readouterr().err
    doc = _strict(out / "ope.json")
    assert doc["settings"] == {"targets": ["epsilon_greedy:epsilon=0.3", "beta_ts"], "train_fraction": 0.4}
    labels = {r["target"] for r in doc["estimates"]}
    assert {"epsilon_greedy:epsilon=0.3", "beta_ts", "same"} <= labels
    assert (out / "estimates.png").stat().st_size > 0


def test_bad_logs_and_options_are_one_line(run_log, tmp_path, capsys):
    path, table = run_log
    bad = tmp_path / "bad.csv"
    cols = table.select(["action", "pscore", "reward"]).to_pydict()
    cols["pscore"][3] = 0.0
    pacsv.write_csv(__import__("pyarrow").table(cols), bad)
    nopscore = tmp_path / "nopscore.csv"
    pacsv.write_csv(table.select(["action", "reward"]), nopscore)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, action=np.array([{"a": 1}], dtype=object), pscore=[0.5], reward=[1.0])
    cases = [
        (["ope", "--log", str(bad)], "pscore must lie in (0, 1]"),
        (["ope", "--log", str(nopscore)], "missing column(s) pscore"),
        (["ope", "--log", str(pickled)], "never pickle"),
        (["ope", "--log", str(tmp_path / "absent.parquet")], "no such file"),
        (["ope", "--log", str(path), "--target", "no_such_agent"], "no_such_agent"),
        (["ope", "--log", str(path), "--train-fraction", "1.5"], "--train-fraction"),
        (["ope", "--log", str(path), "--set", "experiment.max_rows=10"], "give one or the other"),
        (["ope", "--target", "random"], "--target needs --log"),
    ]
    for argv, expect in cases:
        check_cli_error([*argv, "--out", str(tmp_path / "never")], capsys, "16 ope --log", expect=expect)
    assert not (tmp_path / "never").exists()
