"""Catalog files are read exactly as written (issue #15, class 5).

Ids, text and category cells are strings as the file spells them: ``00123`` stays ``00123``,
``007`` and ``7`` are two ids, ``1`` and ``1.0`` are two ids, and a title "NA", "null" or
"nan" is a title. Only an empty cell is missing; text of only whitespace or invisible
characters is empty (today's rule: an item with empty text or an empty id is an error). JSON
objects, lists of lists, parquet structs, NaN in JSON, encodings that are not UTF-8 (unless
marked UTF-16/32) give one clear line naming the file and the problem, never a Python repr as
text. Every case is counted with ``record_trust("5 input parsing", ...)``.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banditsim.envs.catalog import load_catalog_file
from banditsim.envs.catalog_text import is_blank, look_alike_key
from banditsim.envs.errors import CatalogError
from tests.reliability.rel_helpers import check_cli_error, record_trust

CLS = "5 input parsing"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
NA_WORDS = ["NA", "N/A", "n/a", "null", "Null", "NULL", "None", "none", "nan", "NaN", "-nan", "#N/A", "#NA",
            "<NA>", "-", "1.#IND", "-1.#QNAN", "inf", "-Infinity"]
INVISIBLE = {"space-tab-newline": " \t\n ", "zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d", "bom": "\ufeff",
             "word-joiner": "\u2060", "nbsp": "\u00a0", "ideographic-space": "\u3000", "soft-hyphen": "\u00ad",
             "braille-blank": "\u2800", "hangul-filler": "\u3164", "mixed": " \u200b\u00a0\ufeff\u2060 "}


def _csv(*rows) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _write(path, content):
    if isinstance(content, pa.Table):
        pq.write_table(content, path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ----------------------------------------------------------------------------- read exactly as written
# name: (file name, content, load options, expected {ids, texts, titles, categories})
CORRECT = {
    "csv-leading-zeros": ("a.csv", _csv("id,title", "00123,Heat", "0042,Alien"), {},
                          {"ids": ["00123", "0042"]}),
    "csv-007-and-7": ("a.csv", _csv("id,title", "007,Heat", "7,Alien"), {}, {"ids": ["007", "7"]}),
    "csv-1-and-1.0": ("a.csv", _csv("id,title", "1,Heat", "1.0,Alien", "1.00,Babe"), {},
                      {"ids": ["1", "1.0", "1.00"]}),
    "csv-1e3-and-1000": ("a.csv", _csv("id,title", "1e3,Heat", "1000,Alien"), {}, {"ids": ["1e3", "1000"]}),
    "csv-0-and-minus-0": ("a.csv", _csv("id,title", "0,Heat", "-0,Alien"), {}, {"ids": ["0", "-0"]}),
    "csv-30-digit-id": ("a.csv", _csv("id,title", "123456789012345678901234567890,Heat"), {},
                        {"ids": ["123456789012345678901234567890"]}),
    "csv-true-false-ids": ("a.csv", _csv("id,title", "true,Heat", "TRUE,Alien", "false,Babe"), {},
                           {"ids": ["true", "TRUE", "false"]}),
    "csv-na-titles": ("a.csv", _csv("id,title", *[f"{i},{w}" for i, w in enumerate(NA_WORDS)]), {},
                      {"texts": NA_WORDS, "titles": NA_WORDS}),
    "csv-na-ids": ("a.csv", _csv("id,title", *[f"{w},t{i}" for i, w in enumerate(NA_WORDS)]), {},
                   {"ids": NA_WORDS}),
    "csv-na-categories": ("a.csv", _csv("id,title,genres", "1,Heat,NA|None", "2,Alien,null"),
                          {"category_column": "genres"}, {"categories": [("NA", "None"), ("null",)]}),
    "csv-na-second-text-column": ("a.csv", _csv("id,title,year", "1,Heat,NA", "2,Alien,"),
                                  {"text_columns": ["title", "year"]}, {"texts": ["Heat. Year: NA", "Alien"]}),
    "csv-numbers-as-titles": ("a.csv", _csv("id,title", "1,1.50", "2,2020-01-01", "3,0x1F", "4,1e400"), {},
                              {"texts": ["1.50", "2020-01-01", "0x1F", "1e400"]}),
    "csv-quoted-spaces-in-id": ("a.csv", _csv("id,title", '" 7",Heat', '"8 ",Alien'), {}, {"ids": [" 7", "8 "]}),
    "csv-quoted-comma-quote-newline": ("a.csv", _csv("id,title", '1,"Heat, the ""movie""\nline 2"'), {},
                                       {"texts": ['Heat, the "movie"\nline 2']}),
    "csv-inner-quote-unquoted": ("a.csv", _csv("id,title", '1,The "Heat"'), {}, {"texts": ['The "Heat"']}),
    "csv-crlf": ("a.csv", b"id,title\r\n007,Heat\r\n7,Alien\r\n", {}, {"ids": ["007", "7"],
                                                                       "texts": ["Heat", "Alien"]}),
    "csv-blank-lines": ("a.csv", b"\nid,title\n\n1,Heat\n\n2,Alien\n\n", {}, {"ids": ["1", "2"]}),
    "csv-zero-width-inside-text": ("a.csv", _csv("id,title", "1,Se\u200bven", "2,\u00a0Heat\u00a0"), {},
                                   {"texts": ["Se\u200bven", "\u00a0Heat\u00a0".strip()]}),
    "csv-utf8-bom": ("a.csv", b"\xef\xbb\xbf" + _csv("id,title", "007,Heat"), {}, {"ids": ["007"]}),
    "csv-utf16-le-bom": ("a.csv", "id,title\n007,H\u00e9at\n".encode("utf-16"), {},
                         {"ids": ["007"], "texts": ["H\u00e9at"]}),
    "csv-utf16-be-bom": ("a.csv", b"\xfe\xff" + "id,title\n007,Heat\n".encode("utf-16-be"), {},
                         {"ids": ["007"]}),
    "csv-utf32-bom": ("a.csv", "id,title\n007,\U0001f3acHeat\n".encode("utf-32"), {},
                      {"texts": ["\U0001f3acHeat"]}),
    "csv-empty-second-text-skipped": ("a.csv", _csv("id,title,genres", "1,Heat,", "2,Alien,\u200b"),
                                      {"text_columns": ["title", "genres"]}, {"texts": ["Heat", "Alien"]}),
    "tsv-quotes-kept": ("a.tsv", b'id\ttitle\n007\t"Heat" (1995)\n7\tNA\n', {},
                        {"ids": ["007", "7"], "texts": ['"Heat" (1995)', "NA"]}),
    "tsv-utf16-excel-unicode-text": ("a.tsv", "id\ttitle\r\n00123\tHeat\r\n".encode("utf-16"), {},
                                     {"ids": ["00123"], "texts": ["Heat"]}),
    "csv-quoted-thousands-id": ("a.csv", _csv("id,title", '"1,000",Heat', "1000,Alien"), {},
                                {"ids": ["1,000", "1000"]}),
    "csv-id-is-also-the-text": ("a.csv", _csv("id,genres", "007,Crime", "7,Drama"),
                                {"text_columns": ["id", "genres"]},
                                {"texts": ["007. Genres: Crime", "7. Genres: Drama"]}),
    "jsonl-mixed-types-in-a-column": ("a.jsonl", '{"id": 1, "title": "a"}\n{"id": "x1", "title": 2.0}\n', {},
                                      {"ids": ["1", "x1"], "texts": ["a", "2.0"]}),
    "jsonl-1-and-1.0": ("a.jsonl", '{"id": 1, "title": "a"}\n{"id": 1.0, "title": "b"}\n', {},
                        {"ids": ["1", "1.0"]}),
    "jsonl-number-literals": ("a.jsonl", '{"id": 1.50, "title": 1e2}\n{"id": -0, "title": 12345678901234567890}\n',
                              {}, {"ids": ["1.50", "-0"], "texts": ["1e2", "12345678901234567890"]}),
    "jsonl-string-ids-with-zeros": ("a.jsonl", '{"id": "007", "title": "a"}\n{"id": 7, "title": "b"}\n', {},
                                    {"ids": ["007", "7"]}),
    "jsonl-na-titles": ("a.jsonl", "".join(json.dumps({"id": i, "title": w}) + "\n"
                                           for i, w in enumerate(NA_WORDS)), {}, {"texts": NA_WORDS}),
    "jsonl-booleans-as-written": ("a.jsonl", '{"id": true, "title": false}\n', {},
                                  {"ids": ["true"], "texts": ["false"]}),
    "jsonl-missing-key-and-null": ("a.jsonl", '{"id": 1, "title": "a", "year": null}\n{"id": 2, "title": "b"}\n',
                                   {"text_columns": ["title", "year"]}, {"texts": ["a", "b"]}),
    "jsonl-list-of-numbers-categories": ("a.jsonl", '{"id": 1, "title": "a", "g": [1, 2.50, null, "x"]}\n',
                                         {"category_column": "g"}, {"categories": [("1", "2.50", "x")]}),
    "jsonl-escapes": ("a.jsonl", '{"id": "\\u00e9", "title": "\\ud83c\\udfac \\"q\\""}\n', {},
                      {"ids": ["\u00e9"], "texts": ['\U0001f3ac "q"']}),
    "jsonl-crlf-and-bom": ("a.jsonl", b'\xef\xbb\xbf{"id": "007", "title": "a"}\r\n{"id": "7", "title": "b"}\r\n',
                           {}, {"ids": ["007", "7"]}),
    "jsonl-line-separator-in-text": ("a.jsonl", '{"id": "1", "title": "a\u2028b"}\n'.encode(), {},
                                     {"texts": ["a\u2028b"]}),
    "json-array-file": ("a.json", '[{"id": "007", "title": "NA"},\n {"id": 7, "title": "b"}]', {},
                        {"ids": ["007", "7"], "texts": ["NA", "b"]}),
    "json-lines-in-json-file": ("a.json", '{"id": "007", "title": "a"}\n{"id": 7, "title": "b"}\n', {},
                                {"ids": ["007", "7"]}),
    "parquet-int64-ids": ("a.parquet", pa.table({"id": [12, 7], "title": ["a", "b"]}), {}, {"ids": ["12", "7"]}),
    "parquet-uint64-max": ("a.parquet", pa.table({"id": pa.array([2**64 - 1], pa.uint64()), "title": ["a"]}), {},
                           {"ids": ["18446744073709551615"]}),
    "parquet-float64-ids": ("a.parquet", pa.table({"id": [1.0, 0.1, 1e16], "title": ["a", "b", "c"]}), {},
                            {"ids": ["1.0", "0.1", "1e+16"]}),
    "parquet-float32-ids": ("a.parquet", pa.table({"id": pa.array([0.1, 2.5], pa.float32()), "title": ["a", "b"]}),
                            {}, {"ids": ["0.1", "2.5"]}),
    "parquet-string-ids": ("a.parquet", pa.table({"id": ["00123", "007", "7"], "title": ["a", "b", "c"]}), {},
                           {"ids": ["00123", "007", "7"]}),
    "parquet-na-titles": ("a.parquet", pa.table({"id": [str(i) for i in range(len(NA_WORDS))], "title": NA_WORDS}),
                          {}, {"texts": NA_WORDS}),
    "parquet-dictionary-column": ("a.parquet", pa.table({"id": ["1", "2"],
                                                         "title": pa.array(["NA", "NA"]).dictionary_encode()}),
                                  {}, {"texts": ["NA", "NA"]}),
    "parquet-list-of-strings": ("a.parquet", pa.table({"id": ["1"], "title": ["a"], "g": [["NA", "Drama", None]]}),
                                {"text_columns": ["title", "g"], "category_column": "g"},
                                {"texts": ["a. G: NA, Drama"], "categories": [("NA", "Drama")]}),
    "parquet-large-string": ("a.parquet", pa.table({"id": pa.array(["007"], pa.large_string()), "title": ["a"]}),
                             {}, {"ids": ["007"]}),
    "parquet-decimal-keeps-scale": ("a.parquet", pa.table({"id": pa.array([decimal.Decimal("1.50")],
                                                                          pa.decimal128(5, 2)), "title": ["a"]}),
                                    {}, {"ids": ["1.50"]}),
    "parquet-binary-utf8": ("a.parquet", pa.table({"id": ["1"], "title": pa.array(["H\u00e9at".encode()],
                                                                                    pa.binary())}),
                            {}, {"texts": ["H\u00e9at"]}),
    "parquet-date-column": ("a.parquet", pa.table({"id": ["1"], "title": ["a"],
                                                   "released": pa.array([19000], pa.date32())}),
                            {"text_columns": ["title", "released"]}, {"texts": ["a. Released: 2022-01-08"]}),
    "parquet-float16-ids": ("a.parquet", pa.table({"id": pa.array([0.1, 2.5], pa.float16()), "title": ["a", "b"]}),
                            {}, {"ids": ["0.1", "2.5"]}),
    "parquet-large-list-categories": ("a.parquet", pa.table({"id": ["1"], "title": ["a"], "g": pa.array(
                                          [["NA", "x"]], pa.large_list(pa.string()))}),
                                      {"category_column": "g"}, {"categories": [("NA", "x")]}),
    "parquet-fixed-size-list-categories": ("a.parquet", pa.table({"id": ["1"], "title": ["a"], "g": pa.array(
                                               [["x", "y"]], pa.list_(pa.string(), 2))}),
                                           {"category_column": "g"}, {"categories": [("x", "y")]}),
    "parquet-list-of-ints-categories": ("a.parquet", pa.table({"id": ["1"], "title": ["a"], "g": [[7, 0]]}),
                                        {"category_column": "g"}, {"categories": [("7", "0")]}),
    "parquet-all-null-column-is-missing": ("a.parquet", pa.table({"id": ["1"], "title": ["a"],
                                                                  "g": pa.array([None], pa.null())}),
                                           {"text_columns": ["title", "g"], "category_column": "g"},
                                           {"texts": ["a"], "categories": [()]}),
    "parquet-float-year-nan-is-missing": ("a.parquet", pa.table({"id": ["1", "2"], "title": ["a", "b"],
                                                                 "year": [1995.0, float("nan")]}),
                                          {"text_columns": ["title", "year"]},
                                          {"texts": ["a. Year: 1995.0", "b"]}),
    "parquet-bool-column": ("a.parquet", pa.table({"id": [True, False], "title": ["a", "b"]}), {},
                            {"ids": ["true", "false"]}),
    "parquet-many-row-groups": ("a.parquet", pa.table({"id": [f"{i:05d}" for i in range(50)],
                                                       "title": [f"t{i}" for i in range(50)]}), {},
                                {"ids": [f"{i:05d}" for i in range(50)]}),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_read_exactly_as_written(name, tmp_path):
    fname, content, options, expected = CORRECT[name]
    path = tmp_path / fname
    if name == "parquet-many-row-groups":
        pq.write_table(content, path, row_group_size=7)
    else:
        _write(path, content)
    try:
        cat = load_catalog_file(path, **{"text_columns": ["title"], **options})
    except CatalogError as exc:
        record_trust(CLS, name, "clear-error" if "\n" not in str(exc) else "traceback")
        raise
    except Exception:
        record_trust(CLS, name, "traceback")
        raise
    got = {"ids": cat.ids, "texts": cat.texts, "titles": cat.titles, "categories": cat.categories}
    ok = all(list(got[k]) == list(v) for k, v in expected.items())
    record_trust(CLS, name, "correct" if ok else "wrong")
    for key, value in expected.items():
        assert list(got[key]) == list(value), key


# ----------------------------------------------------------------------------- one clear error line
def _blank_cases() -> dict:
    cases = {}
    for label, blank in INVISIBLE.items():
        cases[f"csv-title-{label}"] = ("a.csv", _csv("id,title", "1,Heat", f'2,"{blank}"'), {},
                                       "item '2' has empty text")
        cases[f"csv-id-{label}"] = ("a.csv", _csv("id,title", "1,Heat", f'"{blank}",Alien'), {},
                                    "row 2 has an empty id")
    cases["jsonl-title-zwsp-nbsp"] = ("a.jsonl", json.dumps({"id": "1", "title": "\u200b\u00a0"}) + "\n", {},
                                      "item '1' has empty text")
    cases["parquet-title-bom-wj"] = ("a.parquet", pa.table({"id": ["1"], "title": ["\ufeff\u2060"]}), {},
                                     "item '1' has empty text")
    cases["parquet-id-zwj"] = ("a.parquet", pa.table({"id": ["\u200d"], "title": ["a"]}), {},
                               "row 1 has an empty id")
    cases["tsv-title-nbsp"] = ("a.tsv", "id\ttitle\n1\t\u00a0\n".encode(), {}, "item '1' has empty text")
    cases["csv-all-text-columns-invisible"] = ("a.csv", _csv("id,title,genres", "1,\u200b,\u00a0"),
                                               {"text_columns": ["title", "genres"]}, "item '1' has empty text")
    return cases


ERRORS = {
    **_blank_cases(),
    "csv-duplicate-007": ("a.csv", _csv("id,title", "007,a", "007,b"), {}, "duplicate item id '007'"),
    "csv-ids-differ-by-spaces": ("a.csv", _csv("id,title", "7,a", '"7 ",b'), {},
                                 "item ids '7' (row 1) and '7 ' (row 2) look the same"),
    "csv-ids-differ-by-zero-width": ("a.csv", _csv("id,title", "7,a", "\u200b7,b"), {},
                                     "item ids '7' (row 1) and '\\u200b7' (row 2) look the same"),
    "jsonl-ids-differ-by-normalisation": ("a.jsonl", '{"id": "caf\\u00e9", "title": "a"}\n'
                                                     '{"id": "cafe\\u0301", "title": "b"}\n', {},
                                          "look the same"),
    "jsonl-duplicate-number-ids": ("a.jsonl", '{"id": 1.0, "title": "a"}\n{"id": 1.0, "title": "b"}\n', {},
                                   "duplicate item id '1.0'"),
    "parquet-duplicate-int-ids": ("a.parquet", pa.table({"id": [12, 12], "title": ["a", "b"]}), {},
                                  "duplicate item id '12'"),
    "json-object-cell": ("a.jsonl", '{"id": 1, "title": {"en": "Heat"}}\n', {},
                         "column 'title' row 1 holds a JSON object"),
    "json-list-of-lists": ("a.jsonl", '{"id": 1, "title": "a", "g": [["x"], ["y"]]}\n', {"category_column": "g"},
                           "column 'g' row 1 holds a nested list"),
    "json-list-of-objects": ("a.jsonl", '{"id": 1, "title": [{"a": 1}]}\n', {},
                             "column 'title' row 1 holds a nested"),
    "json-list-as-id": ("a.jsonl", '{"id": ["1", "2"], "title": "a"}\n', {},
                        "row 1 holds a list in the id column"),
    "jsonl-holding-an-array": ("a.jsonl", '[{"id": 1, "title": "a"}]\n', {}, "belongs in a .json file"),
    "json-array-of-arrays": ("a.json", '[["1", "a"]]', {}, "item 1 of the JSON array is not an object"),
    "json-top-level-string": ("a.json", '"id,title"\n', {}, "line 1 is not a JSON object"),
    "json-pretty-printed-object": ("a.json", '{\n "id": 1,\n "title": "a"\n}\n', {}, "cannot read catalog a.json"),
    "jsonl-nan": ("a.jsonl", '{"id": 1, "title": NaN}\n', {}, "NaN is not valid JSON"),
    "jsonl-infinity": ("a.jsonl", '{"id": Infinity, "title": "a"}\n', {}, "Infinity is not valid JSON"),
    "jsonl-minus-infinity": ("a.jsonl", '{"id": 1, "title": "a", "y": -Infinity}\n', {},
                             "-Infinity is not valid JSON"),
    "jsonl-duplicate-key": ("a.jsonl", '{"id": 1, "title": "a", "title": "b"}\n', {},
                            "key 'title' appears twice"),
    "jsonl-deep-nesting": ("a.jsonl", '{"id": 1, "title": ' + "[" * 100_000 + "]" * 100_000 + "}\n", {},
                           "cannot read catalog a.jsonl"),
    "parquet-struct-column": ("a.parquet", pa.table({"id": ["1"], "title": [{"en": "Heat", "fr": "Heat"}]}), {},
                              "column 'title' holds nested values of type struct"),
    "parquet-map-column": ("a.parquet", pa.table({"id": ["1"], "title": pa.array(
                               [[("en", "Heat")]], pa.map_(pa.string(), pa.string()))}),
                           {}, "column 'title' holds nested values of type map"),
    "parquet-list-of-lists": ("a.parquet", pa.table({"id": ["1"], "title": ["a"], "g": [[["x"], ["y"]]]}),
                              {"category_column": "g"}, "column 'g' holds nested values of type list"),
    "parquet-list-of-structs": ("a.parquet", pa.table({"id": ["1"], "title": [[{"a": 1}]]}), {},
                                "column 'title' holds nested values"),
    "parquet-list-as-id": ("a.parquet", pa.table({"id": [["1", "2"]], "title": ["a"]}), {},
                           "row 1 holds a list in the id column"),
    "parquet-timestamp-column": ("a.parquet", pa.table({"id": ["1"], "title": pa.array([0], pa.timestamp("s"))}),
                                 {}, "column 'title' holds values of type timestamp"),
    "parquet-time-column": ("a.parquet", pa.table({"id": ["1"], "title": pa.array([1], pa.time32("s"))}), {},
                            "column 'title' holds values of type time32"),
    "parquet-string-column-non-utf8": ("a.parquet", pa.table({"id": ["1", "2"], "title": pa.array(
                                           [b"ok", b"caf\xe9"], pa.binary()).view(pa.string())}),
                                       {}, "column 'title' is not valid UTF-8 text (row 2)"),
    "parquet-duplicate-column": ("a.parquet", pa.Table.from_arrays(
                                     [pa.array(["1"]), pa.array(["a"]), pa.array(["b"])],
                                     names=["id", "title", "title"]),
                                 {}, "column 'title' appears 2 times"),
    "parquet-non-utf8-binary": ("a.parquet", pa.table({"id": ["1", "2"], "title": pa.array([b"ok", b"caf\xe9"],
                                                                                          pa.binary())}),
                                {}, "column 'title' is not valid UTF-8 text (row 2)"),
    "csv-latin1-cell": ("a.csv", "id,title\n1,ok\n2,caf\u00e9\n".encode("latin-1"), {},
                        "column 'title' is not valid UTF-8 text (row 2)"),
    "csv-latin1-header": ("a.csv", "id,t\u00eftle\n1,a\n".encode("latin-1"), {},
                          "column names (header) are not valid UTF-8"),
    "csv-cp1252-id": ("a.csv", "id,title\n\u20ac1,a\n".encode("cp1252"), {}, "column 'id' is not valid UTF-8"),
    "tsv-latin1-cell": ("a.tsv", "id\ttitle\n1\tna\u00efve\n".encode("latin-1"), {},
                        "column 'title' is not valid UTF-8 text (row 1)"),
    "jsonl-latin1-string": ("a.jsonl", '{"id": "1", "title": "caf\u00e9"}\n'.encode("latin-1"), {},
                            "column 'title' is not valid UTF-8"),
    "csv-utf16-without-bom": ("a.csv", "id,title\n1,a\n".encode("utf-16-le"), {}, "NUL characters"),
    "csv-utf16-bom-truncated": ("a.csv", "id,title\n1,a\n".encode("utf-16")[:-1], {},
                                "UTF-16 byte-order mark but byte"),
    "csv-utf8-bom-then-latin1": ("a.csv", b"\xef\xbb\xbfid,title\n1,caf\xe9\n", {},
                                 "UTF-8 byte-order mark but byte"),
    "csv-is-gzip": ("a.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00", {}, "it is a gzip-compressed file"),
    "csv-is-xlsx": ("a.csv", b"PK\x03\x04\x14\x00\x06\x00", {}, "zip archive (an Excel .xlsx workbook?)"),
    "csv-is-parquet": ("a.csv", b"PAR1\x15\x04", {}, "it is a parquet file"),
    "csv-quote-then-text": ("a.csv", _csv("id,title", '1,"Heat" (1995)'), {}, "line 2: ',' expected after '\"'"),
    "csv-unterminated-quote": ("a.csv", _csv("id,title", '1,"Heat'), {}, "unexpected end of data"),
    "csv-too-many-fields": ("a.csv", _csv("id,title", "1,Heat,1995"), {},
                            "line 2 has 3 fields but the header has 2"),
    "csv-too-few-fields": ("a.csv", _csv("id,title,year", "1,Heat"), {},
                           "line 2 has 2 fields but the header has 3"),
    "csv-duplicate-header": ("a.csv", _csv("id,title,title", "1,a,b"), {}, "column 'title' appears 2 times"),
    "csv-empty-file": ("a.csv", b"", {}, "the file is empty"),
    "csv-header-with-newline-listed-in-one-line": ("a.csv", _csv('id,"ti\ntle"', "1,a"), {},
                                                   "unknown column 'title'; columns are 'id', 'ti\\ntle'"),
    "csv-double-bom": ("a.csv", b"\xef\xbb\xbf\xef\xbb\xbfid,title\n1,a\n", {},
                       "unknown column 'id'; columns are '\\ufeffid'"),
    "jsonl-empty-file": ("a.jsonl", b"\n\n", {}, "has no items"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_clear_error(name, tmp_path):
    fname, content, options, message = ERRORS[name]
    path = _write(tmp_path / fname, content)
    try:
        cat = load_catalog_file(path, **{"text_columns": ["title"], **options})
    except CatalogError as exc:
        clear = message in str(exc) and "\n" not in str(exc) and fname in str(exc)
        record_trust(CLS, name, "clear-error" if clear else "wrong")
        assert clear, f"not one clear line naming {fname} and {message!r}: {exc}"
        return
    except Exception:
        record_trust(CLS, name, "traceback")
        raise
    record_trust(CLS, name, "wrong")
    pytest.fail(f"{name} was accepted: ids {cat.ids[:5]}, texts {cat.texts[:5]}")


CLI_CASES = sorted(k for k in ERRORS if not k.startswith(("csv-id-", "csv-title-")) or k.endswith("-mixed"))


@pytest.mark.parametrize("name", CLI_CASES)
def test_clear_error_through_the_cli(name, tmp_path, capsys):
    """``banditsim embed --catalog FILE`` with a bad catalog: exit 2, one ``error:`` line, no cache."""
    fname, content, options, message = ERRORS[name]
    path = _write(tmp_path / fname, content)
    argv = ["embed", "--catalog", str(path), "--cache-dir", str(tmp_path / "cache")]
    for key, flag in (("text_columns", "--text-columns"), ("category_column", "--category-column")):
        if key in options:
            argv += [flag, ",".join(options[key]) if isinstance(options[key], list) else options[key]]
    check_cli_error(argv, capsys, "catalog parsing (issue 15)", name, expect=message,
                    must_not_exist=[tmp_path / "cache"])


# ----------------------------------------------------------------------------- random strings round-trip
def _id_text(exclude: str):
    alphabet = st.characters(blacklist_categories=("Cs",), blacklist_characters=exclude)
    return st.text(alphabet=alphabet, min_size=1, max_size=10)


def _write_format(path, fmt, ids, titles, ensure_ascii=True):
    if fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["id", "title"])
        writer.writerows(zip(ids, titles))
        path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    elif fmt == "tsv":
        path.write_text("id\ttitle\n" + "".join(f"{i}\t{t}\n" for i, t in zip(ids, titles)), encoding="utf-8",
                        newline="")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"id": i, "title": t}, ensure_ascii=ensure_ascii) + "\n"
                                for i, t in zip(ids, titles)), encoding="utf-8", newline="")
    else:
        pq.write_table(pa.table({"id": pa.array(ids, pa.string()), "title": pa.array(titles, pa.string())}), path)


EXCLUDE = {"csv": "\x00", "tsv": "\x00\t\n\r", "jsonl": "", "parquet": ""}


def _case_key(prefix: str, *parts) -> str:
    return f"{prefix}:{hashlib.sha256(repr(parts).encode()).hexdigest()[:16]}"


@SETTINGS
@given(fmt=st.sampled_from(sorted(EXCLUDE)), data=st.data(), ensure_ascii=st.booleans())
def test_random_ids_and_titles_round_trip(tmp_path_factory, fmt, data, ensure_ascii):
    """Any visible, distinct id strings and titles come back exactly (titles trimmed of whitespace)."""
    text = _id_text(EXCLUDE[fmt]).filter(lambda s: not is_blank(s) and s == s.strip())
    ids = data.draw(st.lists(text, min_size=1, max_size=6, unique_by=look_alike_key))  # look-alikes: refused
    titles = data.draw(st.lists(text, min_size=len(ids), max_size=len(ids)))
    path = tmp_path_factory.mktemp("rt") / f"items.{fmt}"
    _write_format(path, fmt, ids, titles, ensure_ascii)
    key = _case_key(f"random-round-trip-{fmt}", ids, titles, ensure_ascii)
    try:
        cat = load_catalog_file(path, ["title"])
    except CatalogError:
        record_trust(CLS, key, "clear-error")  # a valid file rejected: the test fails below
        raise
    except Exception:
        record_trust(CLS, key, "traceback")
        raise
    ok = cat.ids == ids and cat.texts == titles
    record_trust(CLS, key, "correct" if ok else "wrong")
    assert cat.ids == ids and cat.texts == titles


@SETTINGS
@given(fmt=st.sampled_from(sorted(EXCLUDE)),
       blank=st.text(alphabet=st.sampled_from(sorted(set("".join(INVISIBLE.values())) - set("\t\n"))),
                     max_size=6))
def test_random_invisible_titles_are_empty(tmp_path_factory, fmt, blank):
    """A title made only of spaces and zero-width characters is empty text in every format."""
    path = tmp_path_factory.mktemp("blank") / f"items.{fmt}"
    _write_format(path, fmt, ["1", "2"], ["Heat", blank])
    key = _case_key(f"random-invisible-title-{fmt}", blank)
    try:
        cat = load_catalog_file(path, ["title"])
    except CatalogError as exc:
        record_trust(CLS, key, "clear-error" if "item '2' has empty text" in str(exc) else "wrong")
        assert "item '2' has empty text" in str(exc)
        return
    except Exception:
        record_trust(CLS, key, "traceback")
        raise
    record_trust(CLS, key, "wrong")
    pytest.fail(f"an invisible title {blank!r} was read as text: {cat.texts}")
