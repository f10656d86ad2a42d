"""Issue #17 item 5a: off a terminal, long steps print a plain line at least every interval
(done/total, rate, ETA); on a terminal a tqdm bar; ``BANDITSIM_PROGRESS=off`` silences them."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest

LINE = re.compile(r"^(?P<desc>.+): (?P<done>[\d,]+)/(?P<total>[\d,]+) (?P<unit>\w+) \(\d+%\), "
                  r"[\d,.]+ (?P=unit)/s, ETA (?P<eta>\S+), \S+ elapsed$")


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_lines_come_while_nothing_finishes(monkeypatch):
    """A slow first batch still gets lines (a ticker thread), with ETA unknown until something is done."""
    from banditsim.envs.progress import LineProgress

    out = _Stream(False)
    bar = LineProgress(5, "embedding", "texts", interval=0.05, stream=out)
    time.sleep(0.33)
    bar.update(2)
    time.sleep(0.12)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 5, lines
    parsed = [LINE.match(ln) for ln in lines]
    assert all(parsed), lines
    assert parsed[0]["done"] == "0" and parsed[0]["eta"] == "unknown"
    assert parsed[-1]["done"] == "2" and parsed[-1]["eta"] != "unknown"
    n = len(lines)
    time.sleep(0.12)
    assert len(out.getvalue().splitlines()) == n  # closed: no more lines


def test_a_short_step_prints_nothing():
    from banditsim.envs.progress import LineProgress

    out = _Stream(False)
    with LineProgress(3, "fitting", "steps", interval=10, stream=out) as bar:
        bar.update(3)
    assert out.getvalue() == ""


def test_interval_from_the_environment(monkeypatch):
    from banditsim.envs.progress import DEFAULT_SECONDS, line_interval

    for raw, want in (("", DEFAULT_SECONDS), ("0.5", 0.5), ("abc", DEFAULT_SECONDS), ("-1", DEFAULT_SECONDS),
                      ("nan", DEFAULT_SECONDS)):
        monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", raw)
        assert line_interval() == want


def test_bar_kind_follows_stderr(monkeypatch):
    from tqdm.auto import tqdm

    from banditsim.envs.progress import LineProgress, progress_bar

    monkeypatch.setattr(sys, "stderr", _Stream(True))
    with progress_bar(3, "x", "it", progress=True) as bar:
        assert isinstance(bar, tqdm)
    with progress_bar(3, "x", "it", progress=False) as bar:
        assert not isinstance(bar, (tqdm, LineProgress))
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    for progress in (True, False):  # off a terminal: lines, whatever the caller's tty-based flag says
        with progress_bar(3, "x", "it", progress=progress) as bar:
            assert isinstance(bar, LineProgress)
    monkeypatch.setenv("BANDITSIM_PROGRESS", "off")
    with progress_bar(3, "x", "it", progress=False) as bar:
        assert not isinstance(bar, (tqdm, LineProgress))


def test_banditsim_embed_with_stderr_in_a_file(tmp_path, monkeypatch):
    """`banditsim embed 2> file`: the embedding step writes progress lines, newline-terminated, no bar."""
    import torch

    from banditsim.sim.cli import main

    torch.set_num_threads(1)
    words = ["space", "noir", "comedy", "heist", "western", "musical", "horror", "drama", "war", "romance",
             "alien", "robot", "pirate", "detective", "family", "sports", "zombie", "spy", "court", "road"]
    cat = tmp_path / "titles.csv"
    cat.write_text("id,title\n" + "".join(f"{i},A {words[i % 20]} {words[i // 20 % 20]} story number {i}\n"
                                          for i in range(96)))
    monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", "0.05")
    with open(tmp_path / "stderr.txt", "w", encoding="utf-8") as fh:
        monkeypatch.setattr(sys, "stderr", fh)
        code = main(["embed", "--catalog", str(cat), "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    text = (tmp_path / "stderr.txt").read_text()
    assert "\r" not in text
    lines = [ln for ln in text.splitlines() if ln.startswith("embedding (")]
    assert lines, text
    parsed = [LINE.match(ln) for ln in lines]
    assert all(parsed), lines
    done = [int(p["done"].replace(",", "")) for p in parsed]
    assert done == sorted(done) and {p["total"] for p in parsed} == {"96"}
    assert done[-1] == 96  # the closing line


@pytest.mark.parametrize("seconds,total,done,want", [
    (10.0, 1000, 250, "embedding: 250/1,000 texts (25%), 25.0 texts/s, ETA 30s, 10s elapsed"),
    (125.0, 10, 5, "embedding: 5/10 texts (50%), 0.0 texts/s, ETA 2m05s, 2m05s elapsed"),
    (3.0, None, 7, "embedding: 7 texts, 2.3 texts/s, 3s elapsed"),
])
def test_progress_line_format(seconds, total, done, want):
    from banditsim.envs.progress import progress_line

    assert progress_line("embedding", done, total, seconds, "texts") == want


def test_fitting_prints_lines_off_a_terminal(monkeypatch):
    """fit_tastes with stderr not a terminal: lines 'fitting N users on M ratings: k/5 steps ...'."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from banditsim.envs.fit_ratings import Ratings, fit_tastes

    rng = np.random.default_rng(0)
    n_users, n_items, per_user = 4000, 300, 50
    users = np.repeat(np.arange(n_users), per_user)
    items = rng.integers(0, n_items, size=n_users * per_user)
    ratings = Ratings(users, items, rng.integers(1, 6, size=len(users)).astype(float),
                      tuple(map(str, range(n_users))), n_items)
    x = rng.normal(size=(n_items, 48))
    out = _Stream(False)
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.setenv("BANDITSIM_PROGRESS_SECONDS", "0.02")
    with threadpool_limits(1):
        fit_tastes(x, ratings, dim=32)
    lines = out.getvalue().splitlines()
    parsed = [LINE.match(ln) for ln in lines]
    assert lines and all(parsed), lines
    assert {p["desc"] for p in parsed} == {"fitting 4,000 users on 200,000 ratings"}
    assert {p["total"] for p in parsed} == {"5"} and parsed[-1]["done"] == "5"
