"""Fixtures of the reliability tests (issue #9) and the bad-input tally printed at the end.

Set ``BANDITSIM_RELIABILITY_REPORT=path.json`` to also write the tally as JSON.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.reliability import rel_helpers


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread: on 2 shared cores OpenBLAS's spinning threads make eigh 10x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def forkserver():
    server = rel_helpers.ForkServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def tiny_catalog(tmp_path_factory):
    """A 16-item CSV catalog, embedded once into the session cache (children then hit the cache)."""
    from banditsim.envs.catalog import load_catalog_file
    from banditsim.envs.embedding import embed_texts

    path = rel_helpers.write_tiny_catalog(tmp_path_factory.mktemp("catalog"))
    embed_texts(load_catalog_file(path, ["title"], "id", "genres").texts, progress=False)
    return path


SWEEP = {"seeds": 3, "horizon": 60}  # 4 agents x 3 seeds = 12 cells


@pytest.fixture(scope="session")
def sweep_config(tiny_catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("sweepcfg") / "sweep.yaml"
    path.write_text(rel_helpers.tiny_config_text(tiny_catalog, **SWEEP))
    return path


@pytest.fixture(scope="session")
def sweep_reference(forkserver, sweep_config, tmp_path_factory):
    """The sweep run once, uninterrupted, workers=1: what every other run must equal."""
    out = tmp_path_factory.mktemp("sweepref") / "ref"
    log = out.parent / "ref.log"
    pid = forkserver.banditsim(["run", str(sweep_config), "--out", str(out), "--quiet", "--workers", "1"], log)
    assert forkserver.wait(pid)["exit"] == 0, log.read_text()[-2000:]
    return out


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    trust = rel_helpers.trust_tally()
    if trust:
        tr.write_sep("-", "issue #15: adversarial inputs per class")
        tr.write_line(f"  {'class':<24} {'tried':>6} {'clear-error':>12} {'correct':>8} {'traceback':>10} "
                      f"{'wrong':>6}")
        for cls, row in trust.items():
            tr.write_line(f"  {cls:<24} {row['tried']:>6} {row['clear-error']:>12} {row['correct']:>8} "
                          f"{row['traceback']:>10} {row['wrong']:>6}")
    t = rel_helpers.tally()
    if not t["tried"] and not t["edge_tried"]:
        return
    tr.write_sep("-", "issue #9: bad inputs")
    tr.write_line(f"{t['tried']} distinct bad inputs tried, {t['clear']} gave one clear error line")
    if t["edge_tried"]:
        tr.write_line(f"{t['edge_tried']} edge inputs that must be accepted (huge texts): "
                      f"{t['edge_accepted']} handled")
    for fam, v in t["families"].items():
        tr.write_line(f"  {fam:<28} {v['tried']:>5} tried  {v['clear']:>5} clear")
    for line in t["unclear"]:
        tr.write_line(f"  NOT CLEAR: {line}")
    target = os.environ.get("BANDITSIM_RELIABILITY_REPORT")
    if target:
        with open(target, "w") as fh:
            json.dump({**t, "issue15": trust}, fh, indent=2)
