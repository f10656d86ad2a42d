"""A Gymnasium vector env whose B sub-environments are the B slots of one batched World."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from banditsim.envs.action_masks import batched_info_mask, disallowed, first_disallowed, flat_masks
from banditsim.envs.catalog_spaces import FollowsCatalog
from banditsim.envs.default_world import world_parts
from banditsim.envs.feedback_kinds import KINDS
from banditsim.envs.recommend_env import world_observation_space
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import WorldConfigError


class BanditVectorEnv(FollowsCatalog, VectorEnv):
    """B users stepping at once (``num_envs`` = B) over :class:`~banditsim.envs.world.World`.

    Sessions that end are restarted inside the same step (``autoreset_mode`` SAME_STEP):
    the returned observation of an ended slot is already the next session's first one.
    ``slate_size=None`` gives single items; otherwise slates. ``infos`` holds arrays:
    ``kind_code``, ``expected_reward``, ``best_expected_reward``, ``regret`` (exact, per slot),
    ``position``, ``item``, ``user_id``, ``population_index``, ``returned``, ``churned``, ``disallowed`` (bool), ``action_mask``
    (int8 (B, n_items), or (B, slate_size, n_items) for slates). ``action_masks()`` gives the batched
    bool masks in sb3-contrib's layout ((B, n_items), or (B, slate_size·n_items)). A slot shown a
    disallowed (blocked) item is refused as in the single envs (the ``block`` penalty, nothing about
    it changes, the step does not count towards ``max_steps``) while the other slots step, in one
    batched world step: the rule and its random numbers are in :mod:`banditsim.envs.action_masks`. Malformed
    actions raise :class:`~banditsim.envs.world_errors.ActionError`. No render modes: render one slot with
    ``banditsim/Recommend-v0``. ``catalog``, ``population`` and ``n_users`` as for the single envs
    (:func:`banditsim.envs.default_world.world_parts`): ``n_users`` is the pool of distinct people the
    ``num_envs`` slots draw their sessions from.

    >>> from banditsim.envs.clusters import cluster_population
    >>> x = np.random.default_rng(0).normal(size=(30, 8))
    >>> venv = BanditVectorEnv(4, item_vectors=x, population=cluster_population(x, 10, n_clusters=3))
    >>> obs, _ = venv.reset(seed=0)
    >>> obs["mask"].shape, venv.step(np.zeros(4, dtype=int))[1].shape
    ((4, 30), (4,))
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, item_vectors=None, population=None, config: WorldConfig | None = None,
                 max_steps: int = 100, slate_size: int | None = None, *, catalog=None, n_users: int | None = None):
        if int(max_steps) < 1:
            raise WorldConfigError(f"max_steps must be ≥ 1, got {max_steps}")
        x, pop = world_parts(item_vectors, population, catalog=catalog, n_users=n_users)
        cfg = replace(config or WorldConfig(), session_length=int(max_steps))
        self.world = World(x, pop, n_users=int(num_envs), config=cfg, seed=None)
        self.num_envs = int(num_envs)
        self.slate_size = None if slate_size is None else int(slate_size)
        if slate_size is not None:
            self.world._check_slate_size(int(slate_size))
        self._follow_catalog()  # the spaces follow world.n_items (banditsim.envs.catalog_spaces)
        self._started = False
        self._mask = None

    single_action_space = property(lambda self: self._space("single_action_space"))
    single_observation_space = property(lambda self: self._space("single_observation_space"))

    def _build_spaces(self, n: int) -> dict:
        single = spaces.Discrete(n) if self.slate_size is None else spaces.MultiDiscrete(np.full(self.slate_size, n))
        obs = world_observation_space(self.world, n)
        return {"single_action_space": single, "single_observation_space": obs,
                "action_space": batch_space(single, self.num_envs), "observation_space": batch_space(obs, self.num_envs)}

    def _catalog_grew(self) -> None:
        if self._started:  # the grown masks: the new items are allowed
            self._mask = self.world._observation().mask

    def _obs(self, o) -> dict:
        return {"user": o.features.astype(np.float32), "mask": o.mask.astype(np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        s = seed if seed is not None else int(self.np_random.integers(2**63 - 1))
        o = self.world.reset(seed=s)
        self._started = True
        self._mask = o.mask
        return self._obs(o), {"user_id": o.user_ids, "population_index": o.population_index, "action_mask": batched_info_mask(o.mask, self.slate_size)}

    def action_masks(self) -> np.ndarray:
        """Allowed actions per slot as bool, in sb3-contrib's layout (see the class docstring)."""
        if not self._started:
            raise WorldConfigError("call reset() before action_masks()")
        self._follow_catalog()
        return flat_masks(self._mask, self.slate_size)

    def step(self, actions):
        if not self._started:
            raise WorldConfigError("call reset() before step()")
        self._follow_catalog()
        acts = actions if hasattr(actions, "detach") else np.asarray(actions)
        bad = disallowed(acts, self._mask)  # None: malformed, the world says what is wrong
        refused = bad.any(1) if bad is not None else np.zeros(self.num_envs, dtype=bool)
        res = self.world.step(acts, active=~refused) if refused.any() else self.world.step(acts)
        self._mask = res.observation.mask
        position, item = res.position, res.item
        if refused.any():
            pos, first = first_disallowed(acts, bad)
            position, item = np.where(refused, pos, position), np.where(refused, first, item)
        info = {"kind_code": res.kind, "expected_reward": res.expected_reward_chosen,
                "best_expected_reward": res.best_expected_reward, "regret": res.regret, "position": position,
                "item": item, "user_id": res.user_ids, "population_index": res.observation.population_index,
                "returned": res.returned, "churned": res.churned,
                "disallowed": refused, "action_mask": batched_info_mask(res.observation.mask, self.slate_size)}
        return self._obs(res.observation), res.reward, res.terminated, res.truncated, info

    @staticmethod
    def kind_names(codes) -> list[str]:
        """Feedback kind names for an array of kind codes."""
        return [KINDS[int(c)] for c in codes]
