"""Everything a sweep's cells share: items, their vectors, the users, the world config.

:func:`prepare` does the expensive, seed-independent work once (catalog,
embeddings through the cache, fitting users) so every cell — in this process,
in a worker process or on a Ray node — starts from the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from banditsim.sim.config.run_config import RunConfig
from banditsim.sim.config.world_source import WorldSource


@dataclass
class Prepared:
    """Shared inputs of all cells of one run.

    ``order`` maps arm index → catalog row: items released mid-run (cold start)
    come last, so the world can append them with ``add_items``.
    """

    config: WorldSource               # a run's RunConfig, or the OPE / A/B config
    item_vectors: np.ndarray          # (n_items, d) float32, in arm order
    population: object                # banditsim.envs.population.Population
    item_ids: list[str]               # in arm order
    titles: list[str]                 # in arm order
    categories: np.ndarray            # (n_items, n_categories) bool, in arm order
    category_names: list[str]
    order: np.ndarray                 # arm index -> catalog row
    n_initial: int                    # arms available from the start
    embedding_info: dict
    inputs: dict = field(default_factory=dict)  # hashes of what was read (banditsim.sim.run.input_hashes)


def world_config(cfg: WorldSource):
    """The world's own :class:`banditsim.envs.world_config.WorldConfig` for a run, OPE or A/B config."""
    return cfg.world.to_envs()


def check_cuda(cfg: WorldSource, asked_by: str | None = None) -> None:
    """Stop with one line, before anything is embedded or written, if CUDA is asked for but absent.

    ``asked_by`` names the switch in the message (the CLI passes ``--device cuda``).
    """
    from banditsim._device import cuda_missing
    from banditsim.envs.errors import BanditsimError

    switch = cfg.cuda_switch()
    missing = switch and cuda_missing("cuda")
    if not missing:
        return
    what = asked_by or switch
    hint = ("use --device cpu (--set run.compute=torch keeps the torch path, on the CPU)"
            if what.startswith("--") else "use device cpu (run.compute: torch keeps the torch path, on the CPU)")
    raise BanditsimError(f"{what}: {missing}; {hint}")


def agent_compute(spec) -> str:
    """Where agent ``spec`` computes: ``numpy`` or ``torch on <device>`` (from its params and defaults).

    An agent whose constructor takes ``device`` but not ``backend`` is torch-only.

    >>> from banditsim.sim.config.run_config import AgentSpec
    >>> agent_compute(AgentSpec(name="linucb", params={"backend": "torch"}))
    'torch on cpu'
    >>> agent_compute(AgentSpec(name="beta_ts"))
    'numpy'
    """
    from banditsim.agents.registry import AGENTS, agent_params

    known = agent_params(AGENTS[spec.name])
    params = {**known, **spec.params}
    if "device" not in known or params.get("backend", "torch") != "torch":
        return "numpy"
    return f"torch on {params['device'] or 'cpu'}"


def compute_line(cfg: RunConfig) -> str | None:
    """The run header's line saying where the world and each agent compute; None for a numpy run."""
    if cfg.run.compute != "torch":
        return None
    groups: dict[str, list[str]] = {}
    for spec in cfg.agents:
        groups.setdefault(agent_compute(spec), []).append(spec.label)
    agents = "; ".join(f"{where}: {', '.join(labels)}" for where, labels in sorted(groups.items(), reverse=True))
    return (f"compute: world torch on {cfg.world.device}, embedding on {cfg.embedding.device}; "
            f"agents {agents}")


def _population(cfg: WorldSource, vectors: np.ndarray, embed: Callable[[list[str]], np.ndarray],
                item_ids=None, progress: bool = False):
    """The run's users, built as ``population.kind`` says (``item_ids``: the catalog's, for kind ratings)."""
    p = cfg.population
    if p.kind == "ratings":
        return _ratings_population(cfg, vectors, item_ids, progress)
    if p.kind == "movielens":
        from banditsim.envs.fit_ratings import movielens_population

        return movielens_population(vectors, dim=min(p.fit_dim, vectors.shape[1]), l2=p.fit_l2, seed=p.seed)
    if p.kind == "personas":
        from banditsim.envs.personas import persona_population

        source = p.personas if p.personas else p.personas_file
        return persona_population(source, vectors, p.n_users, embed=embed, noise=p.noise, seed=p.seed)
    from banditsim.envs.clusters import cluster_population

    return cluster_population(vectors, p.n_users or 1000, n_clusters=min(p.n_clusters, len(vectors)),
                              noise=p.noise, seed=p.seed)


def _ratings_population(cfg: WorldSource, vectors: np.ndarray, item_ids, progress: bool):
    """Users fitted from the config's interaction log; one log line says what was matched and dropped."""
    from banditsim.envs.ratings_log import (LogSpec, describe_log, read_interaction_log, read_user_features,
                                  ratings_population)

    p = cfg.population
    spec = LogSpec(user_column=p.user_column, item_column=p.item_column, rating_column=p.rating_column,
                   timestamp_column=p.timestamp_column, feedback_column=p.feedback_column,
                   feedback_map=dict(p.feedback_map or {}), min_user_rows=p.min_user_rows,
                   negative_threshold=p.negative_threshold, positive_threshold=p.positive_threshold)
    ratings, info = read_interaction_log(p.file, item_ids, spec)
    feats = names = None
    if p.user_features_file:
        feats, names, more = read_user_features(p.user_features_file, ratings.user_ids, p.user_column,
                                                p.user_feature_columns)
        info.update(more)
    pop = ratings_population(vectors, ratings, info, dim=min(p.fit_dim, vectors.shape[1]), l2=p.fit_l2,
                             features=feats, feature_names=names or (), seed=p.seed, progress=progress)
    print(describe_log(info), flush=True)  # beside the run's header (stderr keeps to progress and errors)
    return pop


def prepare(cfg: WorldSource, progress: bool = True,
            before_embedding: Callable[[int], None] | None = None) -> Prepared:
    """Load the catalog, embed it (cached), build the users and the cold-start order of a run,
    OPE or A/B config (what they share: :class:`~banditsim.sim.config.world_source.WorldSource`).

    ``before_embedding(n_items)`` runs once the catalog is read and before the expensive part, so
    checks that need the catalog's size (agent parameters) fail before anything is embedded.
    """
    from banditsim.envs.catalog import load_catalog
    from banditsim.envs.embedding import TextEmbedder, embed_texts

    check_cuda(cfg)
    c, e = cfg.catalog, cfg.embedding
    catalog = load_catalog(c.source, c.text_columns, c.id_column, c.category_column)
    if cfg.world.slate_size > len(catalog):
        from banditsim.envs.errors import BanditsimError

        raise BanditsimError(f"world.slate_size {cfg.world.slate_size} is larger than the catalog "
                             f"({len(catalog)} items)")
    if before_embedding is not None:
        before_embedding(len(catalog))
    embedder = TextEmbedder(e.model, device=e.device, batch_size=e.batch_size, backend=e.backend,
                            cache_dir=e.cache_dir)
    res = embed_texts(catalog.texts, cache_dir=e.cache_dir, progress=progress, embedder=embedder)

    def embed(texts: list[str]) -> np.ndarray:
        return embed_texts(texts, cache_dir=e.cache_dir, progress=False, embedder=embedder).vectors

    population = _population(cfg, res.vectors, embed, item_ids=catalog.ids, progress=progress)
    n = len(catalog)
    fraction, seed = cfg.held_back()
    n_new = int(round(fraction * n))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    held = np.sort(rng.choice(n, size=n_new, replace=False)) if n_new else np.array([], dtype=np.int64)
    keep = np.setdiff1d(np.arange(n), held)
    order = np.concatenate([keep, held]).astype(np.int64)
    if n_new and (population.item_bias is not None or population.item_positions is not None):
        import dataclasses

        # per-item terms follow the items into arm order (released items last)
        population = dataclasses.replace(
            population, item_bias=None if population.item_bias is None else population.item_bias[order],
            item_positions=None if population.item_positions is None else population.item_positions[order])
    cats = catalog.category_matrix()
    from banditsim.sim.run.input_hashes import run_inputs

    return Prepared(
        config=cfg, item_vectors=res.vectors[order], population=population,
        item_ids=[catalog.ids[i] for i in order], titles=[catalog.titles[i] for i in order],
        categories=cats[order] if cats.size else np.zeros((n, 0), dtype=bool),
        category_names=catalog.category_names(), order=order, n_initial=n - n_new,
        embedding_info={"model": res.model_name, "model_key": res.model_key, "cache_key": res.cache_key,
                        "cache_dir": str(res.cache_dir), "n_embedded": res.n_embedded,
                        "n_cached": res.n_cached, "seconds": round(res.seconds, 3),
                        "dim": int(res.vectors.shape[1])},
        inputs=run_inputs(cfg, catalog, res.model_key),
    )
