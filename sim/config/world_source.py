"""The world an experiment is built from: catalog, embedding, population and world sections.

``banditsim run``, ``ope`` and ``abtest`` configs all derive from :class:`WorldSource`, so these
four sections, their defaults and their cross-checks are written once, and
``banditsim.sim.run.prepare.prepare`` takes any of them.
"""

from __future__ import annotations

import math
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from banditsim._device import DEVICES
from banditsim.envs.feedback_kinds import KINDS
from banditsim.sim.config.section import Section
from banditsim.sim.config.world_sections import WorldSection  # the world's keys, declared by envs


def split_columns(value):
    """``"a, b"`` → ``["a", "b"]`` (the CLI's list syntax); a list is kept as given.

    >>> split_columns("title, overview"), split_columns(["title"])
    (['title', 'overview'], ['title'])
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return [c.strip().strip("'\"").strip() for c in text.split(",") if c.strip().strip("'\"").strip()]
    return value


class CatalogSection(Section):
    source: str = Field("movielens-100k", description="built-in catalog name or a CSV/JSONL/parquet path")
    text_columns: list[str] = Field(default_factory=lambda: ["title"], min_length=1)
    id_column: str = "id"
    category_column: Optional[str] = None

    @field_validator("text_columns", mode="before")
    @classmethod
    def _comma_list(cls, value):
        """``text_columns: title, overview`` (or ``--set catalog.text_columns=a,b``) is a list too."""
        return split_columns(value)


class EmbeddingSection(Section):
    model: str = Field("all-MiniLM-L6-v2", description="packaged default or a local model folder")
    device: Literal[("auto",) + DEVICES] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    cache_dir: Optional[str] = None
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="auto: onnxruntime on the CPU when installed, else torch (same vectors within 1e-5)")


FEEDBACK_LOG_KINDS = KINDS  # kinds an implicit log may hold (banditsim.envs.ratings_log scores share as save)
#: population keys that only kind 'ratings' reads (an error with any other kind)
RATINGS_ONLY_KEYS = ("file", "rating_column", "feedback_column", "feedback_map", "timestamp_column",
                     "user_features_file", "user_feature_columns", "negative_threshold", "positive_threshold")


class PopulationSection(Section):
    kind: Literal["movielens", "personas", "clusters", "ratings"] = "movielens"
    personas: Optional[list[str]] = Field(None, description="persona sentences (kind=personas)")
    personas_file: Optional[str] = Field(None, description="text file, one persona a line")
    n_users: Optional[int] = Field(None, ge=1, le=10_000_000, description="people (personas/clusters)")
    noise: float = Field(0.3, ge=0, le=10)
    n_clusters: int = Field(20, ge=1)
    fit_dim: int = Field(64, ge=1, le=4096, description="taste subspace of the ratings fit")
    fit_l2: float = Field(10.0, gt=0)
    seed: int = Field(0, ge=0)
    file: Optional[str] = Field(None, description="interaction log, CSV/TSV/parquet (kind=ratings)")
    user_column: str = Field("user_id", min_length=1, description="column of user ids (kind=ratings)")
    item_column: str = Field("item_id", min_length=1, description="column of item ids, matched to the catalog's")
    rating_column: Optional[str] = Field(None, min_length=1, description="explicit ratings, any numeric scale")
    feedback_column: Optional[str] = Field(None, min_length=1, description="implicit kinds (click, skip, ...)")
    feedback_map: Optional[dict[str, str]] = Field(None, description="file value -> feedback kind")
    timestamp_column: Optional[str] = Field(None, min_length=1, description="time of each row (optional)")
    user_features_file: Optional[str] = Field(None, description="CSV/parquet of visible user features")
    user_feature_columns: Optional[list[str]] = Field(None, min_length=1, description="feature columns to use")
    min_user_rows: int = Field(2, ge=1, description="users with fewer matched rows are dropped")
    negative_threshold: Optional[float] = Field(None, description="ratings below are negative")
    positive_threshold: Optional[float] = Field(None, description="ratings above are positive")

    @field_validator("feedback_map", mode="before")
    @classmethod
    def _map_keys_as_text(cls, value):
        """YAML reads ``1: like`` with an integer key; the file's values are strings."""
        if isinstance(value, dict):
            return {str(k) if isinstance(k, (int, float, bool)) else k: v for k, v in value.items()}
        return value

    @field_validator("feedback_map")
    @classmethod
    def _known_log_kinds(cls, value):
        for raw, kind in (value or {}).items():
            if kind not in FEEDBACK_LOG_KINDS:
                raise ValueError(f"feedback_map maps {raw!r} to unknown kind {kind!r}; kinds: "
                                 f"{', '.join(FEEDBACK_LOG_KINDS)}")
        return value

    @model_validator(mode="after")
    def _personas_given(self):
        if self.kind == "personas" and not (self.personas or self.personas_file):
            raise ValueError("kind 'personas' needs 'personas' (a list) or 'personas_file'")
        if self.kind != "ratings":
            used = [k for k in RATINGS_ONLY_KEYS if getattr(self, k) is not None]
            if used:
                raise ValueError(f"population.{used[0]} is read only by kind 'ratings' (kind is {self.kind!r})")
            return self
        if not self.file:
            raise ValueError("kind 'ratings' needs 'file' (the interaction log, CSV or parquet)")
        if (self.rating_column is None) == (self.feedback_column is None):
            raise ValueError("kind 'ratings' needs exactly one of 'rating_column' (explicit ratings) and "
                             "'feedback_column' (implicit kinds such as click, skip)")
        if self.feedback_map is not None and self.feedback_column is None:
            raise ValueError("feedback_map needs feedback_column")
        if self.rating_column is None and (self.negative_threshold is not None or self.positive_threshold is not None):
            raise ValueError("negative_threshold/positive_threshold apply to rating_column only")
        for key in ("negative_threshold", "positive_threshold"):
            v = getattr(self, key)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{key} must be finite, got {v}")
        if (self.negative_threshold is not None and self.positive_threshold is not None
                and not self.negative_threshold < self.positive_threshold):
            raise ValueError("negative_threshold must be below positive_threshold")
        if self.user_feature_columns is not None and self.user_features_file is None:
            raise ValueError("user_feature_columns needs user_features_file")
        return self


class WorldSource(Section):
    """The sections that build a world, shared by the run, OPE and A/B configs (each names its own
    default ``name``, the results folder)."""

    name: str
    catalog: CatalogSection = Field(default_factory=CatalogSection)
    embedding: EmbeddingSection = Field(default_factory=EmbeddingSection)
    population: PopulationSection = Field(default_factory=PopulationSection)
    world: WorldSection = Field(default_factory=WorldSection)

    @model_validator(mode="after")
    def _population_fits_catalog(self):
        if self.population.kind == "movielens" and self.catalog.source != "movielens-100k":
            raise ValueError("population kind 'movielens' (fitted from real ratings) needs catalog "
                             "source 'movielens-100k'; use kind 'clusters' or 'personas' for your own catalog")
        return self

    def held_back(self) -> tuple[float, int]:
        """(share of the items held back for a cold start, seed choosing them): none here."""
        return 0.0, 0

    def cuda_switch(self) -> str | None:
        """The key asking for CUDA (``world.device cuda`` with backend torch), or None."""
        w = self.world
        return "world.device cuda" if w.backend == "torch" and w.device == "cuda" else None
