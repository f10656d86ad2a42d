"""Resources (issue #9, item 5): memory bounded in the horizon; catalogs of 100,000 items.

Peak memory comes from the kernel (``ru_maxrss`` of a child, via ``os.wait4`` in the fork
server). A forked child starts with the server's resident pages, so figures are compared
between children (or against the server's own size), never taken as absolute.
"""

from __future__ import annotations

import json

from tests.reliability.rel_helpers import tiny_config_text

MIB = 1024 * 1024


def _peak_kib(forkserver, target, args, log) -> tuple[int, str]:
    pid = forkserver.start(target, args, log)
    status = forkserver.wait(pid)
    text = log.read_text()
    assert status["exit"] == 0, text[-3000:]
    return status["maxrss_kib"], text


def test_runner_memory_does_not_grow_with_the_horizon(forkserver, tiny_catalog, tmp_path):
    """``banditsim run`` at horizon H=120 and 4H (32 users, log capped at 500 rows): the peak
    resident set differs by less than 6 MiB. What grows with H is only the metric columns (~30
    numbers a step: 0.1 MiB at 4H). Lifting the log cap makes the peak grow ~1 MiB per 1,300 log
    rows (38 MiB for 49k rows, measured): ~11 MiB here, which this test would catch."""
    peaks = {}
    for h in (120, 480):
        cfg = tmp_path / f"h{h}.yaml"
        cfg.write_text(tiny_config_text(tiny_catalog, seeds=1, horizon=h, n_users=32,
                                        agents="  - {name: epsilon_greedy}\n")
                       .replace("max_rows_per_cell: 60", "max_rows_per_cell: 500")
                       # 16 items: over 480 steps a returning person could block them all (see
                       # test_numerical_safety.py::test_long_horizon_on_a_small_catalog_keeps_an_allowed_item)
                       .replace("world: {n_users: 32}", "world: {n_users: 32, blocking: {enabled: false}}"))
        peaks[h], _ = _peak_kib(forkserver, "banditsim.sim.cli:main",
                                [["run", str(cfg), "--out", str(tmp_path / f"out{h}"), "--quiet"]],
                                tmp_path / f"h{h}.log")
    growth_mib = (peaks[480] - peaks[120]) / 1024
    print(f"\npeak RSS: H=120 {peaks[120] / 1024:.1f} MiB, H=480 {peaks[480] / 1024:.1f} MiB "
          f"(+{growth_mib:.1f} MiB; the server's base is shared)")
    assert growth_mib < 6, peaks


def test_agents_over_100k_items_fit_in_1_5_gib(forkserver, tmp_path):
    """Beta TS, LinUCB (disjoint, 17-dim models per item) and ε-greedy over 100,000 arms, 16 users
    a step with masks, under an address-space cap of +1.5 GiB: no MemoryError, everything finite."""
    _, text = _peak_kib(forkserver, "tests.reliability.rel_helpers:agents_over_big_catalog",
                        [100_000, 16, 2, int(1.5 * 1024 * MIB)], tmp_path / "agents.log")
    assert json.loads(text.strip().splitlines()[-1])["finite"]


def test_world_over_100k_items_fits_in_3_gib(forkserver, tmp_path):
    """World + the three agents over 100,000 random unit items under a +3 GiB cap (32 dims: the
    world's memory grows with n_items × dim, not n_items²: the near-duplicate table is built a
    block of rows at a time and drift's Gram entries come from a bounded column cache or are
    computed directly; a dense Gram matrix would be 37 GiB)."""
    log = tmp_path / "world.log"
    pid = forkserver.start("tests.reliability.rel_helpers:simulate_big_catalog",
                           [100_000, 32, 32, 3, 3 * 1024 * MIB], log)
    status = forkserver.wait(pid)
    text = log.read_text()
    assert status["exit"] == 0, text[-1500:]
    figures = json.loads(text.strip().splitlines()[-1])
    print(f"\n100k items: {figures}, peak RSS {status['maxrss_kib'] / 1024:.0f} MiB")
    assert figures["finite"]


def test_out_of_memory_is_one_clear_line(forkserver, tiny_catalog, tmp_path):
    """A config too big for the machine (5 million people: 15 GB of tastes) under a +512 MiB cap:
    one ``error: out of memory …`` line and exit 2, no traceback, no results folder."""
    from tests.reliability.rel_helpers import record_bad_input

    cfg = tmp_path / "big.yaml"
    cfg.write_text(tiny_config_text(tiny_catalog, seeds=1, horizon=3))
    out, err = tmp_path / "results", tmp_path / "err.txt"
    pid = forkserver.start("tests.reliability.rel_helpers:main_with_memory_limit",
                           [512 * MIB, ["run", str(cfg), "--out", str(out), "--quiet",
                                        "--set", "population.n_users=5000000"]], tmp_path / "out.txt", err)
    status = forkserver.wait(pid)
    lines = err.read_text().strip().splitlines()
    clear = status["exit"] == 2 and len(lines) == 1 and lines[0].startswith("error: out of memory") \
        and not out.exists()
    record_bad_input("resource limits", "5M people under a 512 MiB cap", clear, "; ".join(lines[-3:]))
    assert clear, (status, lines[-5:])
