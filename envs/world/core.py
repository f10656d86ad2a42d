"""The World: construction, added items, action checks, and ``step`` dispatched to its two paths.

The state and the work are split by what they are (:mod:`banditsim.envs.world` lists the parts); ``World``
brings the parts' methods together over one set of per-slot arrays, and ``step`` runs a single-item
or a slate path (:mod:`banditsim.envs.world.single_path`, :mod:`banditsim.envs.world.slate_path`) and then the shared
state updates (:mod:`banditsim.envs.world.answer_effects`, :mod:`banditsim.envs.world.sessions`).
"""

from __future__ import annotations

import numpy as np

from banditsim._blas_threads import one_blas_thread
from banditsim.envs.backend import Backend
from banditsim.envs.feedback_kinds import BLOCK, is_monotone, reward_vector
from banditsim.envs.population import Population, check_item_vectors, taste_span
from banditsim.envs.taste_trend import TasteTrend
from banditsim.envs.user_history import UserHistory
from banditsim.envs.world.answer_effects import AnswerEffects
from banditsim.envs.world.cosines import Cosines
from banditsim.envs.world.drift_update import DriftUpdate
from banditsim.envs.world.gram_cache import GramCache
from banditsim.envs.world.item_tables import ItemTables
from banditsim.envs.world.oracle import ExactBest
from banditsim.envs.world.refused_rows import all_refused, idle_rows, refuse_outputs
from banditsim.envs.world.results import StepResult
from banditsim.envs.world.sessions import SessionSlots
from banditsim.envs.world.sharing import deepcopy_sharing
from banditsim.envs.world.single_path import SinglePath
from banditsim.envs.world.slate_path import SlatePath
from banditsim.envs.world.utility import Utilities
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError, ItemVectorError, WorldConfigError


class World(SessionSlots, Cosines, Utilities, ExactBest, SinglePath, SlatePath, AnswerEffects,
            DriftUpdate):
    """B simulated users stepping at once over a catalog of item vectors.

    Examples
    --------
    >>> from banditsim.envs.clusters import cluster_population
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 16))
    >>> w = World(x, cluster_population(x, 20, n_clusters=4, seed=0), n_users=3, seed=7)
    >>> obs = w.reset()
    >>> obs.features.shape, obs.mask.shape
    ((3, 16), (3, 40))
    >>> res = w.step(np.array([0, 1, 2]))
    >>> res.kind.shape, bool((res.best_expected_reward >= res.expected_reward_chosen - 1e-9).all())
    ((3,), True)
    >>> w.expected_rewards().shape
    (3, 40)
    """

    def __deepcopy__(self, memo):
        """A deep copy that shares the read-only item tables (:class:`ItemTables`, the catalog's
        vectors and the Gram cache's items): copying a World over 100,000 items and 2,000 people
        costs its per-user state, not its 2.6 GiB of tables. ``add_items`` rebinds them."""
        return deepcopy_sharing(self, memo, self._tables, self._catalog_vectors)

    def _set_items(self, x: np.ndarray, item_bias: np.ndarray) -> None:
        """Build the item tables and the Gram cache for item positions ``x`` and biases ``item_bias``."""
        be = self.be
        # every product here feeds the world's numbers: one BLAS thread, so that they do not
        # depend on the process's thread count (OpenBLAS splits the work, and the rounding, by it)
        with one_blas_thread():
            tables = ItemTables(be, self.config, self.population, self._basis, self._centre, x, item_bias)
            first = tables.pop_candidates[0]
            self._gram_cache = GramCache(be, tables.items_np, self._drift_rate, be.to_numpy(first))
            tables.pop_candidates += (self._gram_cache.columns(first),)
        if be.name == "numpy":  # shared by copies: read-only, so that a write raises
            tables.freeze()
            self._catalog_vectors.flags.writeable = False
        self._tables = tables

    def __init__(self, item_vectors, population: Population, *, n_users: int = 1,
                 config: WorldConfig | None = None, seed: int | None = None):
        self.config = config if config is not None else WorldConfig()
        if not isinstance(population, Population):
            raise WorldConfigError(f"population must be an envs.population.Population, got {type(population).__name__}")
        x = check_item_vectors(item_vectors)
        if x.shape[1] != population.dim:
            raise ItemVectorError(f"item vectors have dim {x.shape[1]} but user tastes have dim {population.dim}")
        if int(n_users) < 1:
            raise WorldConfigError(f"n_users must be ≥ 1, got {n_users}")
        self.population = population
        self.n_users = int(n_users)
        self.seed = seed
        self.rewards = reward_vector(self.config.reward_map)
        self._monotone = is_monotone(self.rewards)
        self.be = Backend(self.config.backend, self.config.device)
        cfg = self.config
        self._fatigue_on = bool(cfg.fatigue.enabled and cfg.fatigue.strength)
        self._fatigue_strength = float(cfg.fatigue.strength)
        self._pull_on = bool(cfg.drift.enabled and cfg.drift.rate > 0)  # answers pull θ (endogenous)
        self._trend = (TasteTrend(cfg.drift.trend_rate, cfg.drift.trend_period, seed)
                       if cfg.drift.enabled and cfg.drift.trend_rate > 0 else None)  # banditsim.envs.taste_trend
        self._drift_on = self._pull_on or self._trend is not None  # some θ can move
        self._drift_rate = float(cfg.drift.rate)
        # Drift(basis="tastes"): tastes and items in coordinates of the tastes' span (d, r)
        with one_blas_thread():
            self._basis = taste_span(population.theta) if cfg.drift.basis == "tastes" else None
        self._all_rows_np = np.arange(self.n_users)
        self._all_rows = self.be.arange(self.n_users)
        self._rng = np.random.default_rng(seed)
        self._next_person = 0
        self._steps_taken = 0
        # the catalog's vectors (what agents see); the world scores the population's positions
        self._catalog_vectors = x
        self._history = UserHistory(x, self.config.history_k, self.config.history_dim)  # banditsim.envs.user_history
        pos = population.positions_for(x)
        # the catalog's centre c: the mean of the item positions the world scores, fixed at construction
        # (add_items keeps it). Drift keeps each taste's component along c (see Drift)
        self._centre = np.asarray(pos, dtype=np.float64).mean(0)
        self._set_items(pos, population.item_bias_for(x.shape[0]))
        self._started = False
        self.n_full_scans = 0  # rows scanned in full to find the best item (diagnostics)

    @property
    def n_items(self) -> int:
        return self._tables.positions_np.shape[0]

    @property
    def item_vectors(self) -> np.ndarray:
        """The catalog's (n_items, d) unit item vectors (numpy): what agents see. The world places the
        items there, or at the population's ``item_positions`` when it has them (fitted offsets)."""
        return self._catalog_vectors

    @property
    def t(self) -> int:
        """Steps taken since the last reset."""
        return self._steps_taken

    def add_items(self, vectors, item_bias=None) -> np.ndarray:
        """Add items mid-run (cold start); returns their new indices. Masks and states extend.

        New items are allowed for everyone, carry no fatigue, and have item bias ``item_bias``
        (default 0).
        """
        new = check_item_vectors(vectors, name="new item vectors")
        if new.shape[1] != self._tables.positions_np.shape[1]:
            raise ItemVectorError(f"new item vectors have dim {new.shape[1]}, "
                                  f"expected {self._tables.positions_np.shape[1]}")
        m = new.shape[0]
        nb = np.zeros(m) if item_bias is None else np.asarray(item_bias, dtype=np.float64).reshape(-1)
        if nb.shape != (m,) or not np.isfinite(nb).all():
            raise ItemVectorError(f"item_bias must be {m} finite numbers")
        old_n = self.n_items
        ib = np.r_[self.be.to_numpy(self._tables.item_bias).astype(np.float64), nb]
        self._catalog_vectors = np.r_[self._catalog_vectors, new]
        self._set_items(np.r_[self._tables.positions_np, self.population.positions_for(new, start=old_n)], ib)
        if self._started:
            be = self.be
            self._allowed = be.cat([self._allowed, be.ones((self.n_users, m), "bool")], axis=1)
            self._candidates.built_cosines = be.zeros((self.n_users, self.n_items), "float32")
            self._row_offsets = self._all_rows * self.n_items
            self._fatigue.add_items(m)
            self._fatigue.set_neighbors(*self._tables.neighbours)
            self._rebuild_candidates(self._all_rows_np)
        return np.arange(old_n, old_n + m)

    def _check_slate_size(self, k: int) -> None:
        if k > self.n_items:
            raise ActionError(f"slate size {k} is larger than the catalog ({self.n_items} items)")
        if k < 1:
            raise ActionError(f"slate size must be ≥ 1, got {k}")

    def _check_actions(self, actions, slate: bool | None = None) -> np.ndarray:
        a = actions.detach().cpu().numpy() if hasattr(actions, "detach") else np.asarray(actions)
        if a.ndim == 0 or a.shape[0] != self.n_users or a.ndim > 2:
            raise ActionError(f"actions must have shape ({self.n_users},) or ({self.n_users}, k), got {a.shape}")
        if slate and a.ndim == 1:
            raise ActionError(f"slates must have shape ({self.n_users}, k), got {a.shape}")
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
                a = a.astype(np.int64)
            else:
                raise ActionError(f"actions must be integer item indices, got dtype {a.dtype}")
        a = a.astype(np.int64)
        if a.ndim == 2:
            self._check_slate_size(a.shape[1])
        if a.size and (a.min() < 0 or a.max() >= self.n_items):
            bad = a[(a < 0) | (a >= self.n_items)].flat[0]
            raise ActionError(f"item index {bad} is out of range [0, {self.n_items})")
        return a

    def step(self, actions, *, active=None) -> StepResult:
        """Show one item (B,) or one slate (B, k) to each slot; see :mod:`banditsim.envs.world`.

        A slate may repeat an item; each copy is examined and answered independently.
        ``active`` ((B,) bool, default all True): rows where it is False are refused, shown
        nothing and left as they were; what they report and what is drawn: :mod:`banditsim.envs.world.refused_rows`.
        The whole step runs on one BLAS thread (:mod:`banditsim._blas_threads`): its products are small,
        and waking BLAS workers on a busy machine costs more than they save.
        """
        with one_blas_thread():
            return self._step(actions, active)

    def _step(self, actions, active) -> StepResult:
        self._require_started()
        a = self._check_actions(actions)
        idle = idle_rows(active, self.n_users)
        if idle is not None and len(idle) == self.n_users:
            return all_refused(self, a)
        be = self.be
        ab = be.asarray(a, "int64")
        ans = self._single_step(a, ab) if a.ndim == 1 else self._slate_step(a, ab)
        if idle is not None:
            refuse_outputs(idle, ans.kinds, ans.position, ans.item, ans.e_chosen, float(self.rewards[BLOCK]), be)
        e_chosen = be.to_numpy(ans.e_chosen).astype(np.float64)
        # the best action is worth at least the one taken: where the candidates' float32 ranking
        # missed the chosen item by a rounding (near-ties), the chosen value is the better bound
        # (for slates, also where the greedy slate is beaten: see best_slates)
        best = np.maximum(np.asarray(ans.best, dtype=np.float64), e_chosen)
        reward = self.rewards[ans.kinds]
        uid = self._person_id.copy()
        responded = ans.item >= 0
        exhausted = self._apply_answers(ans, ab, 1 if a.ndim == 1 else a.shape[1], responded, idle)
        terminated, truncated, returned, churned = self._end_sessions(
            ans.kinds, ans.item, responded, idle, exhausted, ans.return_uniforms)
        self._steps_taken += 1
        return StepResult(user_ids=uid, kind=ans.kinds, reward=reward, position=ans.position, item=ans.item,
                          expected_reward_chosen=e_chosen, best_expected_reward=best,
                          terminated=terminated, truncated=truncated, returned=returned, churned=churned,
                          observation=self._observation())

    def theta(self) -> np.ndarray:
        """Current true tastes (B, d) — for evaluation and tests only, never for agents."""
        self._require_started()
        th = self.be.to_numpy(self._tastes.get())
        if self._basis is not None:
            return (th.astype(np.float64) @ self._basis.T).astype(np.float32)
        return th.copy()
