"""Play one (agent, seed) cell: an agent against the batched world for ``horizon`` steps.

Each step every one of the B simulated users gets a recommendation (an item or
a slate); the world answers with feedback and tells the exact expected reward
of the chosen and of the best action, so regret is exact, not estimated.
"""

from __future__ import annotations

import copy

import numpy as np

from banditsim.envs.feedback_kinds import KINDS as KIND_NAMES, NEGATIVE_CODES, POSITIVE_CODES
from banditsim.sim.run.cells import Cell
from banditsim.sim.metrics.tracker import MetricTracker
from banditsim.sim.run.feedback_delay import FeedbackSchedule, log_arrival_columns
from banditsim.sim.report.explanations import Explainer
from banditsim.sim.run.log_buffer import LogBuffer
from banditsim.sim.run.prepare import Prepared, world_config
from banditsim.sim.run.seeding import agent_seed, as_int_seed, world_seed

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
    from banditsim.envs.world import World

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
    from banditsim.agents.registry import make_agent
    from banditsim.envs.feedback_kinds import reward_vector

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
    """Column-wise accumulation of per-step metrics (no per-step Python dicts).

    A column's dtype is that of its first value (a Python float: float64, int: int64, bool: bool)."""

    _PY = {float: np.float64, int: np.int64, bool: np.bool_}

    def __init__(self, horizon: int):
        self.data: dict[str, np.ndarray] = {}
        self.horizon = horizon

    def put(self, t: int, values: dict) -> None:
        data = self.data
        for k, v in values.items():
            col = data.get(k)
            if col is None:
                dtype = self._PY.get(type(v)) or np.asarray(v).dtype
                col = data[k] = np.zeros(self.horizon, dtype=dtype)
            col[t] = v


def play_cell(prep: Prepared, cell: Cell) -> dict:
    """Run one cell; returns pyarrow tables ``metrics``, ``genres``, ``items`` and ``log``."""
    from banditsim.agents.types import Context, Feedback

    cfg = prep.config
    world, obs = start_world(prep, cell.seed_index)
    agent = build_agent(prep, cell.agent_index, cell.seed_index)
    n_total, horizon, b = len(prep.item_ids), cfg.run.horizon, cfg.world.n_users
    release = cfg.cold_start.release_step if prep.n_initial < n_total else None
    arm_features = prep.item_vectors.astype(np.float64)
    arm_features.setflags(write=False)  # the same matrix every step: agents check it once
    cols = _Columns(horizon)
    log_rows = min(cfg.log.max_rows_per_cell, horizon * b * cfg.world.slate_size) if cfg.log.enabled else 0
    log = LogBuffer(log_rows)
    explainer = Explainer(agent, prep.item_vectors, b, POSITIVE) if log_rows > 0 else None
    step_log = _StepLog(b, cfg.world.slate_size) if log_rows > 0 else None
    tracker = MetricTracker(prep, b)  # every registered metric (banditsim.sim.metrics)
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
        arrival, update = schedule.step(t, ctx, decision, fb)  # no delay, no batching: this step's answers
        if update is not None:
            agent.update(*update)
        cols.put(t, tracker.step(t, decision.actions, res, session_before, context_ids, world.n_items, truth))
        cols.put(t, schedule.counts())  # answers in flight / buffered (banditsim.sim.run.feedback_delay)
        if not log.full:
            why = explainer.columns(user_ids, decision, res.kind, res.position)
            rows = step_log.columns(t, context_ids, decision, res, user_ids, why)
            rows.update(log_arrival_columns(t, arrival, step_log.n))
            log.add(step_log.n, rows)
            if log.full:
                explainer.stop()
        obs = res.observation
    return _tables(prep, cell, cols.data, tracker.shown, log)


class _StepLog:
    """One step's OBP-style log rows: one per shown item (per slate position for slates), with the
    person's id and the "why" columns of :mod:`banditsim.sim.report.explanations`; index columns built once per cell."""

    def __init__(self, b: int, k: int):
        self.b, self.k, self.n = b, k, b * k
        self.slot = np.repeat(np.arange(b, dtype=np.int64), k)  # slate_id = t·b + slot
        self.position = np.tile(np.arange(k, dtype=np.int16), b)

    def columns(self, t: int, context_ids: np.ndarray, decision, res, user_ids: np.ndarray, why: dict) -> dict:
        """The columns of step ``t`` ((b·k,) arrays or scalars), in the log's column order."""
        b, k = self.b, self.k
        actions = decision.actions
        pscore = decision.propensities
        if k == 1:  # every row responded to its one item
            kind, reward = res.kind, res.reward
            expected, context, person = res.expected_reward_chosen, context_ids, user_ids
        else:
            responded = (np.arange(k)[None, :] == res.position[:, None]).reshape(-1)
            kind = np.where(responded, np.repeat(res.kind, k), 3)  # positions with no response are neutral
            reward = np.where(responded, np.repeat(res.reward, k), 0.0)
            expected = np.repeat(res.expected_reward_chosen, k)
            context, person = np.repeat(context_ids, k), np.repeat(user_ids, k)
        return {
            "step": np.int32(t),
            "slate_id": self.slot + np.int64(t * b),
            "context_id": np.asarray(context, dtype=np.int64).reshape(-1),
            "action": np.asarray(actions, dtype=np.int64).reshape(-1),
            "position": self.position,
            "pscore": np.asarray(pscore, dtype=np.float64).reshape(-1),
            "reward": np.asarray(reward, dtype=np.float64).reshape(-1),
            "feedback_kind": np.asarray(kind, dtype=np.int8).reshape(-1),
            "expected_reward_slate": np.asarray(expected, dtype=np.float64).reshape(-1),
            "person_id": np.asarray(person, dtype=np.int64).reshape(-1),  # not user_id: OPE clusters by context_id
            **why,
        }


def _tables(prep: Prepared, cell: Cell, metrics: dict, shown: np.ndarray, log: LogBuffer) -> dict:
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
    result = {"metrics": metrics_table, "genres": genres, "items": items, "log": None}
    if log.size:
        cols = log.columns()
        m = log.size
        kinds = pa.array(KIND_NAMES).take(cols.pop("feedback_kind"))
        result["log"] = pa.table({"agent": pa.array([label] * m), "seed": np.full(m, cell.seed_index, np.int32),
                                  **cols, "item_id": pa.array(prep.item_ids).take(cols["action"]),
                                  "feedback_kind": kinds})
    return result
