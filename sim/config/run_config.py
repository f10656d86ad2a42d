"""Run configs: YAML or TOML, validated by pydantic before anything runs.

Every key has a default, so ``RunConfig()`` is the MovieLens quickstart and the
validated config (``model_dump()``) — all defaults written out — is what a
results directory's manifest records.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from banditsim.envs.feedback_kinds import KINDS
from banditsim.sim.config.errors import ConfigError
from banditsim.sim.config.delay import FeedbackDelaySection  # the feedback_delay section (delays per kind)
from banditsim.sim.config.section import Section
from banditsim.sim.config.world_sections import WorldSection  # the world's keys, declared by envs

KIND_NAMES = KINDS  # the one table: envs.feedback_kinds.FEEDBACK_KINDS


def check_result_name(name: str) -> str:
    """A config ``name`` becomes a folder under the results root: one plain path component.

    >>> check_result_name("my-run_2")
    'my-run_2'
    >>> check_result_name("../elsewhere")
    Traceback (most recent call last):
    ...
    ValueError: name '../elsewhere' must be a plain folder name (no '/', '\\', '..' or absolute path), e.g. 'my-experiment'
    """
    import unicodedata

    bad = (not name.strip() or name in (".", "..") or "/" in name or "\\" in name or name.startswith("~")
           or any(unicodedata.category(ch) == "Cc" for ch in name) or name != name.strip())
    if bad:
        raise ValueError(f"name {name!r} must be a plain folder name (no '/', '\\', '..' or absolute path), "
                         "e.g. 'my-experiment'")
    if len(name.encode()) > 200:
        raise ValueError(f"name is {len(name.encode())} bytes long; keep it under 200 (it names a folder)")
    return name


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
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    cache_dir: Optional[str] = None


FEEDBACK_LOG_KINDS = KIND_NAMES  # kinds an implicit log may hold (envs.ratings_log scores share as save)
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


class ColdStartSection(Section):
    new_item_fraction: float = Field(0.0, ge=0, lt=1, description="share of items held back")
    release_step: Optional[int] = Field(None, ge=1, description="step at which they appear")

    @model_validator(mode="after")
    def _release_given(self):
        if self.new_item_fraction > 0 and self.release_step is None:
            raise ValueError("release_step is required when new_item_fraction > 0")
        return self


class AgentSpec(Section):
    name: str
    label: Optional[str] = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_agent(self):
        from banditsim.agents.registry import check_agent_params

        check_agent_params(self.name, self.params)
        if self.label is None:
            self.label = self.name
        return self


def _default_agents() -> list[AgentSpec]:
    return [
        AgentSpec(name="beta_ts", label="thompson"),
        AgentSpec(name="dirichlet_ts", label="dirichlet_ts"),
        AgentSpec(name="linucb", label="linucb", params={"mode": "shared"}),
        AgentSpec(name="lin_ts", label="lin_ts", params={"mode": "shared"}),
        AgentSpec(name="epsilon_greedy", label="epsilon_greedy", params={"epsilon": 0.1}),
        AgentSpec(name="random", label="random"),
    ]


class LogSection(Section):
    enabled: bool = True
    max_rows_per_cell: int = Field(200_000, ge=0, description="interaction-log rows kept per cell")


class RunSection(Section):
    horizon: int = Field(100, ge=1, description="steps; each step every user gets a recommendation")
    seeds: int = Field(4, ge=1, le=100_000)
    root_seed: int = Field(0, ge=0)
    backend: Literal["local", "ray"] = "local"
    workers: int = Field(2, ge=1, le=1024)
    ray_address: Optional[str] = None
    compute: Literal["numpy", "torch"] = Field(
        "numpy", description="torch: the world and the agents with a torch path compute in torch")
    device: Literal["cpu", "cuda"] = Field("cpu", description="where torch computes; cuda implies compute torch")
    update_every: int = Field(1, ge=1, le=1_000_000_000, description="update the agents after every N-th step, in "
                              "one call over all answers arrived since the last update (1: every step)")

    @model_validator(mode="after")
    def _cuda_implies_torch(self):
        if self.device == "cuda" and self.compute == "numpy":
            if "compute" in self.model_fields_set:
                raise ValueError("device 'cuda' needs compute 'torch' (numpy runs on the CPU only)")
            self.compute = "torch"
        return self


class RunConfig(Section):
    """A whole experiment. ``RunConfig()`` is the MovieLens quickstart.

    Examples
    --------
    >>> cfg = RunConfig()
    >>> cfg.catalog.source, cfg.run.horizon, [a.label for a in cfg.agents][:2]
    ('movielens-100k', 100, ['thompson', 'dirichlet_ts'])
    """

    name: str = Field("quickstart", description="results folder runs/<name>-<time>; default: quickstart for "
                                                "MovieLens, else <catalog file>-<population kind>")
    catalog: CatalogSection = Field(default_factory=CatalogSection)
    embedding: EmbeddingSection = Field(default_factory=EmbeddingSection)
    population: PopulationSection = Field(default_factory=PopulationSection)
    world: WorldSection = Field(default_factory=WorldSection)
    cold_start: ColdStartSection = Field(default_factory=ColdStartSection)
    agents: list[AgentSpec] = Field(default_factory=_default_agents, min_length=1)
    run: RunSection = Field(default_factory=RunSection)
    feedback_delay: FeedbackDelaySection = Field(
        default_factory=FeedbackDelaySection, description="steps each kind of answer takes to reach the agents, "
        "per kind else default, e.g. save: {dist: lognormal, median: 20, sigma: 1} (README 'Production realism')")
    log: LogSection = Field(default_factory=LogSection)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return check_result_name(value)

    @model_validator(mode="after")
    def _consistent(self):
        if "name" not in self.model_fields_set:
            self.name = default_name(self.catalog.source, self.population.kind)
        labels = [a.label for a in self.agents]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"agent labels must be unique; repeated: {', '.join(dupes)}")
        if self.population.kind == "movielens" and self.catalog.source != "movielens-100k":
            raise ValueError("population kind 'movielens' (fitted from real ratings) needs catalog "
                             "source 'movielens-100k'; use kind 'clusters' or 'personas' for your own catalog")
        if self.cold_start.release_step is not None and self.cold_start.release_step >= self.run.horizon:
            raise ValueError("cold_start.release_step must be below run.horizon")
        if self.run.compute == "torch":
            self._fill_in_torch()
        return self

    def _fill_in_torch(self) -> None:
        """``run.compute: torch`` on ``run.device``, filled into the sections that compute.

        The one place the switch acts, so the validated config (and the manifest) says what
        runs where. The world gets backend torch on ``run.device``: an explicit ``world.backend:
        numpy`` or a different ``world.device`` is an error. ``embedding.device: auto`` becomes
        ``run.device`` (an explicit one is kept). Every agent whose constructor takes
        ``backend``/``device`` gets them, unless its params name either (then they are kept as
        written); agents without a torch path stay numpy.
        """
        from banditsim.agents.registry import AGENTS, agent_params

        device, w = self.run.device, self.world
        if "backend" in w.model_fields_set and w.backend != "torch":
            raise ValueError(f"world.backend '{w.backend}' conflicts with run.compute 'torch' (run.device "
                             f"'{device}'); drop world.backend or set run.compute: numpy")
        if "device" in w.model_fields_set and w.device != device:
            raise ValueError(f"world.device '{w.device}' conflicts with run.device '{device}'; drop "
                             "world.device (run.device sets it)")
        self.world = w.model_copy(update={"backend": "torch", "device": device})
        if self.embedding.device == "auto":
            self.embedding = self.embedding.model_copy(update={"device": device})
        agents = []
        for spec in self.agents:
            known = agent_params(AGENTS[spec.name])
            fill = {k: v for k, v in (("backend", "torch"), ("device", device)) if k in known}
            if fill and not {"backend", "device"} & set(spec.params):
                spec = spec.model_copy(update={"params": {**spec.params, **fill}})
            agents.append(spec)
        self.agents = agents


CATALOG_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".pq", ".gz", ".bz2",
                    ".xz", ".zip", ".zst")


def default_name(catalog_source: str, population_kind: str) -> str:
    """A run's name when the config gives none: ``quickstart`` for the built-in MovieLens world,
    else ``<catalog file stem>-<population kind>`` (a run on your own catalog is never "quickstart").

    >>> default_name("movielens-100k", "movielens"), default_name("/data/My Films.csv.gz", "ratings")
    ('quickstart', 'My-Films-ratings')
    >>> default_name("movielens-100k", "clusters")
    'movielens-clusters'
    """
    import re
    from pathlib import PurePath

    if catalog_source == "movielens-100k":
        if population_kind == "movielens":
            return "quickstart"
        stem = "movielens"
    else:
        stem = PurePath(catalog_source.rstrip("/\\")).name
        while PurePath(stem).suffix.lower() in CATALOG_SUFFIXES:
            stem = PurePath(stem).stem
        stem = re.sub(r"[^\w-]+", "-", stem).strip("-_")[:60] or "catalog"
    return check_result_name(f"{stem}-{population_kind}")


def experiment_name(prefix: str, cfg) -> str:
    """The ``name`` of an ``ope``/``abtest`` config: as given (a plain folder name), else
    ``<prefix>-movielens`` on the built-in world and ``<prefix>-<catalog>-<kind>`` on yours.

    >>> from banditsim.sim.offline.config import OPEConfig
    >>> experiment_name("ope", OPEConfig()), experiment_name("ope", OPEConfig(catalog={"source": "a/b.csv"},
    ...                                                                         population={"kind": "clusters"}))
    ('ope-movielens', 'ope-b-clusters')
    """
    if "name" in cfg.model_fields_set:
        return check_result_name(cfg.name)
    world = default_name(cfg.catalog.source, cfg.population.kind)
    return f"{prefix}-{'movielens' if world == 'quickstart' else world}"


def validate_config(data: dict, source: str = "config") -> RunConfig:
    """Validate a config dict; any problem is one :class:`ConfigError` line naming the key."""
    from pydantic import ValidationError

    from banditsim.sim.config.errors import describe_validation_error

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping of sections, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None
