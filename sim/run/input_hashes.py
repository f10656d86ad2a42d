"""Fingerprints of a run's inputs, recorded in the manifest and compared on ``--resume``.

The config names its inputs by path; the files behind a path can change. A resume must continue
the same experiment, so the manifest keeps a SHA-256 of what was actually read: the catalog's ids,
texts and categories, the files the users were fitted or built from, and the embedding model's key.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

from banditsim.envs.file_digest import sha256_file


def hash_strings(*columns: Iterable[str]) -> str:
    """SHA-256 of string columns, unambiguous (every value is length-prefixed).

    >>> hash_strings(["a", "bc"]) == hash_strings(["ab", "c"])
    False
    """
    h = hashlib.sha256()
    for col in columns:
        h.update(b"\x1d")
        for value in col:
            raw = str(value).encode("utf-8", "surrogatepass")
            h.update(len(raw).to_bytes(8, "little"))
            h.update(raw)
    return h.hexdigest()


def catalog_hash(ids: Sequence[str], texts: Sequence[str], categories) -> str:
    """The catalog as the run read it: ids, texts and categories, in order."""
    cats = ["|".join(c) for c in categories] if categories is not None else []
    return hash_strings(ids, texts, cats)


def population_sources(cfg) -> dict[str, str]:
    """SHA-256 of every file the population is built from (MovieLens ratings, a personas file, an
    interaction log and its user-feature file)."""
    p = cfg.population
    out: dict[str, str] = {}
    if p.kind == "movielens":
        from banditsim.envs.movielens_files import movielens_file

        for kind in ("inter", "user"):
            out[f"movielens.{kind}"] = sha256_file(movielens_file(kind))
    if p.kind == "ratings":
        out["ratings_file"] = sha256_file(p.file)
        if p.user_features_file:
            out["user_features_file"] = sha256_file(p.user_features_file)
    if p.kind == "personas":
        if p.personas:
            out["personas"] = hash_strings(p.personas)
        elif p.personas_file:
            out["personas_file"] = sha256_file(p.personas_file)
    return out


def run_inputs(cfg, catalog, model_key: str) -> dict:
    """What the manifest records under ``inputs``."""
    return {"catalog": catalog_hash(catalog.ids, catalog.texts, catalog.categories),
            "population": population_sources(cfg), "embedding_model": model_key}
