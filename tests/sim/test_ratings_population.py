"""Population kind ``ratings`` (issue #17 item 1): users fitted from the user's own interaction log.

The MovieLens-100K ratings are exported by the test in the user-file format (CSV, string ids,
read by path from the recbole wheel) with a catalog CSV exported from the built-in catalog.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.rel_helpers import check_cli_error, write_tiny_catalog

FAMILY = "17 ratings file"


@pytest.fixture(autouse=True)
def _one_thread():
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def ml_files(tmp_path_factory, movielens_catalog):
    """items.csv (movieId, text) and ratings.csv (userId, movieId, rating, timestamp) as a user would write them."""
    from banditsim.envs.movielens_files import movielens_file

    folder = tmp_path_factory.mktemp("ml")
    with open(folder / "items.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "text"])
        w.writerows(zip(movielens_catalog.ids, movielens_catalog.texts))
    rows = [line.rstrip("\n").split("\t") for line in open(movielens_file("inter"), encoding="utf-8")][1:]
    with open(folder / "ratings.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        w.writerows(rows)
    return folder


def test_movielens_export_fits_exactly_the_movielens_users(ml_files, movielens_vectors):
    """The same ratings through kind 'ratings' give the built-in MovieLens users' numbers, user by user."""
    from banditsim.envs.catalog import load_catalog
    from banditsim.envs.fit_ratings import movielens_population
    from banditsim.envs.ratings_log import LogSpec, ratings_population, read_interaction_log

    cat = load_catalog(str(ml_files / "items.csv"), ["text"], "movieId", None)
    ratings, info = read_interaction_log(ml_files / "ratings.csv", cat.ids,
                                         LogSpec("userId", "movieId", "rating", "timestamp"))
    assert (info["rows"], info["rows_used"], info["users"], info["unmatched_rows"], info["dropped_users"]) == (
        100_000, 100_000, 943, 0, 0)
    assert (info["tau_neg"], info["tau_pos"]) == (2.5, 3.5)  # 1..5 stars: the MovieLens thresholds
    assert ratings.time is not None and ratings.time.min() > 8e8
    ours = ratings_population(movielens_vectors, ratings, info)
    ref = movielens_population(movielens_vectors)
    assert ours.source == "ratings:ratings.csv" and ref.source == "movielens-fit"
    row = {u: k for k, u in enumerate(ours.user_ids)}
    idx = np.array([row[u] for u in ref.user_ids])
    # the same validation split and settings; the users' rows come in another order, so the float64 sums
    # round differently (~1e-12) and a float32 taste can land one unit in the last place apart (≤ 5e-7 at 4 stars)
    np.testing.assert_allclose(ours.utility(movielens_vectors)[idx], ref.utility(movielens_vectors), atol=2e-6)
    np.testing.assert_allclose(ours.temperature[idx], ref.temperature, atol=1e-12)
    np.testing.assert_array_equal(ours.tau_pos, 3.5)
    assert ours.features.shape == (943, 2) and ours.feature_names == ("log_rows", "mean_score")


def _write_config(folder: Path, name: str, population: str, catalog: str = "items.csv",
                  extra: str = "") -> Path:
    path = folder / name
    path.write_text(f"catalog: {{source: {catalog}, id_column: movieId, text_columns: text}}\n"
                    f"population: {population}\n"
                    "agents: [{name: random}, {name: linucb}]\n"
                    "run: {horizon: 3, seeds: 1, workers: 1}\n"
                    "world: {n_users: 4}\n" + extra)
    return path


def readme_config() -> str:
    """The YAML block of the README's section "Your own catalog and users"."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own catalog and users"):]
    return section[section.index("```yaml\n") + 8:section.index("```\n", section.index("```yaml\n") + 8)]


def test_readme_config_runs_as_written(ml_files, movielens_catalog, capsys, monkeypatch):
    """The README's config on MovieLens files in the 'latest' layout (200 of the movies, all 100,000
    ratings): named after the catalog (not quickstart) in the header, manifest and folder; unmatched ids
    and dropped users counted as an independent count says; a changed ratings file is caught on --resume."""
    from banditsim.sim.cli import main

    folder = ml_files / "readme"
    folder.mkdir()
    with open(folder / "movies.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "title", "genres"])
        w.writerows((i, t, "|".join(g)) for i, t, g in zip(movielens_catalog.ids[:200], movielens_catalog.titles,
                                                          movielens_catalog.categories))
    (folder / "ratings.csv").write_bytes((ml_files / "ratings.csv").read_bytes())
    (folder / "my-world.yaml").write_text(readme_config())
    rows = list(csv.reader(open(folder / "ratings.csv", encoding="utf-8")))[1:]
    kept = [r for r in rows if int(r[1]) <= 200]
    per_user = {}
    for r in kept:
        per_user[r[0]] = per_user.get(r[0], 0) + 1
    n_users = sum(c >= 5 for c in per_user.values())
    n_dropped = sum(c < 5 for c in per_user.values())
    monkeypatch.chdir(folder)
    capsys.readouterr()
    assert main(["run", "my-world.yaml", "--set", "run.horizon=3", "--set", "run.seeds=1", "--set",
                 "world.n_users=4", "--set", "run.workers=1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("movies-ratings: 3 agents") and "quickstart" not in out
    assert (f"population ratings:ratings.csv: {n_users:,} users, "
            f"{sum(c for c in per_user.values() if c >= 5):,} of 100,000 rows") in out
    assert f"unmatched item ids: {len({r[1] for r in rows}) - 200:,} ({len(rows) - len(kept):,} rows)" in out
    assert f"dropped {n_dropped:,} users with too few rows" in out
    runs = list((folder / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("movies-ratings-")
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["name"] == "movies-ratings"
    assert manifest["catalog"]["population"] == "ratings:ratings.csv"
    assert manifest["catalog"]["n_people"] == n_users and manifest["catalog"]["n_items"] == 200
    assert set(manifest["inputs"]["population"]) == {"ratings_file"}
    with open(folder / "ratings.csv", "a", encoding="utf-8") as fh:
        fh.write("1,1,5,881250950\n")
    check_cli_error(["run", "my-world.yaml", "--out", str(runs[0]), "--resume", "--set", "run.horizon=3",
                     "--set", "run.seeds=1", "--set", "world.n_users=4", "--set", "run.workers=1"], capsys, FAMILY,
                    key="resume after the ratings file changed", expect="population.ratings_file changed")


def _catalog(folder: Path) -> Path:
    """The reliability tests' 16-item catalog (ids 0..15), with an id column named movieId."""
    path = write_tiny_catalog(folder)
    path.write_text(path.read_text().replace("id,title,genres", "movieId,text,genres", 1))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from banditsim.envs.catalog import load_catalog
    from banditsim.envs.embedding import embed_texts

    folder = tmp_path_factory.mktemp("tiny")
    cat = load_catalog(str(_catalog(folder)), ["text"], "movieId", None)
    vectors = embed_texts(cat.texts, progress=False).vectors
    return folder, cat, vectors


def _implicit_log(n_users: int = 40, seed: int = 0):
    """Users who like either items 0-7 or items 8-15: 'thumbs up'/'shared' on their half, 'hide'/'pass' on the other."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        good = set(range(8)) if u % 2 == 0 else set(range(8, 16))
        for i in rng.choice(16, size=10, replace=False):
            kind = rng.choice(["thumbs up", "shared"]) if i in good else rng.choice(["hide", "pass"])
            rows.append((f"u{u:03d}", str(i), kind))
    return rows


def test_implicit_log_with_a_custom_kind_mapping(tiny):
    from banditsim.envs.ratings_log import LogSpec, ratings_population, read_interaction_log

    folder, cat, vectors = tiny
    path = folder / "clicks.tsv"
    path.write_text("user\titem\tevent\n" + "".join(f"{u}\t{i}\t{k}\n" for u, i, k in _implicit_log()))
    spec = LogSpec("user", "item", feedback_column="event",
                   feedback_map={"thumbs up": "like", "shared": "share", "hide": "block", "pass": "skip"})
    ratings, info = read_interaction_log(path, cat.ids, spec)
    assert set(np.unique(ratings.rating)) == {-3.0, -1.0, 2.0, 3.0}  # block, skip, like, share (= save)
    assert (info["tau_neg"], info["tau_pos"]) == (-0.5, 0.5) and info["users"] == 40
    pop = ratings_population(vectors, ratings, info, dim=8)
    assert pop.source == "ratings:clicks.tsv"
    p = pop.p_positive(vectors)
    liked = np.array([p[u, :8].mean() > p[u, 8:].mean() for u in range(40)])
    assert liked[0::2].all() and not liked[1::2].any()  # each user's fitted P(positive) favours their half
    # kind names written in the file are accepted without a map (any case)
    path2 = folder / "kinds.csv"
    path2.write_text("user,item,event\n" + "".join(
        f"{u},{i},{'Like' if k in ('thumbs up', 'shared') else 'skip'}\n" for u, i, k in _implicit_log()))
    r2, _ = read_interaction_log(path2, cat.ids, LogSpec("user", "item", feedback_column="event"))
    assert set(np.unique(r2.rating)) == {-1.0, 2.0}


def test_ids_match_as_strings_and_counts_are_reported(tiny):
    """'007' is not '7'; rows of unknown items and users with one row are dropped and counted."""
    from banditsim.envs.ratings_log import LogSpec, describe_log, read_interaction_log

    folder, _, _ = tiny
    ids = [f"{i:03d}" for i in range(16)]  # a catalog whose ids keep leading zeros
    rows = ["u1,000,5", "u1,001,1", "u1,7,4", "u2,007,2", "u2,015,4", "u2,99,3", "u3,003,4"]
    path = folder / "zeros.csv"
    path.write_text("user,item,stars\n" + "\n".join(rows) + "\n")
    ratings, info = read_interaction_log(path, ids, LogSpec("user", "item", "stars"))
    assert ratings.user_ids == ("u1", "u2")
    assert ratings.item.tolist() == [0, 1, 7, 15]
    assert (info["unmatched_rows"], info["unmatched_items"]) == (2, 2)  # '7' and '99'
    assert (info["dropped_users"], info["dropped_user_rows"]) == (1, 1)  # u3's single row
    line = describe_log(info)
    assert "unmatched item ids: 2 (2 rows)" in line and "dropped 1 users with too few rows (1 rows)" in line


def test_rating_scales_and_thresholds(tiny):
    """Any scale: tau at 37.5%/62.5% of the file's range (2.5/3.5 on 1..5); explicit thresholds win."""
    from banditsim.envs.ratings_log import LogSpec, read_interaction_log

    folder, cat, _ = tiny
    path = folder / "tens.csv"
    path.write_text("user,item,score\n" + "".join(f"u{u},{i},{(u * 7 + i * 3) % 11}\n"
                                                  for u in range(5) for i in range(16)))
    _, info = read_interaction_log(path, cat.ids, LogSpec("user", "item", "score"))
    assert info["scale"] == [0.0, 10.0] and (info["tau_neg"], info["tau_pos"]) == (3.75, 6.25)
    _, info = read_interaction_log(path, cat.ids, LogSpec("user", "item", "score", negative_threshold=4,
                                                          positive_threshold=8))
    assert (info["tau_neg"], info["tau_pos"]) == (4, 8)


def test_parquet_log_and_user_feature_file(tiny):
    import pandas as pd

    from banditsim.envs.ratings_log import LogSpec, ratings_population, read_interaction_log, read_user_features

    folder, cat, vectors = tiny
    log = pd.DataFrame({"uid": np.repeat(np.arange(6), 4), "iid": np.tile([0, 3, 9, 12], 6),
                        "r": np.tile([1.0, 5.0, 2.0, 4.0], 6) + np.repeat(np.arange(6) % 2, 4) * 0.5,
                        "ts": pd.date_range("2024-01-01", periods=24, freq="h")})
    log.to_parquet(folder / "log.parquet")
    ratings, info = read_interaction_log(folder / "log.parquet", cat.ids, LogSpec("uid", "iid", "r", "ts"))
    assert ratings.user_ids == tuple(str(u) for u in range(6)) and info["unmatched_rows"] == 0
    assert ratings.time[1] - ratings.time[0] == 3600
    (folder / "users.csv").write_text("uid,age,plan\n0,20,free\n1,40,pro\n2,,free\n3,30,pro\n4,50,free\n")
    feats, names, more = read_user_features(folder / "users.csv", ratings.user_ids, "uid")
    assert names == ("age", "plan=free", "plan=pro") and more == {"users_without_features": 1}
    np.testing.assert_allclose(feats[:, 0], [-1.3416408, 0.4472136, 0, -0.4472136, 1.3416408, 0], atol=1e-6)
    np.testing.assert_array_equal(feats[:, 1:], [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 0]])
    pop = ratings_population(vectors, ratings, {**info, **more}, dim=4, features=feats, feature_names=names)
    assert pop.feature_names == names and pop.meta["log"]["users_without_features"] == 1


# --------------------------------------------------------------------------- bad files: one clear line
RATINGS = "{kind: ratings, file: r.csv, user_column: user, item_column: movieId, rating_column: stars}"


def _bad_run(folder: Path, capsys, key: str, expect: str, population: str = RATINGS, ratings: str | None = None,
             name: str = "r.csv", data: bytes | None = None, extra: str = ""):
    if ratings is not None:
        (folder / name).write_text(ratings, encoding="utf-8")
    if data is not None:
        (folder / name).write_bytes(data)
    cfg = _write_config(folder, f"bad-{abs(hash(key)) % 10**8}.yaml", population, extra=extra)
    out = folder / f"out-{abs(hash(key)) % 10**8}"
    check_cli_error(["run", str(cfg), "--out", str(out)], capsys, FAMILY, key=key, expect=expect,
                    must_not_exist=[out / "manifest.json", out / "cells"])


GOOD = "user,movieId,stars\n" + "".join(f"u{u},{i},{1 + (u + i) % 5}\n" for u in range(4) for i in range(6))

BAD_FILES = [
    ("unknown user column", "has no column 'user' (user_column)",
     "person,movieId,stars\nu1,1,4\nu1,2,3\n", {}),
    ("misspelt rating column", "has no column 'stars' (rating_column) (did you mean 'star'?); its columns are:",
     "user,movieId,star\nu1,1,4\nu1,2,3\n", {}),
    ("no overlap with the catalog", "no item id in column 'movieId' is in the catalog",
     "user,movieId,stars\nu1,001,4\nu1,002,3\nu2,003,1\nu2,004,5\n", {}),
    ("constant rating", "a constant rating carries no preference",
     "user,movieId,stars\n" + "".join(f"u{u},{i},4\n" for u in range(3) for i in range(4)), {}),
    ("every user has one row", "a user with one row only cannot be fitted",
     "user,movieId,stars\nu1,1,4\nu2,2,3\nu3,3,1\n", {}),
    ("non-numeric rating", "data row 2 has 'stars' = 'four', not a finite number",
     "user,movieId,stars\nu1,1,4\nu1,2,four\n", {}),
    ("infinite rating", "data row 1 has 'stars' = 'inf', not a finite number",
     "user,movieId,stars\nu1,1,inf\nu1,2,3\n", {}),
    ("empty item id", "data row 2 has an empty 'movieId'", "user,movieId,stars\nu1,1,4\nu1,,3\n", {}),
    ("empty rating cell", "data row 1 has an empty 'stars'", "user,movieId,stars\nu1,1,\nu1,2,3\n", {}),
    ("header only", "has no data rows", "user,movieId,stars\n", {}),
    ("empty file", "cannot be read", "", {}),
    ("ragged csv row", "cannot be read", "user,movieId,stars\nu1,1,4\nu1,2,3,9,9\n", {}),
    ("unsupported extension", "unsupported type .xlsx", GOOD,
     {"name": "r.xlsx", "population": RATINGS.replace("r.csv", "r.xlsx")}),
    ("bad timestamp", "data row 2 has 'ts' = 'yesterday', neither a number nor an ISO 8601",
     "user,movieId,stars,ts\nu1,1,4,2024-01-01\nu1,2,3,yesterday\n",
     {"population": RATINGS[:-1] + ", timestamp_column: ts}"}),
    ("unknown feedback value", "'event' = 'wow', not a feedback kind",
     "user,movieId,event\nu1,1,click\nu1,2,wow\n",
     {"population": RATINGS.replace("rating_column: stars", "feedback_column: event")}),
    ("only positive implicit kinds", "implicit logs need negative kinds too",
     "user,movieId,event\n" + "".join(f"u{u},{i},click\n" for u in range(3) for i in range(4)),
     {"population": RATINGS.replace("rating_column: stars", "feedback_column: event")}),
    ("one-row users after unmatched rows", "every user has fewer than 2 rows",
     "user,movieId,stars\nu1,1,4\nu1,99,3\nu2,2,1\nu2,98,5\n", {}),
    ("missing ratings file", "ratings file not found", None, {"population": RATINGS.replace("r.csv", "nope.csv")}),
    ("not utf-8", "not UTF-8", None, {"data": b"user,movieId,stars\nu1,1,4\nu\xff,2,3\n"}),
    ("duplicate column", "names column 'stars' twice", "user,movieId,stars,stars\nu1,1,4,4\nu1,2,3,3\n", {}),
    ("user features without the id column", "user-feature file users.csv has no column 'user'",
     GOOD, {"population": RATINGS[:-1] + ", user_features_file: users.csv}", "features": "uid,age\nu1,3\n"}),
    ("user features sharing no user", "no user id in column 'user' is in the ratings file",
     GOOD, {"population": RATINGS[:-1] + ", user_features_file: users.csv}", "features": "user,age\nx,3\n"}),
    ("user features with a repeated user", "user 'u1' has more than one row",
     GOOD, {"population": RATINGS[:-1] + ", user_features_file: users.csv}",
            "features": "user,age\nu1,3\nu1,4\n"}),
]


@pytest.mark.parametrize("key,expect,ratings,opts", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_ratings_files_give_one_clear_line(tiny, capsys, key, expect, ratings, opts):
    folder, _, _ = tiny
    if "features" in opts:
        (folder / "users.csv").write_text(opts["features"])
    _bad_run(folder, capsys, key, expect, population=opts.get("population", RATINGS), ratings=ratings,
             name=opts.get("name", "r.csv"), data=opts.get("data"))


BAD_CONFIGS = [
    ("ratings without a file", "{kind: ratings, rating_column: stars}", "kind 'ratings' needs 'file'"),
    ("both rating and feedback columns", "{kind: ratings, file: r.csv, rating_column: s, feedback_column: e}",
     "exactly one of 'rating_column'"),
    ("neither rating nor feedback column", "{kind: ratings, file: r.csv}", "exactly one of 'rating_column'"),
    ("feedback_map to an unknown kind", "{kind: ratings, file: r.csv, feedback_column: e, feedback_map: {x: love}}",
     "maps 'x' to unknown kind 'love'"),
    ("thresholds inverted", "{kind: ratings, file: r.csv, rating_column: s, negative_threshold: 4, "
                            "positive_threshold: 2}", "negative_threshold must be below positive_threshold"),
    ("ratings key with kind clusters", "{kind: clusters, file: r.csv}", "population.file is read only by kind 'ratings'"),
    ("misspelt population key", "{kind: ratings, file: r.csv, rating_colum: s}", "did you mean 'rating_column'?"),
]


@pytest.mark.parametrize("key,population,expect", BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_ratings_configs_give_one_clear_line(tiny, capsys, key, population, expect):
    folder, _, _ = tiny
    (folder / "r.csv").write_text(GOOD)
    _bad_run(folder, capsys, key, expect, population=population)


def test_good_tiny_file_runs(tiny, capsys):
    """The control of the bad-file cases: the same config on a good file runs."""
    from banditsim.sim.cli import main

    folder, _, _ = tiny
    (folder / "r.csv").write_text(GOOD)
    cfg = _write_config(folder, "good.yaml", RATINGS)
    assert main(["run", str(cfg), "--out", str(folder / "good-out")]) == 0
    manifest = json.loads((folder / "good-out" / "manifest.json").read_text())
    assert manifest["catalog"]["population"] == "ratings:r.csv" and manifest["catalog"]["n_people"] == 4


def test_gram_blocks_give_the_same_fit(tiny, monkeypatch):
    """Many users: the Gram matrices are built a few groups (and rows) at a time (bounded memory), same fit."""
    import banditsim.envs.fit_ratings as fr
    from banditsim.envs.ratings_log import LogSpec, read_interaction_log

    folder, cat, vectors = tiny
    path = folder / "many.csv"
    path.write_text("user,item,event\n" + "".join(f"{u},{i},{k}\n" for u, i, k in _implicit_log(300, seed=2)))
    ratings, _ = read_interaction_log(path, cat.ids, LogSpec("user", "item", feedback_column="event",
                                                             feedback_map={"thumbs up": "like", "shared": "share",
                                                                           "hide": "block", "pass": "skip"}))
    whole = fr.fit_tastes(vectors, ratings, dim=8)
    monkeypatch.setattr(fr, "GRAM_BYTES", 8 * 8 * 8 * 7)  # 7 users a block
    blocked = fr.fit_tastes(vectors, ratings, dim=8)
    for key in ("v", "user_bias", "item_bias", "resid_sd", "item_positions"):
        np.testing.assert_allclose(blocked[key], whole[key], rtol=1e-9, atol=1e-12)  # rows summed in other chunks


def test_parquet_from_another_writer_keeps_integer_ids(tiny):
    """A nullable int64 id column written by pyarrow (no pandas metadata) is read as '3', not '3.0';
    a null id is an empty id: one error naming the row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from banditsim.envs.errors import BanditsimError
    from banditsim.envs.ratings_log import LogSpec, read_interaction_log

    folder, cat, _ = tiny
    users = pa.array([1, 1, 2, 2], pa.int64())
    items = pa.array([3, 4, 3, 5], pa.int64())
    stars = pa.array([1.0, 5.0, 4.0, 2.0])
    pq.write_table(pa.table({"u": users, "i": items, "r": stars}), folder / "arrow.parquet")
    ratings, info = read_interaction_log(folder / "arrow.parquet", cat.ids, LogSpec("u", "i", "r"))
    assert ratings.item.tolist() == [3, 4, 3, 5] and ratings.user_ids == ("1", "2") and info["unmatched_rows"] == 0
    pq.write_table(pa.table({"u": users, "i": pa.array([3, None, 3, 5], pa.int64()), "r": stars}),
                   folder / "null.parquet")
    with pytest.raises(BanditsimError, match="data row 2 has an empty 'i'"):
        read_interaction_log(folder / "null.parquet", cat.ids, LogSpec("u", "i", "r"))


def test_cold_start_order_moves_the_fitted_item_positions_with_the_items(tiny):
    """prepare puts released items last (arm order); the fitted item positions and biases follow them, so
    arm j is scored at the position fitted for catalog item order[j] (a world on arm order = the fit)."""
    from banditsim.sim.config.files import load_config
    from banditsim.sim.run.prepare import prepare

    folder, _, _ = tiny
    (folder / "pos.csv").write_text("user,movieId,event\n"
                                    + "".join(f"{u},{i},{k}\n" for u, i, k in _implicit_log(40, seed=4)))
    population = ("{kind: ratings, file: pos.csv, user_column: user, item_column: movieId, "
                  "feedback_column: event, feedback_map: {thumbs up: like, shared: share, hide: block, pass: skip}}")
    plain = prepare(load_config(str(_write_config(folder, "pos0.yaml", population))), progress=False)
    held = prepare(load_config(str(_write_config(folder, "pos1.yaml", population,
                                                 extra="cold_start: {new_item_fraction: 0.25, release_step: 1}\n"))),
                   progress=False)
    order = held.order
    assert held.n_initial < len(order) and not np.array_equal(order, np.arange(len(order)))
    assert plain.population.item_positions is not None
    np.testing.assert_array_equal(held.population.item_positions, plain.population.item_positions[order])
    np.testing.assert_array_equal(held.population.item_bias, plain.population.item_bias[order])
    np.testing.assert_allclose(held.population.utility(held.item_vectors),
                               plain.population.utility(plain.item_vectors)[:, order], atol=1e-6)
