"""Issue #17 item 4: ``banditsim config``, the closest-key suggestion, the list syntax of text
columns in the CLI and the config, embed's config snippet, and run names off the quickstart."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.reliability.rel_helpers import check_cli_error, write_tiny_catalog


def _all_keys(model, prefix=""):
    from pydantic import BaseModel

    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, BaseModel):
            yield from _all_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_printed_config_is_the_default_and_every_key_has_a_comment(tmp_path, capsys):
    from banditsim.sim.cli import main
    from banditsim.sim.config.run_config import RunConfig
    from banditsim.sim.config.files import load_config

    capsys.readouterr()
    assert main(["config"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "printed.yaml"
    path.write_text(text)
    assert load_config(path) == RunConfig()
    # every leaf key appears once, on its own line, with a non-empty comment
    lines = text.splitlines()
    for dotted in _all_keys(RunConfig()):
        leaf = dotted.rsplit(".", 1)[-1]
        depth = dotted.count(".")
        hits = [ln for ln in lines if re.match(rf"^{'  ' * depth}{leaf}:", ln)]
        assert hits, dotted
        assert any(re.search(r"  # \S", ln) for ln in hits), f"{dotted} has no comment"


def test_a_key_without_a_comment_is_caught():
    from pydantic.fields import FieldInfo

    from banditsim.sim.config.printer import comment_for

    with pytest.raises(KeyError, match="no comment"):
        comment_for("world.brand_new_key", FieldInfo())


@pytest.mark.parametrize("data,expect", [
    ({"population": {"usr_column": "a"}}, "unknown key 'population.usr_column'; did you mean 'user_column'?"),
    ({"runn": {}}, "unknown key 'runn'; did you mean 'run'?"),
    ({"world": {"fatigue": {"strenght": 1}}}, "unknown key 'world.fatigue.strenght'; did you mean 'strength'?"),
    ({"agents": [{"name": "random", "lable": "x"}]}, "unknown key 'agents.0.lable'; did you mean 'label'?"),
    ({"run": {"zzz": 1}}, "unknown key 'run.zzz'; valid keys here: horizon, seeds, root_seed"),
    ({"catalog": {"text_column": ["a"]}}, "did you mean 'text_columns'?"),
])
def test_unknown_key_suggests_the_closest(data, expect):
    from banditsim.sim.config.run_config import validate_config
    from banditsim.sim.config.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        validate_config(data)
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_unknown_key_in_the_ope_config_suggests_too():
    from banditsim.sim.config.errors import ConfigError
    from banditsim.sim.offline.config import load_ope_config

    with pytest.raises(ConfigError, match="unknown key 'loging'; did you mean 'logging'?"):
        load_ope_config(None, ["loging.label=x"])


def test_unknown_key_from_the_cli(tmp_path, capsys):
    cfg = tmp_path / "typo.yaml"
    cfg.write_text("population: {kind: movielens, fit_dimm: 8}\n")
    check_cli_error(["run", str(cfg), "--out", str(tmp_path / "o")], capsys, "17 config key",
                    key="misspelt population.fit_dim", expect="did you mean 'fit_dim'?",
                    must_not_exist=[tmp_path / "o"])


@pytest.mark.parametrize("value", ["title, genres", "[title, genres]", "title,genres", ["title", "genres"]])
def test_text_columns_take_both_list_syntaxes_in_the_config(value, tmp_path):
    from banditsim.sim.config.files import load_config

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"catalog": {"source": "items.csv", "text_columns": value},
                                    "population": {"kind": "clusters"}}))
    assert load_config(path).catalog.text_columns == ["title", "genres"]
    assert load_config(None, [f"catalog.text_columns={value if isinstance(value, str) else '[title, genres]'}",
                              "catalog.source=x.csv", "population.kind=clusters"]).catalog.text_columns == [
        "title", "genres"]


@pytest.mark.parametrize("value", ["", ",", "[]", "[ , ]"])
def test_empty_text_columns_are_refused(value, tmp_path, capsys):
    cat = write_tiny_catalog(tmp_path)
    check_cli_error(["embed", "--catalog", str(cat), "--text-columns", value], capsys, "17 config key",
                    key=f"--text-columns {value!r}", expect="text-columns")


def test_embed_prints_a_snippet_that_runs_and_takes_list_syntax(tmp_path, capsys, monkeypatch):
    """embed --text-columns '[title, genres]' prints catalog lines; a config made of them loads the same catalog."""
    from banditsim.sim.cli import main
    from banditsim.sim.config.files import load_config

    (tmp_path / "my data").mkdir()
    cat = write_tiny_catalog(tmp_path / "my data")  # a space in the path: the snippet must quote it right
    capsys.readouterr()
    assert main(["embed", "--catalog", str(cat), "--text-columns", "[title, genres]", "--category-column",
                 "genres"]) == 0
    out = capsys.readouterr().out
    snippet = out[out.index("use this catalog in a run config"):].splitlines()[1:]
    assert snippet[0].startswith("catalog: ") and snippet[-1].startswith("population: ")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "c.yaml").write_text("\n".join(snippet) + "\n")
    monkeypatch.chdir(other)
    cfg = load_config(other / "c.yaml")
    assert cfg.catalog.source == str(cat.resolve())
    assert cfg.catalog.text_columns == ["title", "genres"] and cfg.catalog.category_column == "genres"
    assert cfg.population.kind == "clusters" and cfg.name == "items-clusters"
    # the comma form gives the same catalog texts
    assert main(["embed", "--catalog", str(cat), "--text-columns", "title,genres", "--category-column",
                 "genres"]) == 0
    assert capsys.readouterr().out.split("use this catalog")[1] == out.split("use this catalog")[1]


@pytest.mark.parametrize("source,kind,name", [
    ("movielens-100k", "movielens", "quickstart"),
    ("movielens-100k", "clusters", "movielens-clusters"),
    ("/data/items.csv", "clusters", "items-clusters"),
    ("/data/films.v2.parquet", "ratings", "films-v2-ratings"),
    ("/data/Über Filme.csv.gz", "personas", "Über-Filme-personas"),
    ("/data/.csv", "clusters", "csv-clusters"),
    ("/data/films", "clusters", "films-clusters"),
    ("relative/films.JSONL", "clusters", "films-clusters"),
    ("/data/***.csv", "clusters", "catalog-clusters"),
])
def test_default_names(source, kind, name):
    from banditsim.sim.config.run_config import RunConfig

    population = {"kind": kind}
    if kind == "personas":
        population["personas"] = ["likes noir"]
    if kind == "ratings":
        population.update(file="r.csv", rating_column="r")
    cfg = RunConfig.model_validate({"catalog": {"source": source}, "population": population})
    assert cfg.name == name
    assert RunConfig.model_validate({"name": "mine", "catalog": {"source": source},
                                     "population": population}).name == "mine"


def test_ope_and_abtest_are_not_named_movielens_on_your_own_world():
    from banditsim.sim.abtest.config import ABTestConfig
    from banditsim.sim.offline.config import OPEConfig

    assert (OPEConfig().name, ABTestConfig().name) == ("ope-movielens", "abtest-movielens")
    own = {"catalog": {"source": "/data/My Films.csv"}, "population": {"kind": "clusters"}}
    assert OPEConfig(**own).name == "ope-My-Films-clusters"
    assert ABTestConfig(**own).name == "abtest-My-Films-clusters"
    assert OPEConfig(name="mine", **own).name == "mine"
    with pytest.raises(ValueError, match="plain folder name"):
        ABTestConfig(name="../up")
