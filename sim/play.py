"""Play one (agent, seed) cell: an agent against the batched world for ``horizon`` steps.

Each step every one of the B simulated users gets a recommendation (an item or
a slate); the world answers with feedback and tells the exact expected reward
of the chosen and of the best action, so regret is exact, not estimated.
"""

from __future__ import annotations

import copy

import numpy as np

from envs.feedback_kinds import KINDS as KIND_NAMES, NEGATIVE_CODES, POSITIVE_CODES
from sim.cells import Cell
from sim.metrics.tracker import MetricTracker
from sim.feedback_delay import FeedbackSchedule, log_arrival_columns
from sim.explanations import Explainer
from sim.prepare import Prepared, world_config
from sim.seeding import agent_seed, as_int_seed, world_seed

NEGATIVE = np.isin(np.arange(len(KIND_NAMES)), NEGATIVE_CODES)
POSITIVE = np.isin(np.arange(len(KIND_NAMES)), POSITIVE_CODES)


_TEMPLATE: list = []  # [(prep, its world settings, a pristine World)]: at most one entry per process


def _template_world(prep: Prepared):
    """A pristine World for ``prep``, built once per process.

    Building one precomputes the item geometry (Gram matrix, principal directions, hull,
    every user's candidate items) — seconds for MovieLens — and none of it depends on the
    seed, so every cell copies the template instead of rebuilding it. The entry holds ``prep``
    itself and is reused only for that very object with the same world settings: a key of
    ``id(prep)`` could hand a new ``Prepared`` (another drift, another population) the stale
    world of a collected one whose id was reused, and an edited ``prep.config`` was not noticed.
    """
    from envs.world import World

    cfg = prep.config
    settings = (world_config(cfg), cfg.world.n_users, prep.n_initial, id(prep.population),
                id(prep.item_vectors))
    if _TEMPLATE and _TEMPLATE[0][0] is prep and _TEMPLATE[0][1] == settings:
        return _TEMPLATE[0][2]
    _TEMPLATE.clear()
    world = World(prep.item_vectors[: prep.n_initial], prep.population, n_users=cfg.world.n_users,
                  config=world_config(cfg), seed=0)
    _TEMPLATE.append((prep, settings, world))
    return world


def start_world(prep: Prepared, seed_index: int):
    """The world of seed ``seed_index`` (the same for every agent: common random numbers), reset.

    Returns ``(world, first observation)``; identical to ``World(..., seed=s).reset()``.
    """
    world = copy.deepcopy(_template_world(prep))
    obs = world.reset(seed=as_int_seed(world_seed(prep.config.run.root_seed, seed_index)))
    return world, obs


def build_agent(prep: Prepared, agent_index: int, seed_index: int):
    """Agent ``agent_index`` of the config, seeded for ``seed_index``."""
    cfg = prep.config
    rng = np.random.default_rng(agent_seed(cfg.run.root_seed, seed_index, agent_index))
    return make_config_agent(cfg, agent_index, len(prep.item_ids), rng)


def make_config_agent(cfg, agent_index: int, n_items: int, random_state):
    """Agent ``agent_index`` of run config ``cfg`` over ``n_items`` arms (its params, slate size, rewards)."""
    from agents.registry import make_agent
    from envs.feedback_kinds import reward_vector

    spec = cfg.agents[agent_index]
    return make_agent(spec.name, n_items, slate_size=cfg.world.slate_size, random_state=random_state,
                      kind_values=reward_vector(cfg.world.reward_map).tolist(), **spec.params)


def _pad_mask(mask: np.ndarray, n_total: int, fill: bool = False) -> np.ndarray:
    """Mask over all arms: items not in the world yet are ``fill`` (False until released)."""
    if mask.shape[1] == n_total:
        return mask
    out = np.full((mask.shape[0], n_total), fill, dtype=bool)
    out[:, : mask.shape[1]] = mask
    return out


class _Columns:
    """Column-wise accumulation of per-step metrics (no per-step Python dicts)."""

    def __init__(self, horizon: int):
        self.data: dict[str, np.ndarray] = {}
        self.horizon = horizon

    def put(self, t: int, **values) -> None:
        for k, v in values.items():
            col = self.data.get(k)
            if col is None:
                col = self.data[k] = np.zeros(self.horizon, dtype=np.asarray(v).dtype)
            col[t] = v


def play_cell(prep: Prepared, cell: Cell) -> dict:
    """Run one cell; returns pyarrow tables ``metrics``, ``genres``, ``items`` and ``log``."""
    from agents.types import Context, Feedback

    cfg = prep.config
    world, obs = start_world(prep, cell.seed_index)
    agent = build_agent(prep, cell.agent_index, cell.seed_index)
    n_total, horizon, b = len(prep.item_ids), cfg.run.horizon, cfg.world.n_users
    release = cfg.cold_start.release_step if prep.n_initial < n_total else None
    arm_features = prep.item_vectors.astype(np.float64)
    arm_features.setflags(write=False)  # the same matrix every step: agents check it once
    cols = _Columns(horizon)
    shown = np.zeros(n_total, dtype=np.int64)
    log_budget = cfg.log.max_rows_per_cell if cfg.log.enabled else 0
    log_parts: list[dict[str, np.ndarray]] = []
    explainer = Explainer(agent, prep.item_vectors, b, POSITIVE) if log_budget > 0 else None
    tracker = MetricTracker(prep, b)  # every registered metric (sim.metrics)
    schedule = FeedbackSchedule.from_config(cfg, cell.seed_index)  # delayed / batched updates
    for t in range(horizon):
        if release is not None and t == release:
            new = prep.item_vectors[prep.n_initial:]
            bias = None
            if prep.population.item_bias is not None:
                bias = prep.population.item_bias_for(n_total)[prep.n_initial:]
            world.add_items(new, item_bias=bias)
        released = release is not None and t >= release
        mask = _pad_mask(obs.mask, n_total, fill=released)
        ctx = Context(features=obs.features, arm_features=arm_features, mask=mask)
        decision = agent.act(ctx)
        session_before = obs.session_step
        context_ids, user_ids = obs.population_index, obs.user_ids
        truth = tracker.truth(t, world, mask)  # exact truth before the step, on truth steps only
        res = world.step(decision.actions)
        fb = Feedback(reward=res.reward, kind=res.kind, position=res.position)
        arrival, update = schedule.step(t, ctx, decision, fb)  # today: (ctx, decision, fb) at once
        if update is not None:
            agent.update(*update)
        cols.put(t, **tracker.step(t, decision.actions, res, session_before, context_ids, world.n_items, truth))
        cols.put(t, **schedule.counts())  # answers in flight / buffered (sim.feedback_delay)
        actions = decision.actions
        shown += np.bincount(actions.reshape(-1), minlength=n_total)
        if log_budget > 0:
            why = explainer.columns(user_ids, decision, res.kind, res.position)
            log_parts.append(_log_rows(t, b, context_ids, decision, res, prep, user_ids, why))
            log_parts[-1].update(log_arrival_columns(t, arrival, log_parts[-1]["action"].size))
            log_budget -= log_parts[-1]["action"].size
            if log_budget <= 0:
                explainer.stop()
        obs = res.observation
    return _tables(prep, cell, cols.data, shown, log_parts, cfg.log.max_rows_per_cell)


def _log_rows(t: int, b: int, context_ids: np.ndarray, decision, res, prep: Prepared, user_ids: np.ndarray,
              why: dict) -> dict:
    """OBP-style rows: one per shown item (per slate position for slates), with the person's id and
    the "why" columns of :mod:`sim.explanations`."""
    actions = decision.actions
    k = 1 if actions.ndim == 1 else actions.shape[1]
    acts = actions.reshape(b, k)
    pscore = decision.propensities.reshape(b, k)
    position = np.broadcast_to(np.arange(k), (b, k))
    responded = position == res.position[:, None]
    if k == 1:
        responded = np.ones((b, 1), dtype=bool)
    kind = np.where(responded, res.kind[:, None], 3)  # positions with no response are neutral
    reward = np.where(responded, res.reward[:, None], 0.0)
    return {
        "step": np.full(b * k, t, dtype=np.int32),
        "slate_id": (t * b + np.repeat(np.arange(b), k)).astype(np.int64),
        "context_id": np.repeat(context_ids, k).astype(np.int64),
        "action": acts.reshape(-1).astype(np.int64),
        "item_id_index": prep.order[acts.reshape(-1)].astype(np.int64),
        "position": position.reshape(-1).astype(np.int16),
        "pscore": pscore.reshape(-1).astype(np.float64),
        "reward": reward.reshape(-1).astype(np.float64),
        "feedback_kind": kind.reshape(-1).astype(np.int8),
        "expected_reward_slate": np.repeat(res.expected_reward_chosen, k).astype(np.float64),
        "person_id": np.repeat(user_ids, k).astype(np.int64),  # not user_id: OPE clusters by context_id
        **why,
    }


def _tables(prep: Prepared, cell: Cell, metrics: dict, shown: np.ndarray, log_parts: list,
            max_log_rows: int) -> dict:
    import pyarrow as pa

    label = cell.agent_label
    n = len(next(iter(metrics.values())))
    metrics_table = pa.table({"agent": pa.array([label] * n), "seed": np.full(n, cell.seed_index, np.int32),
                              # a step where a metric is undefined (NaN) is stored as null, never NaN
                              **{k: pa.array(v, from_pandas=True) for k, v in metrics.items()}})
    genre_counts = shown @ prep.categories.astype(np.int64) if prep.category_names else np.zeros(0)
    genres = pa.table({"agent": pa.array([label] * len(prep.category_names)),
                       "seed": np.full(len(prep.category_names), cell.seed_index, np.int32),
                       "category": pa.array(prep.category_names), "count": genre_counts.astype(np.int64)})
    nz = np.flatnonzero(shown)
    items = pa.table({"agent": pa.array([label] * nz.size), "seed": np.full(nz.size, cell.seed_index, np.int32),
                      "item_id": pa.array([prep.item_ids[i] for i in nz]),
                      "title": pa.array([prep.titles[i] for i in nz]), "count": shown[nz]})
    log = None
    if log_parts:
        cols = {k: np.concatenate([p[k] for p in log_parts])[:max_log_rows] for k in log_parts[0]}
        m = cols["action"].size
        kinds = np.array(KIND_NAMES)[cols.pop("feedback_kind")]
        log = pa.table({"agent": pa.array([label] * m), "seed": np.full(m, cell.seed_index, np.int32),
                        **{k: v for k, v in cols.items() if k != "item_id_index"},
                        "item_id": pa.array([prep.item_ids[i] for i in cols["action"]]),
                        "feedback_kind": pa.array(kinds)})
    return {"metrics": metrics_table, "genres": genres, "items": items, "log": log}
