"""report.html: in every results folder of run, ope and abtest, redrawn by ``banditsim plot``, self-contained,
checked in a real browser (headless Chromium); and the run log's explanations on a tiny catalog."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pyarrow.parquet as pq
import pytest

from banditsim.sim.cli import main
from banditsim.sim.report.metric_columns import shown_metrics
from tests.sim.chromium_page import load_page
from tests.sim.tiny_world import TINY_CSV

RUN = """name: tiny-report
catalog: {source: tiny.csv}
population: {kind: clusters, n_users: 60, n_clusters: 3}
world: {n_users: 8}
agents:
  - {name: ucb1}
  - {name: linucb, params: {alpha: 0.5}}
  - {name: epsilon_greedy, params: {epsilon: 0.3}}
  - {name: beta_ts, label: thompson, params: {n_propensity_draws: 8}}
  - {name: random}
run: {seeds: 3, horizon: 20, workers: 1}
"""
OPE = ("name: tiny-ope\ncatalog: {source: tiny.csv}\npopulation: {kind: clusters, n_users: 100, n_clusters: 3}\n"
       "world: {n_users: 50}\nexperiment: {warmup_steps: 4, log_steps: 6, item_dims: 4}\n")
ABTEST = ("name: tiny-ab\ncatalog: {source: tiny.csv}\npopulation: {kind: clusters}\n"
          "control: {label: random, name: random}\ntreatment: {label: soft, kind: ridge, temperature: 0.5}\n"
          "test: {warmup_steps: 6, warmup_users: 200, item_dims: 6, horizon: 4, users_per_arm: 300, power_tests: 10}\n")
POSITIVE = {"click", "like", "save", "share"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny run, ope and abtest, each written through the CLI."""
    base = tmp_path_factory.mktemp("report")
    (base / "tiny.csv").write_text(TINY_CSV)
    out = {}
    for kind, text in (("run", RUN), ("ope", OPE), ("abtest", ABTEST)):
        (base / f"{kind}.yaml").write_text(text)
        out[kind] = base / f"{kind}-out"
        extra = ["--quiet"] if kind == "run" else []
        assert main([kind, str(base / f"{kind}.yaml"), "--out", str(out[kind]), *extra]) == 0
    out["ope_log"] = base / "ope-log-out"  # estimates on a log file: no truth
    assert main(["ope", "--log", str(out["ope"] / "log.parquet"), "--out", str(out["ope_log"])]) == 0
    out["base"] = base
    return out


class _Page(HTMLParser):
    """Tables (as lists of rows of cell texts), every URL the page refers to, tags seen."""

    def __init__(self):
        super().__init__()
        self.tables, self.urls, self.tags, self._cell = [], [], set(), None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "data", "action") and v]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _self_contained(path) -> None:
    """One file: no scripts, every reference inline (data:) or an anchor of the page itself."""
    text = path.read_text(encoding="utf-8")
    page = _parse(path)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert all(u.startswith(("data:image/png;base64,", "#")) for u in page.urls), [u[:40] for u in page.urls]
    assert not re.search(r"url\(|@import|https?://", text.split("<body>")[0]), "the CSS fetches something"


def test_every_results_folder_has_a_self_contained_report(folders):
    for kind in ("run", "ope", "abtest", "ope_log"):
        report = folders[kind] / "report.html"
        assert report.stat().st_size > 1000, kind
        _self_contained(report)
        assert not [p for p in folders[kind].iterdir() if p.name.endswith(".tmp")]


def test_run_report_holds_summary_winners_config_and_examples(folders):
    out = folders["run"]
    summary = json.loads((out / "summary.json").read_text())["agents"]
    page = _parse(out / "report.html")
    text = (out / "report.html").read_text(encoding="utf-8")
    summary_table = page.tables[0]
    assert summary_table[0] == ["metric", "ucb1", "linucb", "epsilon_greedy", "thompson", "random", "winner"]
    rows = {r[0]: r for r in summary_table[1:]}
    spec = shown_metrics(["cumulative_regret"])[0]
    regret = rows[spec.label + " ↓"]
    best = min(summary, key=lambda a: summary[a]["cumulative_regret"]["mean"])
    assert regret[-1].rstrip("*") == best  # the winner column names the lowest regret
    second = sorted(summary, key=lambda a: summary[a]["cumulative_regret"]["mean"])[1]
    w, r = summary[best]["cumulative_regret"], summary[second]["cumulative_regret"]
    assert regret[-1].endswith("*") == (w["low"] <= r["high"] and r["low"] <= w["high"])  # not separated: marked
    fig = summary[best]["cumulative_regret"]
    d = spec.digits
    assert regret[1 + list(summary).index(best)] == f"{fig['mean']:,.{d}f} ± {(fig['high'] - fig['low']) / 2:,.{d}f}"
    assert 'class="win"' in text and len(rows) >= 5
    # config: every agent with its registered name and the full manifest
    assert "tiny-report" in text and "n_propensity_draws" in text
    # example users: explanations with titles of the tiny catalog
    assert "because you liked" in text and "score split" in text
    assert any(t in text for t in ("space opera adventure", "heist thriller", "detective noir"))
    assert "posterior mean" in text and ("mean " in text and "bonus" in text)
    # one plot per metric over time, plus the folder's plots, all inline
    assert text.count("data:image/png;base64,") >= 5


def test_run_log_explanations_match_a_brute_force_reference(folders):
    """because_action / because_cosine are the most similar item this row's person liked before
    (last 8, never the item itself), recomputed row by row from the log and the embeddings."""
    from banditsim.sim.config.files import load_config
    from banditsim.sim.run.prepare import prepare

    out = folders["run"]
    prep = prepare(load_config(folders["base"] / "run.yaml"), progress=False)
    unit = prep.item_vectors / np.linalg.norm(prep.item_vectors, axis=1, keepdims=True)
    log = pq.read_table(out / "log.parquet").to_pandas()
    n_users = 8
    checked = explained = 0
    for (agent, seed), cell in log.groupby(["agent", "seed"]):
        owner, liked = {}, {}
        for step, rows in cell.sort_values(["step", "slate_id"]).groupby("step"):
            for r in rows.itertuples():
                row = r.slate_id - step * n_users
                if owner.get(row) != r.person_id:
                    owner[row], liked[row] = r.person_id, []
                cands = [i for i in liked[row][-8:] if i != r.action]
                if not cands:
                    assert r.because_action == -1 and np.isnan(r.because_cosine)
                else:
                    cos = unit[cands] @ unit[r.action]
                    assert r.because_cosine == pytest.approx(cos.max(), abs=1e-5)
                    assert cos[cands.index(r.because_action)] == pytest.approx(cos.max(), abs=1e-5)
                    explained += 1
                checked += 1
            for r in rows.itertuples():  # what this step's answers add, after the step
                if r.feedback_kind in POSITIVE:
                    liked[r.slate_id - step * n_users].append(r.action)
    assert checked == len(log) and explained > 50
    # the score split per agent
    by = {a: g for a, g in log.groupby("agent")}
    ucb = by["ucb1"]
    assert (np.isinf(ucb.why_explore) == np.isnan(ucb.why_exploit)).all() and np.isfinite(ucb.why_explore).any()
    assert (by["linucb"].why_explore > 0).all() and np.isfinite(by["linucb"].why_exploit).all()
    assert set(by["epsilon_greedy"].why_random) == {0, 1} and (by["thompson"].why_random == -1).all()
    assert by["random"].why_exploit.isna().all() and by["random"].why_explore.isna().all()
    t = by["thompson"]
    assert ((t.why_exploit > 0) & (t.why_exploit < 1) & (t.why_explore > 0) & (t.why_explore < 0.5)).all()


def test_plot_redraws_the_report_and_refuses_bad_folders(folders, tmp_path, capsys):
    for kind in ("run", "ope", "abtest", "ope_log"):
        report = folders[kind] / "report.html"
        report.unlink()
        assert main(["plot", str(folders[kind])]) == 0
        assert report.is_file() and "report.html" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nowhere" in err and err.count("\n") == 1
    # a broken summary.json: one error line, and the report that was there is left whole
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("manifest.json", "metrics.parquet", "report.html"):
        (broken / name).write_bytes((folders["run"] / name).read_bytes())
    for bad in ("{not json", '{"agents": [1, 2]}'):
        (broken / "summary.json").write_text(bad)
        before = (broken / "report.html").read_bytes()
        assert main(["plot", str(broken)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and "summary.json" in err and err.count("\n") == 1
        assert (broken / "report.html").read_bytes() == before
        assert not [p for p in broken.iterdir() if p.name.endswith(".tmp") or p.suffix == ".png"]
    (broken / "summary.json").write_text((folders["run"] / "summary.json").read_text())
    (broken / "manifest.json").write_text('{"config": 3}')
    assert main(["plot", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "manifest.json" in err and err.count("\n") == 1


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


@pytest.mark.parametrize("kind", ["run", "ope", "abtest", "ope_log"])
def test_report_renders_in_headless_chromium(folders, kind, tmp_path):
    """A real browser loads the page with no console error, no request outside the file, every image
    decoded, no page-wide horizontal scroll at laptop width, and a screenshot that is not blank."""
    seen = load_page(folders[kind] / "report.html", width=1366, height=900, full_page=(kind == "run"))
    (tmp_path / f"{kind}.png").write_bytes(seen.screenshot)
    assert seen.errors == [] and seen.exceptions == []
    assert all(u.startswith(("file://", "data:")) for u in seen.requests), seen.requests
    dom = seen.dom
    assert dom["tables"] >= 3 and dom["rows"] >= 8 and dom["images"] >= 1 and dom["brokenImages"] == 0
    assert dom["scrollWidth"] <= dom["innerWidth"], "the page is wider than a laptop screen"
    assert dom["widestTable"] <= dom["innerWidth"]
    pixels = _pixels(seen.screenshot)
    assert pixels.shape[1] == 1366 and pixels.std() > 20  # text, tables and plots, not a blank page
    if kind == "run":
        assert dom["sections"] == ["Summary", "Over time", "Segments", "Coverage & fairness", "Example users",
                                   "Config"]
        narrow = load_page(folders[kind] / "report.html", width=1024, height=768)
        assert narrow.errors == [] and narrow.dom["scrollWidth"] <= 1024


def test_a_metric_registered_in_a_test_appears_in_summary_and_report(folders, tmp_path):
    """The report is driven by the metric registry: a metric registered here is in summary.json, in the
    report's summary table (with its label and the value summary.json holds) and has a plot over time."""
    from banditsim.sim.report.html_report import interval_text
    from banditsim.sim.metrics import register_metric, unregister_metric

    label = "share of even item indices (test metric)"
    register_metric("test_even_items", label, lambda v: (v.slates[:, 0] % 2 == 0).astype(float), digits=4,
                    higher_is_better=True)
    try:
        cfg = folders["base"] / "one.yaml"
        cfg.write_text(RUN.split("agents:")[0] + "agents: [{name: ucb1}, {name: random}]\n"
                       "run: {seeds: 2, horizon: 10, workers: 1}\n")
        out = tmp_path / "run"
        assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
        summary = json.loads((out / "summary.json").read_text())["agents"]
        log = pq.read_table(out / "log.parquet").to_pandas()
        for agent, figs in summary.items():
            per_seed = log[log.agent == agent].groupby("seed").action.apply(lambda a: (a % 2 == 0).mean())
            np.testing.assert_allclose(figs["test_even_items"]["per_seed"], per_seed.to_numpy())
        page = _parse(out / "report.html")
        row = next(r for r in page.tables[0] if r[0].startswith(label))
        assert row[0] == label + " ↑"
        assert row[1:-1] == [interval_text(figs["test_even_items"], 4) for figs in summary.values()]
        assert f'alt="{label}"' in (out / "report.html").read_text(encoding="utf-8")
    finally:
        unregister_metric("test_even_items")


def test_report_of_a_run_without_log_or_explanations(folders, tmp_path):
    """log.enabled: false (no log.parquet) and a log written without the why columns: the report says so."""
    import pyarrow as pa

    from banditsim.sim.report.html_report import write_report

    folder = tmp_path / "nolog"
    folder.mkdir()
    for name in ("manifest.json", "summary.json", "metrics.parquet", "items.parquet"):
        (folder / name).write_bytes((folders["run"] / name).read_bytes())
    assert "No interaction log in this folder" in write_report(folder).read_text(encoding="utf-8")
    log = pq.read_table(folders["run"] / "log.parquet")
    keep = [c for c in log.column_names if not c.startswith(("why_", "because_"))]
    pq.write_table(pa.table({c: log[c] for c in keep}), folder / "log.parquet")
    text = write_report(folder).read_text(encoding="utf-8")
    assert "written without explanations" in text and "Summary" in text
    _self_contained(folder / "report.html")
