"""Property tests: random bad input is rejected with a clear error, never a crash.

Each property draws many distinct inputs; the only acceptable outcomes are a
valid object or the package's own one-line error type.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banditsim.envs.catalog import load_catalog_file
from banditsim.envs.errors import BanditsimError, CatalogError
from banditsim.sim.config.run_config import RunConfig, validate_config
from banditsim.sim.config.errors import ConfigError

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

cell = st.one_of(st.text(max_size=12), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                 st.none(), st.booleans())


@FAST
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl", ".parquet", ".txt", ""]))
def test_random_bytes_as_catalog_never_crash(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("cat") / f"items{suffix}"
    path.write_bytes(raw)
    try:
        cat = load_catalog_file(path, text_columns=["title"])
    except CatalogError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert len(cat) >= 1 and all(t.strip() for t in cat.texts)
        assert len(set(cat.ids)) == len(cat.ids)


@FAST
@given(rows=st.lists(st.fixed_dictionaries({"id": cell, "title": cell, "genres": cell}), max_size=6))
def test_random_jsonl_rows_never_crash(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("cat") / "items.jsonl"
    path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in rows) + "\n")
    try:
        cat = load_catalog_file(path, text_columns=["title", "genres"], category_column="genres")
    except CatalogError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(cat) == len(rows)


json_value = st.recursive(cell, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)
sections = st.sampled_from(["catalog", "embedding", "population", "world", "cold_start", "agents", "run",
                            "log", "name", "bogus"])


@FAST
@given(data=st.dictionaries(sections, json_value, max_size=4))
def test_random_configs_validate_or_fail_in_one_line(data):
    try:
        cfg = validate_config(data)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("config")
    else:
        assert isinstance(cfg, RunConfig)


known = RunConfig().model_dump()


@FAST
@given(section=st.sampled_from(["world", "run", "log", "population", "embedding", "cold_start"]),
       value=json_value, data=st.data())
def test_random_values_for_known_keys(section, value, data):
    key = data.draw(st.sampled_from(sorted(known[section])))
    try:
        validate_config({section: {key: value}})
    except ConfigError as exc:
        assert f"{section}" in str(exc) and "\n" not in str(exc)


@FAST
@given(argv=st.lists(st.sampled_from(["plot", "embed", "--catalog", "--text-columns", "--id-column",
                                      "/nonexistent/x.csv", "", ",", "--set", "run.seeds=-1", "--bogus",
                                      "--device", "tpu", "list-all", "--embedding-model", "/nope"]),
                     min_size=1, max_size=5))
def test_random_cli_arguments_exit_cleanly(capsys, argv):
    from banditsim.sim.cli import main

    if argv[0] == "embed" and len(argv) == 1:
        return  # that is a valid (slow) command: embedding the built-in catalog
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2)
    if code == 2:
        assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1


def test_base_error_is_shared():
    assert issubclass(CatalogError, BanditsimError) and issubclass(ConfigError, BanditsimError)
