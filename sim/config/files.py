"""Read YAML/TOML configs (run, ope, abtest) and apply ``--set key=value`` overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterable

from banditsim.sim.config.run_config import RunConfig, validate_config
from banditsim.sim.config.errors import ConfigError, validate_model


def read_config_file(path: str | Path) -> dict:
    """Parse a ``.yaml``/``.yml``/``.toml`` file into a dict (one-line errors)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config {path.name} is not valid UTF-8 text") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
        except _DuplicateKey as exc:
            raise ConfigError(f"config {path.name}: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"config {path.name} is not valid YAML{where}: "
                              f"{getattr(exc, 'problem', None) or exc}") from None
    elif suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {path.name} is not valid TOML: {exc}") from None
    else:
        raise ConfigError(f"config {path.name}: unsupported type {suffix or '(none)'}; use .yaml or .toml")
    return {} if data is None else data


class _DuplicateKey(Exception):
    """A YAML mapping names one key twice (YAML keeps the last silently; we refuse)."""


def _unique_key_loader():
    """A ``yaml.SafeLoader`` that refuses a key repeated in one mapping, naming it and its line."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKey(f"key {key!r} appears twice (lines {seen[key]} and {line}); "
                                            "keep one")
                    seen[key] = line
                except TypeError:  # an unhashable key: PyYAML reports it below
                    continue
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """Apply ``section.key=value`` overrides (values parsed as YAML scalars/lists).

    Examples
    --------
    >>> apply_overrides({"run": {"seeds": 5}}, ["run.seeds=3", "world.slate_size=4"])
    {'run': {'seeds': 3}, 'world': {'slate_size': 4}}
    >>> apply_overrides({"agents": [{"name": "random"}]}, ["agents.0.label=baseline"])
    {'agents': [{'name': 'random', 'label': 'baseline'}]}
    """
    import yaml

    out = copy.deepcopy(data)
    overrides = list(overrides)
    if overrides and not isinstance(out, dict):
        raise ConfigError(f"config: top level must be a mapping of sections, got {type(out).__name__}")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. run.seeds=3")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"--set {key}: no list entry {part!r}")
                node = node[int(part)]
                if not isinstance(node, (dict, list)):
                    raise ConfigError(f"--set {key}: entry {part!r} is not a section")
                continue
            if part == "agents" and part not in node:
                node[part] = [a.model_dump() for a in RunConfig().agents]
            node = node.setdefault(part, [] if nxt.isdigit() else {})
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"--set {key}: {part!r} is not a section")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"--set {key}: no list entry {last!r}")
            node[int(last)] = value
        else:
            node[last] = value
    return out


#: (section, key) of every config value that is a file or folder path
PATH_KEYS = (("catalog", "source"), ("population", "personas_file"), ("population", "file"),
             ("population", "user_features_file"), ("embedding", "cache_dir"), ("embedding", "model"))
#: values of those keys that name a built-in thing, not a path
BUILTIN_NAMES = {("catalog", "source"): {"movielens-100k"}, ("embedding", "model"): {"all-MiniLM-L6-v2"}}


def resolve_relative_paths(data: dict, base: Path) -> dict:
    """Make every relative path in ``data`` absolute against ``base``.

    A config file's paths are relative to the config's own folder (``base``), whatever the
    current directory holds; ``--set`` values are relative to the current directory. Built-in
    names (``movielens-100k``) are kept. The manifest then records absolute paths, so a resume
    from another directory reads the same files.

    >>> resolve_relative_paths({"catalog": {"source": "items.csv"}}, Path("/data/exp"))
    {'catalog': {'source': '/data/exp/items.csv'}}
    >>> resolve_relative_paths({"catalog": {"source": "movielens-100k"}}, Path("/data/exp"))
    {'catalog': {'source': 'movielens-100k'}}
    """
    import os

    for section, key in PATH_KEYS:
        node = data.get(section) if isinstance(data, dict) else None
        if not isinstance(node, dict) or not isinstance(node.get(key), str) or not node[key].strip():
            continue
        value = node[key]
        if value in BUILTIN_NAMES.get((section, key), ()):
            continue
        expanded = Path(os.path.expanduser(value))
        node[key] = str(expanded if expanded.is_absolute() else Path(os.path.normpath(base / expanded)))
    return data


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> RunConfig:
    """Read (or default), override and validate a run config."""
    data = read_config_file(path) if path is not None else {}
    if path is not None and isinstance(data, dict):
        data = resolve_relative_paths(data, Path(path).resolve().parent)
    source = Path(path).name if path is not None else "config"
    data = apply_overrides(data, overrides)
    if isinstance(data, dict):
        data = resolve_relative_paths(data, Path.cwd())
    return validate_config(data, source)


def load_section_config(model, path: str | Path | None, overrides: Iterable[str] = ()):
    """An ``ope`` or ``abtest`` config (pydantic ``model``): read a YAML/TOML file (or nothing: defaults),
    apply ``key=value`` overrides, validate."""
    data = read_config_file(path) if path is not None else {}
    if path is not None and isinstance(data, dict):
        data = resolve_relative_paths(data, Path(path).resolve().parent)
    if isinstance(data, dict):
        data = apply_overrides(data, overrides)
    return validate_model(model, data, Path(path).name if path is not None else "config")
