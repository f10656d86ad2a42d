"""Issue #15, class 3: ``--resume`` continues the same experiment, or names what differs.

Also class 6 (a manifest that is not a JSON object, a full disk, an out-of-memory cell) and
class 7 (strict JSON, the user's umask, a config ``name`` that points outside the results root).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.rel_helpers import check_cli_error, file_sha, record_trust, tiny_config_text

AGENTS = "  - {name: random}\n  - {name: ucb1}\n"
HORIZON = 12


def _write_run_config(folder: Path, catalog_rel: str = "items.csv", extra: str = "") -> Path:
    cfg = folder / "exp.yaml"
    text = tiny_config_text(Path(catalog_rel), seeds=2, horizon=HORIZON, agents=AGENTS, extra=extra)
    cfg.write_text(text)
    return cfg


@pytest.fixture(scope="module")
def finished(tiny_catalog, tmp_path_factory):
    """A finished 4-cell run whose config names its catalog relative to the config's folder."""
    from banditsim.sim.cli import main

    folder = tmp_path_factory.mktemp("exp")
    shutil.copy(tiny_catalog, folder / "items.csv")
    cfg = _write_run_config(folder)
    out = folder / "ref"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    return folder, cfg, out


def _copy(out: Path, to: Path) -> Path:
    shutil.copytree(out, to)
    return to


def _resume(cfg: Path, out: Path, *extra: str) -> tuple[int, str]:
    import contextlib
    import io

    from banditsim.sim.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out_text:
        code = main(["run", str(cfg), "--out", str(out), "--quiet", "--resume", *extra])
    return code, err.getvalue() + out_text.getvalue()


def test_manifest_records_absolute_paths_and_input_hashes(finished):
    folder, _, out = finished
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["catalog"]["source"] == str(folder / "items.csv")
    inputs = manifest["inputs"]
    assert len(inputs["catalog"]) == 64 and inputs["embedding_model"]
    record_trust("3 resume", "absolute paths + hashes in manifest", "correct")


def test_config_paths_are_relative_to_the_config_not_the_cwd(finished, tmp_path, monkeypatch, capsys):
    """A file of the same name in the current directory used to win over the config's own."""
    from banditsim.sim.cli import main

    folder, cfg, _ = finished
    monkeypatch.chdir(tmp_path)
    (tmp_path / "items.csv").write_text("id,title,genres\n0,a decoy in the working directory,Drama\n")
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--set", "run.seeds=1"]) == 0, \
        capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    ok = manifest["config"]["catalog"]["source"] == str(folder / "items.csv") and manifest["catalog"]["n_items"] == 16
    record_trust("3 resume", "relative path vs cwd decoy", "correct" if ok else "wrong")
    assert ok, manifest["config"]["catalog"]
    # a --set path is the user's own, relative to where they typed it
    out2 = tmp_path / "out2"
    assert main(["run", str(cfg), "--out", str(out2), "--quiet", "--set", "run.seeds=1",
                 "--set", "catalog.source=items.csv", "--set", "catalog.category_column=genres"]) == 0
    manifest = json.loads((out2 / "manifest.json").read_text())
    assert manifest["config"]["catalog"]["source"] == str(tmp_path / "items.csv")
    assert manifest["catalog"]["n_items"] == 1
    record_trust("3 resume", "--set path relative to cwd", "correct")


@pytest.mark.parametrize("change", ["title", "id", "order", "category", "extra item"])
def test_a_replaced_catalog_is_not_resumed(finished, tmp_path, change):
    """Today: a catalog replaced at the same path resumed into one folder holding two catalogs."""
    folder, _, out = finished
    exp = tmp_path / "exp"
    exp.mkdir()
    lines = (folder / "items.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    if change == "title":
        rows[3] = rows[3].replace(",", ",a remake of ", 1)
    elif change == "id":
        rows[3] = "99" + rows[3][rows[3].index(","):]
    elif change == "order":
        rows[0], rows[1] = rows[1], rows[0]
    elif change == "category":
        rows[2] = rows[2].rsplit(",", 1)[0] + ",Western"
    else:
        rows.append("16,a brand new item,Drama")
    (exp / "items.csv").write_text("\n".join([header, *rows]) + "\n")
    cfg = _write_run_config(exp)
    run = _copy(out, tmp_path / "run")
    # the copy's manifest names the old folder's catalog: point it at the new one, as if replaced in place
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["catalog"]["source"] = str(exp / "items.csv")
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    before = file_sha(run / "manifest.json")
    code, err = _resume(cfg, run)
    ok = code == 2 and "input catalog changed" in err
    record_trust("3 resume", f"catalog replaced: {change}", "clear-error" if ok else "wrong")
    assert ok, err
    assert file_sha(run / "manifest.json") == before


def test_where_it_runs_may_change_on_resume_but_not_what(finished, tmp_path):
    folder, cfg, out = finished
    run = _copy(out, tmp_path / "run")
    for extra in (["--workers", "1"], ["--set", "run.workers=3"], ["--backend", "local"]):
        code, err = _resume(cfg, run, *extra)
        record_trust("3 resume", f"may differ: {' '.join(extra)}", "correct" if code == 0 else "wrong")
        assert code == 0 and "resuming: 4 of 4 cells already done" in err, err
    before = file_sha(run / "manifest.json")
    for key, value, shown in (("run.root_seed", "5", "config key run.root_seed was 0, now 5"),
                              ("world.n_users", "9", "config key world.n_users was 8, now 9"),
                              ("log.max_rows_per_cell", "61", "config key log.max_rows_per_cell was 60, now 61"),
                              ("agents.1.params.c", "1.5", "config key agents.1.params.c was"),
                              ("name", "other", "config key name was 'tiny', now 'other'")):
        code, err = _resume(cfg, run, "--set", f"{key}={value}")
        ok = code == 2 and shown in err
        record_trust("3 resume", f"differs: {key}", "clear-error" if ok else "wrong")
        assert ok, err
        assert file_sha(run / "manifest.json") == before, "a failed resume rewrote a finished run's manifest"


def _damage(run: Path, how: str, index: int = 1) -> str:
    """Damage the ``index``-th cell (in name order) as ``how`` says; returns its stem. Cell 0 is the
    source of "another cell's metrics" and is never damaged here."""
    assert index >= 1
    cells = run / "cells"
    metrics = sorted(cells.glob("*.metrics.parquet"))
    target = metrics[index]
    stem = target.name[:-len(".metrics.parquet")]
    if how == "truncated metrics":
        target.write_bytes(target.read_bytes()[:100])
    elif how == "garbage metrics":
        target.write_bytes(b"PAR1" + os.urandom(300) + b"PAR1")
    elif how == "short metrics":
        table = pq.read_table(target)
        pq.write_table(table.slice(0, HORIZON - 3), target)
    elif how == "wrong schema":
        pq.write_table(pa.table({"x": list(range(HORIZON))}), target)
    elif how == "another cell's metrics":
        shutil.copy(metrics[0], target)
    elif how == "log deleted":
        (cells / f"{stem}.log.parquet").unlink()
    elif how == "items emptied":
        (cells / f"{stem}.items.parquet").write_bytes(b"")
    elif how == "done record garbage":
        (cells / f"{stem}.done.json").write_text("{not json")
    elif how == "done record a list":
        (cells / f"{stem}.done.json").write_text("[1, 2]")
    elif how == "done record forged rows":
        done = json.loads((cells / f"{stem}.done.json").read_text())
        done["parts"]["metrics"]["rows"] = HORIZON + 1
        (cells / f"{stem}.done.json").write_text(json.dumps(done))
    elif how == "done record wrong hash":
        done = json.loads((cells / f"{stem}.done.json").read_text())
        done["parts"]["log"]["sha256"] = "0" * 64
        (cells / f"{stem}.done.json").write_text(json.dumps(done))
    elif how == "done record deleted":
        (cells / f"{stem}.done.json").unlink()
    elif how == "metrics is a folder":
        target.unlink()
        target.mkdir()
    return stem


DAMAGES = ["truncated metrics", "garbage metrics", "short metrics", "wrong schema", "another cell's metrics",
           "log deleted", "items emptied", "done record garbage", "done record a list", "done record forged rows",
           "done record wrong hash", "done record deleted", "metrics is a folder"]


#: The damages, up to three to a resume, on cells 1, 2 and 3; cell 0 stays whole, so the resume must
#: still reuse it. Each damage is checked as when it was alone (its own warning, its cell recomputed,
#: results identical to the uninterrupted run); five resumes cost what thirteen did (a resume is
#: mostly the final plots). "another cell's metrics" keeps cell 1: it gets the metrics of cell 0,
#: the same agent's other seed, the case closest to a whole cell.
DAMAGE_GROUPS = [["another cell's metrics", "truncated metrics", "garbage metrics"],
                 ["short metrics", "wrong schema", "log deleted"],
                 ["items emptied", "done record garbage", "done record a list"],
                 ["done record forged rows", "done record wrong hash", "done record deleted"],
                 ["metrics is a folder"]]
assert sorted(sum(DAMAGE_GROUPS, [])) == sorted(DAMAGES)


@pytest.mark.parametrize("group", DAMAGE_GROUPS, ids=["+".join(g) for g in DAMAGE_GROUPS])
def test_a_damaged_cell_is_recomputed_not_reused(finished, tmp_path, group):
    """Today a bad cell file blocked --resume forever (and set a finished run back to 'running')."""
    _, cfg, out = finished
    run = _copy(out, tmp_path / "run")
    stems = {how: _damage(run, how, index) for index, how in enumerate(group, start=1)}
    code, err = _resume(cfg, run)
    same = code == 0 and all(file_sha(run / n) == file_sha(out / n)
                             for n in ("metrics.parquet", "log.parquet", "items.parquet", "genres.parquet"))
    warned = {how: how == "done record deleted" or f"warning: cell {stem}" in err for how, stem in stems.items()}
    for how in group:
        record_trust("3 resume", f"damaged cell: {how}", "clear-error" if same and warned[how] else "wrong")
    assert code == 0, err
    assert f"resuming: {4 - len(group)} of 4 cells already done, {len(group)} to run" in err, err
    assert all(warned.values()), (warned, err)
    assert same, "the recomputed run differs from the uninterrupted one"
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("text", ["[]", '"a string"', "3", "null", '{"config": 5}', '{"status": "complete"}',
                                  "{trunc", "\ufeff{}"])
def test_a_manifest_that_is_not_a_run_is_one_error_line(finished, tmp_path, text, capsys):
    _, cfg, _ = finished
    out = tmp_path / "bad"
    out.mkdir()
    (out / "manifest.json").write_text(text)
    for extra in ([], ["--resume"]):
        check_cli_error(["run", str(cfg), "--out", str(out), "--quiet", *extra], capsys, "15/6 manifest",
                        key=f"{text}|{extra}", expect="manifest")
        record_trust("6 checks before work", f"manifest {text} {extra}", "clear-error")
    (out / "manifest.json").write_bytes(b"\xff\xfe{bad utf")
    check_cli_error(["run", str(cfg), "--out", str(out), "--quiet", "--resume"], capsys, "15/6 manifest",
                    key="non-utf8", expect="manifest")


@pytest.mark.parametrize("where", ["summary.json", "metrics.parquet", ".png", "cells"])
def test_a_full_disk_is_one_error_line(finished, tmp_path, where, monkeypatch, capsys):
    import banditsim.sim.atomic

    _, cfg, _ = finished
    real = banditsim.sim.atomic.atomic_path

    def full(path):
        if where in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path)

    monkeypatch.setattr(banditsim.sim.atomic, "atomic_path", full)
    out = tmp_path / "full"
    err = check_cli_error(["run", str(cfg), "--out", str(out), "--quiet"], capsys, "15/6 full disk",
                          key=where, expect="No space left on device")
    record_trust("6 checks before work", f"full disk at {where}", "clear-error")
    assert "Traceback" not in err


def test_out_of_memory_names_the_settings_and_leaves_no_run(finished, tmp_path, monkeypatch, capsys):
    import banditsim.sim.run.play
    from banditsim.sim.cli import main

    _, cfg, _ = finished

    def oom(prep, cell):
        raise MemoryError(f"cannot allocate {prep.config.run.horizon} steps")

    monkeypatch.setattr(banditsim.sim.run.play, "play_cell", oom)
    out = tmp_path / "oom"
    err = check_cli_error(["run", str(cfg), "--out", str(out), "--quiet", "--workers", "1"], capsys,
                          "15/6 out of memory", expect="run.horizon")
    assert not out.exists(), "a run that ran out of memory left a folder that 'holds a run'"
    monkeypatch.undo()
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    record_trust("6 checks before work", "out of memory", "clear-error" if "error: out of memory" in err else "wrong")


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_results_are_strict_json_and_follow_the_umask(finished, tmp_path, capsys):
    """One seed: intervals over seeds are undefined, and must be null, not NaN."""
    from banditsim.sim.cli import main

    _, cfg, _ = finished
    for umask, mode in ((0o022, 0o644), (0o027, 0o640), (0o002, 0o664)):
        out = tmp_path / f"u{umask:o}"
        old = os.umask(umask)
        try:
            assert main(["run", str(cfg), "--out", str(out), "--quiet", "--set", "run.seeds=1"]) == 0
        finally:
            os.umask(old)
        files = [p for p in out.rglob("*") if p.is_file()]
        modes = {p.name: p.stat().st_mode & 0o777 for p in files}
        ok = all(m == mode for m in modes.values())
        record_trust("7 strict outputs", f"umask {umask:o}", "correct" if ok else "wrong")
        assert ok, modes
    summary = _strict((tmp_path / "u22" / "summary.json").read_text())
    _strict((tmp_path / "u22" / "manifest.json").read_text())
    record_trust("7 strict outputs", "summary one seed", "correct")
    assert summary["agents"]


@pytest.mark.parametrize("name", ["../outside", "/abs/path", "a/b", "..", ".", "~/home", "trailing/", "tab\tname",
                                  "back\\slash", ""])
def test_a_name_cannot_leave_the_results_root(finished, name, capsys, tmp_path, monkeypatch):
    _, cfg, _ = finished
    monkeypatch.chdir(tmp_path)
    check_cli_error(["run", str(cfg), "--set", f"name={name}", "--quiet"], capsys, "15/7 name", key=name,
                    expect="name")
    record_trust("7 strict outputs", f"name {name!r}", "clear-error")
    assert not any(tmp_path.iterdir()), sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("text", ["run:\n  seeds: 2\n  seeds: 3\n", "run: {seeds: 2, seeds: 3}\n",
                                  "run:\n  seeds: 2\nrun:\n  horizon: 3\n",
                                  "agents:\n  - name: random\n    name: ucb1\n",
                                  "world:\n  reward_map: {click: 1, click: 2}\n"])
def test_yaml_duplicate_keys_are_refused(text, tmp_path, capsys):
    cfg = tmp_path / "dup.yaml"
    cfg.write_text(text)
    check_cli_error(["run", str(cfg)], capsys, "15/5 yaml duplicate keys", key=text, expect="appears twice")
    record_trust("5 input parsing", f"yaml duplicate {text!r}", "clear-error")
