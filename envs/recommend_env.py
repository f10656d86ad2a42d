"""Gymnasium environments over a one-user :class:`~banditsim.envs.world.World`.

``banditsim/Recommend-v0`` shows one item per step (``Discrete(n_items)``);
``banditsim/Slate-v0`` shows ``slate_size`` items (``MultiDiscrete``).
Your own world: ``gym.make("banditsim/Recommend-v0", catalog=..., population=..., n_users=...)``
(a :class:`~banditsim.envs.catalog.Catalog`, a catalog file path or an item-vector array; users built for
those items; how many distinct people the episodes are drawn from: :func:`banditsim.envs.default_world.world_parts`).
Without them, the MovieLens movies and their 943 fitted users.
Observation: ``{"user": user features (d_u [+ m],) float32, "mask": allowed items (n_items,) int8}``:
the population's visible features, then with ``WorldConfig(history_k=k > 0)`` the user-history
context (m = ``history_dim`` coordinates, :mod:`banditsim.envs.user_history`);
item features are fixed and available as ``env.unwrapped.item_vectors``.
An episode is one session: ``terminated`` when patience runs out, ``truncated`` after
``max_steps``. ``reset(seed=s)`` re-seeds a fresh world (``World(seed=s).reset()``
then gives the same numbers); ``reset()`` without a seed continues with the world's next
session (a returning person or a fresh one). ``info``: ``kind`` (name), ``kind_code``,
``expected_reward`` (of the action taken), ``best_expected_reward``, ``regret``,
``position``, ``item``, ``user_id`` (the person), ``population_index`` (the population user they
were drawn from), ``action_mask``.

Masks: ``env.action_masks()`` (bool; sb3-contrib ``MaskablePPO`` reads it: (n_items,), or the
mask repeated per slate position (slate_size·n_items,)) and ``info["action_mask"]`` (what
``env.action_space.sample(mask=…)`` takes: int8 (n_items,), or a tuple of slate_size of them)
say which items are allowed. Showing a disallowed (blocked) item earns the reward map's ``block``
reward and changes nothing (``info["disallowed"]`` True; the step does not count towards
``max_steps``): the rule is in :mod:`banditsim.envs.action_masks`.

The ``user`` Box is bounded by the population's own feature ranges (the features a user shows
are always one population row) and, for the history part, by the range of the catalog's items in
those coordinates (a mean of items lies between them; 0, the empty history, too), so checkers see
a bounded space.

Render modes: ``ansi`` (one line), ``rgb_array`` (an (H, W, 3) uint8 picture of the session,
see :mod:`banditsim.envs.render_session`), ``human`` (the same picture in a matplotlib window, drawn on
every step; with no interactive backend it warns once and draws nothing). With
``render_mode=None`` nothing is recorded or drawn and matplotlib is never imported.
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from banditsim.envs.action_masks import disallowed, first_disallowed, flat_masks, info_mask
from banditsim.envs.catalog_spaces import FollowsCatalog
from banditsim.envs.default_world import world_parts
from banditsim.envs.feedback_kinds import BLOCK, KINDS, NEUTRAL
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError, WorldConfigError


def observation_space(features: np.ndarray, n_items: int, extra=None) -> spaces.Dict:
    """``{"user": Box bounded by each feature's range over the population, "mask": MultiBinary}``;
    ``extra`` (low, high): bounds of features appended after the population's (the history)."""
    f = np.asarray(features, dtype=np.float32)
    low = f.min(0) if len(f) else np.full(f.shape[1], -np.inf, dtype=np.float32)
    high = f.max(0) if len(f) else np.full(f.shape[1], np.inf, dtype=np.float32)
    if extra is not None:
        low, high = np.concatenate([low, extra[0]]), np.concatenate([high, extra[1]])
    return spaces.Dict({"user": spaces.Box(low, high, dtype=np.float32), "mask": spaces.MultiBinary(n_items)})


def world_observation_space(world: World, n_items: int) -> spaces.Dict:
    """The observation space of ``world``'s users: population features, then its history context."""
    extra = world._history.bounds(world.item_vectors) if world._history.on else None
    return observation_space(world.population.features, n_items, extra)


class RecommendEnv(FollowsCatalog, gym.Env):
    """One user, one recommended item per step.

    Examples
    --------
    >>> from banditsim.envs.clusters import cluster_population
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> env = RecommendEnv(item_vectors=x, population=cluster_population(x, 10, n_clusters=3))
    >>> obs, info = env.reset(seed=1)
    >>> obs["mask"].shape, env.action_space
    ((30,), Discrete(30))
    >>> obs, r, term, trunc, info = env.step(0)
    >>> info["kind"] in ("block", "dislike", "skip", "neutral", "click", "like", "save")
    True
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 4}
    slate_size: int | None = None

    def __init__(self, item_vectors=None, population=None, config: WorldConfig | None = None,
                 max_steps: int = 100, render_mode: str | None = None, *, catalog=None, n_users: int | None = None):
        if int(max_steps) < 1:
            raise WorldConfigError(f"max_steps must be ≥ 1, got {max_steps}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise WorldConfigError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        x, pop = world_parts(item_vectors, population, catalog=catalog, n_users=n_users)
        cfg = replace(config or WorldConfig(), session_length=int(max_steps))
        self.world = World(x, pop, n_users=1, config=cfg, seed=None)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        n = self.world.n_items
        if self.slate_size is not None:
            self.world._check_slate_size(self.slate_size)
        self._follow_catalog()  # the spaces follow world.n_items (banditsim.envs.catalog_spaces)
        self._last = None
        self._needs_seed = True
        self._picture = None
        if render_mode in ("rgb_array", "human"):
            from banditsim.envs.render_session import SessionPicture

            self._picture = SessionPicture(self.world.item_vectors)
            self._view = None

    @property
    def item_vectors(self) -> np.ndarray:
        return self.world.item_vectors

    def _action_space(self, n: int):
        return spaces.Discrete(n)

    def _build_spaces(self, n: int) -> dict:
        return {"observation_space": world_observation_space(self.world, n),
                "action_space": self._action_space(n)}

    def _catalog_grew(self) -> None:
        if self._last is not None:  # the grown mask: the new items are allowed
            self._last = replace(self._last, mask=self.world._observation().mask)

    def _obs(self, o) -> dict:
        return {"user": o.features[0].astype(np.float32), "mask": o.mask[0].astype(np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._follow_catalog()
        if seed is not None or self._needs_seed:
            s = seed if seed is not None else int(self.np_random.integers(2**63 - 1))
            o = self.world.reset(seed=s)
            self._needs_seed = False
        else:
            o = self._last if self._last is not None else self.world.reset()
        self._last = o
        if self._picture is not None:
            self._picture.clear()
            self._view = None
            if self.render_mode == "human":
                self.render()
        return self._obs(o), {"user_id": int(o.user_ids[0]), "population_index": int(o.population_index[0]),
                              "action_mask": info_mask(o.mask[0], self.slate_size)}

    def action_masks(self) -> np.ndarray:
        """Allowed actions as bool, in sb3-contrib ``MaskablePPO``'s layout (see the module docstring)."""
        if self._last is None:
            raise WorldConfigError("call reset() before action_masks()")
        self._follow_catalog()
        return flat_masks(self._last.mask[0], self.slate_size)

    def _to_world_action(self, action):
        a = np.asarray(action)
        if a.shape != ():
            raise ActionError(f"action must be one item index, got shape {a.shape}")
        return a.reshape(1)

    def step(self, action):
        if self._last is None:
            raise WorldConfigError("call reset() before step()")
        self._follow_catalog()
        a = self._to_world_action(action)
        bad = disallowed(a, self._last.mask)
        if bad is not None and bad.any():
            return self._refused(a, bad)
        before = self._before_step() if self._picture is not None else None
        res = self.world.step(a)
        self._last = res.observation
        info = self._info(res, int(res.position[0]), int(res.item[0]), False)
        self._render_line = f"user {info['user_id']} item {info['item']} → {info['kind']}"
        terminated, truncated = bool(res.terminated[0]), bool(res.truncated[0])
        if before is not None:
            self._after_step(a, res, before, terminated or truncated)
        return self._obs(res.observation), float(res.reward[0]), terminated, truncated, info

    def _info(self, res, position: int, item: int, refused: bool) -> dict:
        k = int(res.kind[0])
        return {"kind": KINDS[k], "kind_code": k, "expected_reward": float(res.expected_reward_chosen[0]),
                "best_expected_reward": float(res.best_expected_reward[0]), "regret": float(res.regret[0]),
                "position": position, "item": item, "user_id": int(res.user_ids[0]),
                "population_index": int(res.observation.population_index[0]),
                "action_mask": info_mask(res.observation.mask[0], self.slate_size), "disallowed": refused}

    def _refused(self, a: np.ndarray, bad: np.ndarray):
        """A disallowed item was shown: the world refuses the step (the ``block`` reward as a
        penalty, nothing drawn or changed: :mod:`banditsim.envs.action_masks`)."""
        res = self.world.step(a, active=np.zeros(1, dtype=bool))
        pos, item = (int(v[0]) for v in first_disallowed(a, bad))
        self._last = res.observation
        info = self._info(res, pos, item, True)
        penalty = float(res.reward[0])
        self._render_line = f"user {info['user_id']} item {info['item']} → disallowed (blocked earlier), no change"
        if self._picture is not None:
            from banditsim.envs.render_session import Shown

            self._picture.record(Shown(int(res.observation.session_step[0]), tuple(int(i) for i in a.reshape(-1)),
                                       pos, BLOCK, penalty))
            if self.render_mode == "human":
                self.render()
        return self._obs(res.observation), penalty, False, False, info

    def _before_step(self) -> dict:
        o = self._last
        return {"user_id": int(o.user_ids[0]), "taste": self.world.theta()[0], "mask": o.mask[0].copy(),
                "session_step": int(o.session_step[0]), "patience": int(o.patience[0])}

    def _after_step(self, a: np.ndarray, res, before: dict, ended: bool) -> None:
        """Record the step for the picture; an ended session is drawn as it ended (the world has
        already seated the next session's person)."""
        from banditsim.envs.render_session import Shown

        k, pos = int(res.kind[0]), int(res.position[0])
        self._picture.record(Shown(before["session_step"], tuple(int(i) for i in a.reshape(-1)), pos, k,
                                   float(res.reward[0])))
        if ended:
            mask = before["mask"]
            if pos >= 0 and k == BLOCK:
                mask[int(res.item[0])] = False
            self._view = {**before, "mask": mask, "session_step": before["session_step"] + 1,
                          "patience": before["patience"] - int(pos >= 0 and k < NEUTRAL), "ended": True}
        else:
            self._view = None
        if self.render_mode == "human":
            self.render()

    def render(self):
        """``ansi``: the last step as one line; ``rgb_array``: the session picture; ``human``: shows it."""
        if self.render_mode == "ansi":
            return getattr(self, "_render_line", "")
        if self._picture is None or self._last is None:
            return None
        self._follow_catalog()
        v = self._view
        if v is None:
            o = self._last
            v = {"user_id": int(o.user_ids[0]), "taste": self.world.theta()[0], "mask": o.mask[0],
                 "session_step": int(o.session_step[0]), "patience": int(o.patience[0])}
        self._picture.follow_catalog(self.world.item_vectors)
        frame = self._picture.frame(user_id=v["user_id"], taste=v["taste"], blocked=np.flatnonzero(~v["mask"]),
                                    session_step=v["session_step"], patience=v["patience"])
        if self.render_mode == "human":
            self._picture.show(frame, self.metadata["render_fps"])
            return None
        return frame

    def close(self):
        if self._picture is not None:
            self._picture.close()
        super().close()


class SlateEnv(RecommendEnv):
    """One user, a slate of ``slate_size`` items per step under the cascade choice model.

    >>> from banditsim.envs.clusters import cluster_population
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> env = SlateEnv(item_vectors=x, population=cluster_population(x, 10, n_clusters=3), slate_size=3)
    >>> _ = env.reset(seed=0); _, r, *_ , info = env.step(np.array([0, 1, 2]))
    >>> info["position"] in (-1, 0, 1, 2)
    True
    """

    def __init__(self, item_vectors=None, population=None, config: WorldConfig | None = None,
                 max_steps: int = 100, slate_size: int = 5, render_mode: str | None = None, *, catalog=None,
                 n_users: int | None = None):
        if int(slate_size) < 1:
            raise ActionError(f"slate size must be ≥ 1, got {slate_size}")
        self.slate_size = int(slate_size)
        super().__init__(item_vectors, population, config, max_steps, render_mode, catalog=catalog, n_users=n_users)

    def _action_space(self, n: int):
        return spaces.MultiDiscrete(np.full(self.slate_size, n))

    def _to_world_action(self, action):
        a = np.asarray(action)
        if a.shape != (self.slate_size,):
            raise ActionError(f"slate must have shape ({self.slate_size},), got {a.shape}")
        return a.reshape(1, -1)
