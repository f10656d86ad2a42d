"""``banditsim config``: the full default run config as YAML, one comment per key.

The printed text is a valid config: saved to a file and loaded it gives ``RunConfig()``.
Every key's comment is its field's ``description`` or, where that is empty, :data:`COMMENTS`
(a key with neither is an error, so a new key cannot go undocumented).
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
    "world.slate_size": "items shown per step (1: a single recommendation)",
    "world.session_length": "steps per session (null: sessions end by patience only)",
    "world.backend": "numpy or torch",
    "world.device": "cpu or cuda (backend torch)",
    "world.fatigue.enabled": "repeated / near-duplicate exposure lowers utility",
    "world.fatigue.strength": "utility lost per exposure",
    "world.fatigue.recovery": "share of fatigue kept per step (0: none kept)",
    "world.fatigue.similarity": "cosine above which items count as near-duplicates",
    "world.fatigue.max_neighbors": "near-duplicates tracked per item",
    "world.drift.enabled": "positive responses pull the user's taste toward the item",
    "world.drift.rate": "pull per positive response",
    "world.drift.basis": "full (toward the item) or tastes (its part in the tastes' span)",
    "world.blocking.enabled": "a block hides the item from that user for good",
    "world.patience.enabled": "negatives cost patience; at zero the session ends",
    "world.patience.initial": "negatives a user tolerates per session",
    "world.returns.p_return": "chance a user comes back after a session (else churns)",
    "world.returns.gap": "steps away before returning",
    "world.feedback.inner_offset": "temperatures between skip/dislike and click/like cut points",
    "world.feedback.outer_offset": "temperatures between dislike/block and like/save cut points",
    "world.cascade.decay": "attention kept per slate position (slates)",
    "world.reward_map": "reward of each feedback kind",
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
