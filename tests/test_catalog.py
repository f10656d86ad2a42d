"""Catalog loading: the built-in MovieLens catalog and the user's own files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from banditsim.envs.catalog import load_catalog, load_catalog_file, movielens_catalog
from banditsim.envs.errors import CatalogError

ROWS = [
    {"id": "a1", "title": "Solaris", "genres": "Sci-Fi|Drama"},
    {"id": "a2", "title": "Heat", "genres": "Crime"},
    {"id": "a3", "title": "Babe", "genres": "Children's|Comedy"},
]


def write(tmp_path, fmt, rows=ROWS):
    path = tmp_path / f"items.{fmt}"
    if fmt == "csv":
        cols = list(rows[0])
        lines = [",".join(cols)] + [",".join(f'"{r[c]}"' for c in cols) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_movielens_catalog_has_1682_items_with_text():
    cat = movielens_catalog()
    assert len(cat) == 1682
    assert all(t.strip() for t in cat.texts)
    assert cat.texts[0] == "Toy Story (1995). Genres: Animation, Children's, Comedy"
    assert len(cat.category_names()) == 19
    assert cat.category_matrix().sum(axis=1).min() >= 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_format_loads(tmp_path, fmt):
    cat = load_catalog(write(tmp_path, fmt), text_columns=["title", "genres"], category_column="genres")
    assert cat.ids == ["a1", "a2", "a3"]
    assert cat.texts[0] == "Solaris. Genres: Sci-Fi|Drama"
    assert cat.categories[2] == ("Children's", "Comedy")
    assert cat.index_of("a2") == 1


def test_list_valued_jsonl_categories(tmp_path):
    rows = [{"id": 1, "title": "Alien", "tags": ["horror", "space"]}]
    cat = load_catalog(write(tmp_path, "jsonl", rows), text_columns=["title", "tags"],
                       category_column="tags")
    assert cat.texts == ["Alien. Tags: horror, space"]
    assert cat.categories == [("horror", "space")]


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing.csv", "catalog file not found"),
        (lambda p: (p / "x.txt").write_text("id\n1\n") and p / "x.txt", "unsupported file type"),
        (lambda p: (p / "c.csv").write_text("id,name\n1,Heat\n") and p / "c.csv", "unknown column 'title'"),
        (lambda p: (p / "e.csv").write_text('id,title\n1,Heat\n2,""\n') and p / "e.csv", "empty text"),
        (lambda p: (p / "d.csv").write_text("id,title\n1,Heat\n1,Alien\n") and p / "d.csv", "duplicate item id '1'"),
        (lambda p: (p / "n.csv").write_text("id,title\n") and p / "n.csv", "has no items"),
        (lambda p: (p / "b.csv").write_bytes(b"id,title\n1,\xff\xfebad\n") and p / "b.csv",
         "column 'title' is not valid UTF-8 text \\(row 1\\)"),
        (lambda p: (p / "z.csv").write_bytes(b"id,title\n1,\xff\xfe\x00bad\n") and p / "z.csv", "NUL characters"),
        (lambda p: (p / "j.jsonl").write_text("{not json\n") and p / "j.jsonl", "cannot read catalog"),
    ],
    ids=["missing", "suffix", "unknown-column", "empty-text", "duplicate-id", "no-rows", "non-utf8", "nul-bytes",
         "bad-json"],
)
def test_bad_catalogs_give_clear_errors(tmp_path, setup, message):
    with pytest.raises(CatalogError, match=message) as info:
        load_catalog_file(setup(tmp_path), text_columns=["title"])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_ids_and_texts_are_read_exactly_as_written(tmp_path, fmt):
    """Issue #15: ``00123`` stays ``00123``; ``007``/``7`` and ``1``/``1.0`` are distinct ids;
    "NA", "null", "nan" and "-" are titles, not missing values."""
    rows = [{"id": i, "title": t, "genres": g} for i, t, g in
            [("00123", "NA", "None|Drama"), ("007", "null", "NA"), ("7", "nan", "-"), ("1", "-", "x"),
             ("1.0", "#N/A", "y")]]
    cat = load_catalog(write(tmp_path, fmt, rows), text_columns=["title"], category_column="genres")
    assert cat.ids == ["00123", "007", "7", "1", "1.0"]
    assert cat.texts == ["NA", "null", "nan", "-", "#N/A"]
    assert cat.categories == [("None", "Drama"), ("NA",), ("-",), ("x",), ("y",)]


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff\u2060", "\u00a0 \u200c\u200d"])
def test_invisible_text_is_empty(tmp_path, blank):
    with pytest.raises(CatalogError, match="item 'a2' has empty text"):
        load_catalog(write(tmp_path, "parquet", [{"id": "a1", "title": "Heat"}, {"id": "a2", "title": blank}]))


def test_a_json_object_cell_is_an_error_not_a_repr(tmp_path):
    with pytest.raises(CatalogError, match="column 'title' row 1 holds a JSON object"):
        load_catalog(write(tmp_path, "jsonl", [{"id": "a1", "title": {"en": "Heat"}}]))
