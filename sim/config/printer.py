"""``banditsim config``: the full default run config as YAML, one comment per key.

The printed text is a valid config: saved to a file and loaded it gives ``RunConfig()``.
Every key's comment is :data:`COMMENTS` or, where that has none, its field's ``description``
(the world's keys take theirs from the envs declarations, :mod:`banditsim.sim.config.world_sections`);
a key with neither is an error, so a new key cannot go undocumented.
"""

from __future__ import annotations

from pydantic import BaseModel

from banditsim.sim.config.run_config import RunConfig

#: comments of keys whose Field has no description
COMMENTS = {
    "catalog.text_columns": "columns joined into each item's text: [a, b] or 'a,b'",
    "catalog.id_column": "column holding the item id (read as the file's string)",
    "catalog.category_column": "optional column of categories (genres), '|' separated",
    "embedding.device": "auto, cpu or cuda",
    "embedding.batch_size": "texts per model call",
    "embedding.cache_dir": "embedding cache folder (null: ~/.cache/banditsim)",
    "population.kind": "movielens (built-in catalog only), ratings (your log), personas or clusters",
    "population.noise": "spread of people around their persona/cluster",
    "population.n_clusters": "taste clusters (kind=clusters)",
    "population.fit_l2": "ridge penalty of the taste fit (kind movielens/ratings)",
    "population.seed": "seed of the population's random parts",
    "agents": "policies compared; each {name, label, params}; names and params: banditsim list",
    "run.seeds": "independent repetitions per agent",
    "run.root_seed": "seed every cell's streams derive from",
    "run.backend": "local (processes) or ray",
    "run.workers": "cells run at once",
    "run.ray_address": "ray cluster address (null: start a local one)",
    "log.enabled": "write the interaction log (log.parquet)",
}


def comment_for(path: str, field) -> str:
    """The one-line comment of config key ``path`` (dotted)."""
    text = COMMENTS.get(path) or field.description
    if not text:
        raise KeyError(f"config key {path} has no comment; add one to sim.config_printer.COMMENTS")
    return " ".join(text.split())


def _flow(value) -> str:
    """A YAML flow-style value on one line."""
    import yaml

    if isinstance(value, BaseModel):
        value = value.model_dump()
    text = yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True)
    return text.strip()[1:-1]  # one-element flow list: no document end marker, always one line


def _lines(model: BaseModel, prefix: str, indent: str) -> list[str]:
    out = []
    for key, field in type(model).model_fields.items():
        value = getattr(model, key)
        path = f"{prefix}{key}"
        note = comment_for(path, field) if path in COMMENTS or field.description else None
        if isinstance(value, BaseModel):
            out.append(f"{indent}{key}:" + (f"  # {note}" if note else ""))
            out.extend(_lines(value, path + ".", indent + "  "))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            out.append(f"{indent}{key}:  # {comment_for(path, field)}")
            out.extend(f"{indent}  - {_flow(v.model_dump(exclude_defaults=False))}" for v in value)
        else:
            out.append(f"{indent}{key}: {_flow(value)}  # {comment_for(path, field)}")
    return out


def default_config_text() -> str:
    """The default run config (the MovieLens quickstart) as commented YAML."""
    head = ["# banditsim run config: every key with its default (the MovieLens quickstart).",
            "# Save it (banditsim config > my.yaml), edit, then: banditsim run my.yaml",
            "# Your own catalog and users: see README 'Your own catalog and users'."]
    return "\n".join(head + _lines(RunConfig(), "", "")) + "\n"
