"""Issue #15, class 2: one writer per results folder, and every command writes only its own kind.

Also class 6's "an --out that is an existing file is refused before any work".
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.rel_helpers import check_cli_error, file_sha, record_trust, tiny_config_text, wait_until


@pytest.fixture(scope="module")
def small_run(tiny_catalog, tmp_path_factory):
    """A finished 2-cell run (and its config) to aim other commands at."""
    from banditsim.sim.cli import main

    folder = tmp_path_factory.mktemp("small")
    cfg = folder / "small.yaml"
    cfg.write_text(tiny_config_text(tiny_catalog, seeds=1, horizon=15, agents="  - {name: random}\n  - {name: ucb1}\n"))
    out = folder / "run"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    return cfg, out


def _ope_cfg(folder: Path, catalog: Path) -> Path:
    path = folder / "ope.yaml"
    path.write_text(f"name: tiny-ope\ncatalog: {{source: {catalog}, text_columns: [title]}}\n"
                    "population: {kind: clusters, n_users: 40, n_clusters: 4}\nworld: {n_users: 32}\n"
                    "experiment: {warmup_steps: 2, log_steps: 4}\n")
    return path


def _ab_cfg(folder: Path, catalog: Path) -> Path:
    path = folder / "ab.yaml"
    path.write_text(f"name: tiny-ab\ncatalog: {{source: {catalog}, text_columns: [title]}}\n"
                    "population: {kind: clusters, n_users: 40, n_clusters: 4}\n"
                    "test: {users_per_arm: 32, power_tests: 5, horizon: 5, warmup_users: 40, warmup_steps: 2}\n")
    return path


def test_two_concurrent_runs_on_one_folder(forkserver, tiny_catalog, tmp_path):
    """Two ``banditsim run`` on one --out: the second is refused while the first holds the folder, and
    the first's results are its own."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config_text(tiny_catalog, seeds=2, horizon=400, n_users=32))
    out = tmp_path / "shared"
    log1, log2 = tmp_path / "1.log", tmp_path / "2.log"
    first = forkserver.banditsim(["run", str(cfg), "--out", str(out), "--quiet"], log1)
    assert wait_until(lambda: (out / ".banditsim.lock").exists() or not forkserver.alive(first), 120)
    second = forkserver.banditsim(["run", str(cfg), "--out", str(out), "--quiet", "--set", "run.root_seed=7"], log2)
    code2 = forkserver.wait(second)["exit"]
    code1 = forkserver.wait(first)["exit"]
    err2 = log2.read_text()
    ok = code1 == 0 and code2 == 2 and "is in use by another banditsim command (pid" in err2
    record_trust("2 one writer", "two runs, one --out", "clear-error" if ok else "wrong")
    assert code1 == 0, log1.read_text()[-2000:]
    assert code2 == 2 and "is in use by another banditsim command (pid" in err2, err2[-1500:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["run"]["root_seed"] == 0
    assert not (out / ".banditsim.lock").exists()


def test_a_held_folder_refuses_every_command(small_run, tiny_catalog, tmp_path, capsys):
    from banditsim.sim.run.results_folder import claimed

    cfg, _ = small_run
    for kind, argv in (("run", ["run", str(cfg)]), ("ope", ["ope", str(_ope_cfg(tmp_path, tiny_catalog))]),
                       ("abtest", ["abtest", str(_ab_cfg(tmp_path, tiny_catalog))])):
        out = tmp_path / f"held-{kind}"
        with claimed(out, kind):
            check_cli_error([*argv, "--out", str(out)], capsys, "15/2 one writer", expect="is in use")
        record_trust("2 one writer", f"{kind} into a held folder", "clear-error")
        assert not out.exists()


@pytest.mark.parametrize("holder", ["dead-pid", "live-pid-without-lock", "garbage", "empty"])
def test_a_stale_lock_is_taken_over(small_run, tmp_path, holder, capsys):
    """A lock file left by a killed process (the kernel dropped its flock) never blocks."""
    from banditsim.sim.cli import main

    cfg, _ = small_run
    out = tmp_path / "stale"
    out.mkdir()
    if holder == "dead-pid":
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        text = f"{proc.pid}\n"
    else:
        text = {"live-pid-without-lock": f"{1}\n", "garbage": "\x00\xffnot a pid", "empty": ""}[holder]
    (out / ".banditsim.lock").write_text(text, errors="surrogateescape")
    code = main(["run", str(cfg), "--out", str(out), "--quiet"])
    record_trust("2 one writer", f"stale lock {holder}", "correct" if code == 0 else "wrong")
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert not (out / ".banditsim.lock").exists()


def test_commands_refuse_folders_that_are_not_theirs(small_run, tiny_catalog, tmp_path, capsys):
    """``ope --out <a run>`` used to overwrite the run's log.parquet; now every command keeps to its own."""
    cfg, run_out = small_run
    before = {p.name: file_sha(p) for p in run_out.iterdir() if p.is_file()}
    ope_cfg, ab_cfg = _ope_cfg(tmp_path, tiny_catalog), _ab_cfg(tmp_path, tiny_catalog)
    cases = [("ope into a run", ["ope", str(ope_cfg), "--out", str(run_out)], "holds a banditsim run"),
             ("abtest into a run", ["abtest", str(ab_cfg), "--out", str(run_out)], "holds a banditsim run")]
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("my notes")
    for cmd, c in (("run", cfg), ("ope", ope_cfg), ("abtest", ab_cfg)):
        cases.append((f"{cmd} into a user folder", [cmd, str(c), "--out", str(user)], "holds no"))
    fake_ope = tmp_path / "an-ope"
    fake_ope.mkdir()
    (fake_ope / "ope.json").write_text("{}")
    cases.append(("run into an ope folder", ["run", str(cfg), "--out", str(fake_ope)], "holds a banditsim ope"))
    cases.append(("abtest into an ope folder", ["abtest", str(ab_cfg), "--out", str(fake_ope)],
                  "holds a banditsim ope"))
    cases.append(("fidelity into a run", ["fidelity", str(cfg), "--out", str(run_out)], "holds a banditsim run"))
    for key, argv, expect in cases:
        check_cli_error(argv, capsys, "15/2 one writer", expect=expect)
        record_trust("2 one writer", key, "clear-error")
    assert {p.name: file_sha(p) for p in run_out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in fake_ope.iterdir()) == ["ope.json"]


def test_out_that_is_a_file_is_refused_before_any_work(small_run, tiny_catalog, tmp_path, capsys):
    cfg, _ = small_run
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    for cmd, c in (("run", cfg), ("ope", _ope_cfg(tmp_path, tiny_catalog)), ("abtest", _ab_cfg(tmp_path, tiny_catalog))):
        for out, expect in ((a_file, "is not a folder"), (a_file / "below", "is not a folder")):
            out_s = str(out)
            err = check_cli_error([cmd, str(c), "--out", out_s], capsys, "15/6 out is a file", expect=expect)
            record_trust("6 checks before work", f"{cmd} --out {out.name}", "clear-error")
            assert "embedded" not in err
    assert a_file.read_text() == "keep me"


def test_ope_and_abtest_write_strict_json_into_their_own_folder(tiny_catalog, tmp_path, capsys):
    """A real (tiny) ope and abtest: their JSON parses strictly, and a second run into the same folder
    is allowed (it is theirs)."""
    from banditsim.sim.cli import main

    def strict(text: str):
        return json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))

    for cmd, cfg, name in (("ope", _ope_cfg(tmp_path, tiny_catalog), "ope.json"),
                           ("abtest", _ab_cfg(tmp_path, tiny_catalog), "abtest.json")):
        out = tmp_path / f"{cmd}-out"
        for _ in range(2):
            code = main([cmd, str(cfg), "--out", str(out)])
            err = capsys.readouterr().err
            assert code == 0, err
        strict((out / name).read_text())
        record_trust("7 strict outputs", f"{cmd} json strict", "correct")
        assert not (out / ".banditsim.lock").exists()


def test_sigterm_releases_the_lock(forkserver, tiny_catalog, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config_text(tiny_catalog, seeds=3, horizon=3000, n_users=32))
    out = tmp_path / "o"
    log = tmp_path / "l.log"
    pid = forkserver.banditsim(["run", str(cfg), "--out", str(out), "--quiet"], log, session=True)
    assert wait_until(lambda: (out / "manifest.json").exists() or not forkserver.alive(pid), 120)
    import os

    os.killpg(pid, signal.SIGTERM)
    assert forkserver.wait(pid)["exit"] == 143, log.read_text()[-1500:]
    assert not (out / ".banditsim.lock").exists()
    record_trust("2 one writer", "lock released on SIGTERM", "correct")


@pytest.mark.parametrize("params", ["{name: epsilon_greedy, params: {epsilon: 2}}", "{name: ucb1, params: {c: -1}}",
                                    "{name: lin_ts, params: {noise_std: 0}}", "{name: beta_ts, params: {alpha_prior: nan}}"])
def test_agent_values_are_checked_before_the_embedding(tmp_path, params, capsys):
    """A bad agent value used to surface only after the catalog was embedded."""
    from tests.reliability.rel_helpers import write_tiny_catalog

    catalog = write_tiny_catalog(tmp_path)
    catalog.write_text(catalog.read_text().replace("space opera", "a never embedded space opera"))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config_text(catalog, seeds=1, horizon=5, agents=f"  - {params}\n"))
    cache = tmp_path / "fresh-cache"
    check_cli_error(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet", "--set",
                     f"embedding.cache_dir={cache}"], capsys, "15/6 agent value before embedding", key=params,
                    expect="agent ", must_not_exist=[tmp_path / "o", cache])
    record_trust("6 checks before work", f"agent value {params}", "clear-error")


@pytest.mark.parametrize("command", ["ope", "abtest"])
def test_a_failed_ope_or_abtest_leaves_no_half_written_folder(tiny_catalog, tmp_path, command, monkeypatch, capsys):
    """The disk fills after the first result file: one error line, and the folder it created is gone
    (an ope/abtest folder is only whole when the command finishes)."""
    import errno

    import banditsim.sim.abtest.output
    import banditsim.sim.offline.output

    module, name = ((banditsim.sim.offline.output, "write_ope_results") if command == "ope"
                    else (banditsim.sim.abtest.output, "write_abtest_results"))

    def half(out, *args, **kwargs):
        (Path(out) / "estimates.parquet").write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(out) / f"{command}.json"))

    monkeypatch.setattr(module, name, half)
    cfg = _ope_cfg(tmp_path, tiny_catalog) if command == "ope" else _ab_cfg(tmp_path, tiny_catalog)
    out = tmp_path / "half"
    check_cli_error([command, str(cfg), "--out", str(out)], capsys, "15/6 full disk", key=f"{command} half",
                    expect="No space left on device", must_not_exist=[out])
    record_trust("6 checks before work", f"{command}: full disk after the first file", "clear-error")
