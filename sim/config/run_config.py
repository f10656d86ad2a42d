"""Run configs: YAML or TOML, validated by pydantic before anything runs.

Every key has a default, so ``RunConfig()`` is the MovieLens quickstart and the
validated config (``model_dump()``) — all defaults written out — is what a
results directory's manifest records.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from banditsim._device import DEVICES
from banditsim.sim.config.errors import validate_model
from banditsim.sim.config.delay import FeedbackDelaySection  # the feedback_delay section (delays per kind)
from banditsim.sim.config.section import Section
from banditsim.sim.config.world_source import WorldSource


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
    device: Literal[DEVICES] = Field("cpu", description="where torch computes; cuda implies compute torch")
    update_every: int = Field(1, ge=1, le=1_000_000_000, description="update the agents after every N-th step, in "
                              "one call over all answers arrived since the last update (1: every step)")

    @model_validator(mode="after")
    def _cuda_implies_torch(self):
        if self.device == "cuda" and self.compute == "numpy":
            if "compute" in self.model_fields_set:
                raise ValueError("device 'cuda' needs compute 'torch' (numpy runs on the CPU only)")
            self.compute = "torch"
        return self


class RunConfig(WorldSource):
    """A whole experiment. ``RunConfig()`` is the MovieLens quickstart.

    Examples
    --------
    >>> cfg = RunConfig()
    >>> cfg.catalog.source, cfg.run.horizon, [a.label for a in cfg.agents][:2]
    ('movielens-100k', 100, ['thompson', 'dirichlet_ts'])
    """

    name: str = Field("quickstart", description="results folder runs/<name>-<time>; default: quickstart for "
                                                "MovieLens, else <catalog file>-<population kind>")
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
        if self.cold_start.release_step is not None and self.cold_start.release_step >= self.run.horizon:
            raise ValueError("cold_start.release_step must be below run.horizon")
        if self.run.compute == "torch":
            self._fill_in_torch()
        return self

    def cuda_switch(self) -> str | None:
        """``run.device cuda`` when the run asks for CUDA, else the world's own switch."""
        return "run.device cuda" if self.run.device == "cuda" else super().cuda_switch()

    def held_back(self) -> tuple[float, int]:
        """(``cold_start.new_item_fraction``, ``run.root_seed``): the items released mid-run."""
        return self.cold_start.new_item_fraction, self.run.root_seed

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
    """Validate a run config dict; any problem is one :class:`ConfigError` line naming the key."""
    return validate_model(RunConfig, data, source)
