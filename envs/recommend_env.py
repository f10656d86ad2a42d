"""Gymnasium environments over a one-user :class:`~envs.world.World`.

``banditsim/Recommend-v0`` shows one item per step (``Discrete(n_items)``);
``banditsim/Slate-v0`` shows ``slate_size`` items (``MultiDiscrete``).
Observation: ``{"user": visible user features (d_u,) float32, "mask": allowed items (n_items,) int8}``;
item features are fixed and available as ``env.unwrapped.item_vectors``.
An episode is one session: ``terminated`` when patience runs out, ``truncated`` after
``max_steps``. ``reset(seed=s)`` re-seeds a fresh world (``World(seed=s).reset()``
then gives the same numbers); ``reset()`` without a seed continues with the world's next
session (a returning person or a fresh one). ``info``: ``kind`` (name), ``kind_code``,
``expected_reward`` (of the action taken), ``best_expected_reward``, ``regret``,
``position``, ``item``, ``user_id``.
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.default_world import world_parts
from envs.feedback_kinds import KINDS
from envs.world import World
from envs.world_config import WorldConfig
from envs.world_errors import ActionError, WorldConfigError


class RecommendEnv(gym.Env):
    """One user, one recommended item per step.

    Examples
    --------
    >>> from envs.clusters import cluster_population
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> env = RecommendEnv(item_vectors=x, population=cluster_population(x, 10, n_clusters=3))
    >>> obs, info = env.reset(seed=1)
    >>> obs["mask"].shape, env.action_space
    ((30,), Discrete(30))
    >>> obs, r, term, trunc, info = env.step(0)
    >>> info["kind"] in ("block", "dislike", "skip", "neutral", "click", "like", "save")
    True
    """

    metadata = {"render_modes": ["ansi"]}
    slate_size: int | None = None

    def __init__(self, item_vectors=None, population=None, config: WorldConfig | None = None,
                 max_steps: int = 100, render_mode: str | None = None):
        if int(max_steps) < 1:
            raise WorldConfigError(f"max_steps must be ≥ 1, got {max_steps}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise WorldConfigError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        x, pop = world_parts(item_vectors, population)
        cfg = replace(config or WorldConfig(), session_length=int(max_steps))
        self.world = World(x, pop, n_users=1, config=cfg, seed=None)
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        n = self.world.n_items
        if self.slate_size is not None:
            self.world._check_slate_size(self.slate_size)
        self.observation_space = spaces.Dict({
            "user": spaces.Box(-np.inf, np.inf, shape=(pop.features.shape[1],), dtype=np.float32),
            "mask": spaces.MultiBinary(n),
        })
        self.action_space = self._action_space(n)
        self._last = None
        self._needs_seed = True

    @property
    def item_vectors(self) -> np.ndarray:
        return self.world.item_vectors

    def _action_space(self, n: int):
        return spaces.Discrete(n)

    def _obs(self, o) -> dict:
        return {"user": o.features[0].astype(np.float32), "mask": o.mask[0].astype(np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or self._needs_seed:
            s = seed if seed is not None else int(self.np_random.integers(2**63 - 1))
            o = self.world.reset(seed=s)
            self._needs_seed = False
        else:
            o = self._last if self._last is not None else self.world.reset()
        self._last = o
        return self._obs(o), {"user_id": int(o.user_ids[0])}

    def _to_world_action(self, action):
        a = np.asarray(action)
        if a.shape != ():
            raise ActionError(f"action must be one item index, got shape {a.shape}")
        return a.reshape(1)

    def step(self, action):
        if self._last is None:
            raise WorldConfigError("call reset() before step()")
        res = self.world.step(self._to_world_action(action))
        self._last = res.observation
        k = int(res.kind[0])
        info = {"kind": KINDS[k], "kind_code": k, "expected_reward": float(res.expected_reward_chosen[0]),
                "best_expected_reward": float(res.best_expected_reward[0]), "regret": float(res.regret[0]),
                "position": int(res.position[0]), "item": int(res.item[0]), "user_id": int(res.user_ids[0])}
        self._render_line = f"user {info['user_id']} item {info['item']} → {info['kind']}"
        return (self._obs(res.observation), float(res.reward[0]), bool(res.terminated[0]),
                bool(res.truncated[0]), info)

    def render(self):
        if self.render_mode == "ansi":
            return getattr(self, "_render_line", "")
        return None


class SlateEnv(RecommendEnv):
    """One user, a slate of ``slate_size`` items per step under the cascade choice model.

    >>> from envs.clusters import cluster_population
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> env = SlateEnv(item_vectors=x, population=cluster_population(x, 10, n_clusters=3), slate_size=3)
    >>> _ = env.reset(seed=0); _, r, *_ , info = env.step(np.array([0, 1, 2]))
    >>> info["position"] in (-1, 0, 1, 2)
    True
    """

    def __init__(self, item_vectors=None, population=None, config: WorldConfig | None = None,
                 max_steps: int = 100, slate_size: int = 5, render_mode: str | None = None):
        if int(slate_size) < 1:
            raise ActionError(f"slate size must be ≥ 1, got {slate_size}")
        self.slate_size = int(slate_size)
        super().__init__(item_vectors, population, config, max_steps, render_mode)

    def _action_space(self, n: int):
        return spaces.MultiDiscrete(np.full(self.slate_size, n))

    def _to_world_action(self, action):
        a = np.asarray(action)
        if a.shape != (self.slate_size,):
            raise ActionError(f"slate must have shape ({self.slate_size},), got {a.shape}")
        return a.reshape(1, -1)
