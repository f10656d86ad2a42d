"""The batched world: B users answer recommendations at once (numpy or torch).

Each of the B *slots* holds one person (a copy of a population user with their own
state). ``step`` takes one item per slot, shape (B,), or one slate per slot, shape (B, k),
and returns a :class:`StepResult` whose arrays are numpy on every backend. Sessions that
end are restarted in place (same person returning, or a fresh person), so the batch
always stays full. All randomness comes from one ``numpy.random.Generator`` seeded by
``seed``; draws per step are fixed in number and order, so the numpy and torch backends
give the same numbers.

Per step, in order: (1) the exact expected reward of the chosen action and of the best
action are computed from the current state; (2) feedback is drawn; (3) state updates:
fatigue recovers one step then the shown (examined) items add fatigue, blocks, drift,
patience; (4) ended sessions return or churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.backend import Backend
from envs.dynamics import FatigueState, near_duplicates
from envs.feedback import expected_reward, kind_probabilities, sample_kinds
from envs.feedback_kinds import BLOCK, KINDS, NEUTRAL, is_monotone, reward_vector
from envs.population import Population, check_item_vectors
from envs.slate_choice import slate_value
from envs.world_config import WorldConfig
from envs.world_errors import ActionError, ItemVectorError, WorldConfigError

_EPS = 1e-12


@dataclass(frozen=True)
class Observation:
    """What the world shows about the B current users (numpy arrays).

    ``user_ids`` (B,) int64 person ids (unique per person, kept when a person returns);
    ``population_index`` (B,) row of the population user each person was drawn from;
    ``features`` (B, d_u) float32 visible features; ``mask`` (B, n_items) bool allowed items
    (False = blocked; a read-only view, valid until the next step); ``session_step`` (B,)
    steps taken in the current session; ``patience`` (B,) patience left.
    """

    user_ids: np.ndarray
    population_index: np.ndarray
    features: np.ndarray
    mask: np.ndarray
    session_step: np.ndarray
    patience: np.ndarray


@dataclass(frozen=True)
class StepResult:
    """Outcome of one world step (numpy arrays, one entry per slot).

    ``user_ids`` who answered; ``kind`` (B,) int feedback code (:data:`envs.feedback_kinds.KINDS`);
    ``reward`` (B,) from the reward map; ``position`` (B,) slate position that responded
    (−1: none; always 0 for single items); ``item`` (B,) item that responded (−1: none);
    ``expected_reward_chosen`` (B,) exact expected reward of the action taken;
    ``best_expected_reward`` (B,) exact best single item, or for slates the greedy slate
    (see :meth:`World.best_slates`); ``terminated`` (B,) session ended by patience;
    ``truncated`` (B,) session hit ``session_length``; ``returned``/``churned`` (B,) what
    happened to ended sessions; ``observation`` the next observation.
    """

    user_ids: np.ndarray
    kind: np.ndarray
    reward: np.ndarray
    position: np.ndarray
    item: np.ndarray
    expected_reward_chosen: np.ndarray
    best_expected_reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    returned: np.ndarray
    churned: np.ndarray
    observation: Observation

    @property
    def kind_names(self) -> list[str]:
        """Kind names per slot."""
        return [KINDS[k] for k in self.kind]

    @property
    def regret(self) -> np.ndarray:
        """Exact per-slot regret of this step."""
        return self.best_expected_reward - self.expected_reward_chosen


class World:
    """B simulated users stepping at once over a catalog of item vectors.

    Examples
    --------
    >>> from envs.clusters import cluster_population
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
        self._rng = np.random.default_rng(seed)
        self._next_person = 0
        self._t = 0
        self._set_items(x, population.item_bias_for(x.shape[0]))
        self._started = False
        self.n_full_scans = 0  # rows scanned in full to find the best item (diagnostics)

    # ------------------------------------------------------------------ items
    def _set_items(self, x: np.ndarray, item_bias: np.ndarray) -> None:
        be, pop = self.be, self.population
        self._x_np = x
        gram = x @ x.T
        self._x = be.asarray(x, "float32")
        self._gram = be.asarray(gram, "float32")
        self._ib = be.asarray(item_bias, "float32")
        self._rw = be.asarray(self.rewards, "float32")
        self._nbr = near_duplicates(gram, self.config.fatigue)
        # per population user: taste cosines and the top candidates by base utility
        s0 = pop.theta @ x.T
        self._s0 = be.asarray(s0, "float32")
        base0 = be.asarray(pop.taste_scale[:, None] * s0 + item_bias[None, :], "float32")
        self._k = min(int(self.config.candidates), x.shape[0])
        self._top0, self._topb0, self._ub0 = self._candidates(base0)
        self._bmax, self._bmin = float(item_bias.max()), float(item_bias.min())
        p = pop
        self._pk = be.asarray(p.taste_scale, "float32")
        self._pbu = be.asarray(p.user_bias, "float32")
        self._ptemp = be.asarray(p.temperature, "float32")
        self._pcuts = self.config.feedback.cut_points(be.asarray(p.tau_neg, "float32"),
                                                      be.asarray(p.tau_pos, "float32"), self._ptemp)
        self._ptheta = be.asarray(p.theta, "float32")

    def _candidates(self, base):
        """Top-K items of each row of ``base``, their base values, and a bound on the others."""
        be = self.be
        top = be.topk_indices(base, self._k)
        rr = be.arange(base.shape[0])[:, None]
        topb = be.gather(base, rr, top)
        ub = be.min(topb, 1) if self._k < base.shape[1] else be.zeros(base.shape[0], "float32") - np.inf
        return top, topb, ub

    @property
    def n_items(self) -> int:
        return self._x_np.shape[0]

    @property
    def item_vectors(self) -> np.ndarray:
        """The (n_items, d) unit item vectors (numpy)."""
        return self._x_np

    @property
    def t(self) -> int:
        """Steps taken since the last reset."""
        return self._t

    def add_items(self, vectors, item_bias=None) -> np.ndarray:
        """Add items mid-run (cold start); returns their new indices. Masks and states extend.

        New items are allowed for everyone, carry no fatigue, and have item bias ``item_bias``
        (default 0).
        """
        new = check_item_vectors(vectors, name="new item vectors")
        if new.shape[1] != self._x_np.shape[1]:
            raise ItemVectorError(f"new item vectors have dim {new.shape[1]}, expected {self._x_np.shape[1]}")
        m = new.shape[0]
        nb = np.zeros(m) if item_bias is None else np.asarray(item_bias, dtype=np.float64).reshape(-1)
        if nb.shape != (m,) or not np.isfinite(nb).all():
            raise ItemVectorError(f"item_bias must be {m} finite numbers")
        old_n = self.n_items
        ib = np.r_[self.be.to_numpy(self._ib).astype(np.float64), nb]
        self._set_items(np.r_[self._x_np, new], ib)
        if self._started:
            be = self.be
            self._s = be.cat([self._s, self._theta @ be.asarray(new, "float32").T], axis=1)
            self._allowed = be.cat([self._allowed, be.ones((self.n_users, m), "bool")], axis=1)
            self._fat.add_items(m)
            self._fat.set_neighbors(*self._nbr)
            self._refresh(np.arange(self.n_users))
        return np.arange(old_n, old_n + m)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None) -> Observation:
        """Start over with B fresh people (re-seeding the generator when ``seed`` is given)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        be, b = self.be, self.n_users
        self._t = 0
        self._next_person = 0
        self._tmpl = np.zeros(b, dtype=np.int64)
        self._pid = np.zeros(b, dtype=np.int64)
        self._patience = np.zeros(b, dtype=np.int64)
        self._sstep = np.zeros(b, dtype=np.int64)
        self._theta = be.zeros((b, self.population.dim), "float32")
        self._s = be.zeros((b, self.n_items), "float32")
        self._allowed = be.ones((b, self.n_items), "bool")
        self._top = be.copy(self._top0[:1].repeat(b, 1)) if be.name == "torch" else np.repeat(self._top0[:1], b, 0)
        self._topb = be.copy(self._topb0[:1].repeat(b, 1)) if be.name == "torch" else np.repeat(self._topb0[:1], b, 0)
        self._topa = be.ones(tuple(self._top.shape), "bool")
        self._ub = be.zeros(b, "float32")
        self._kappa = be.zeros(b, "float32")
        self._bu = be.zeros(b, "float32")
        self._temp = be.ones(b, "float32")
        self._cuts = be.zeros((b, 6), "float32")
        self._fat = FatigueState(be, b, self.n_items, self.config.fatigue, *self._nbr)
        self._spawn(np.arange(b))
        self._started = True
        return self._observation()

    def _spawn(self, rows: np.ndarray) -> None:
        """Fresh people from the population in ``rows``."""
        if len(rows) == 0:
            return
        be = self.be
        tm = self._rng.integers(self.population.n_users, size=len(rows))
        self._tmpl[rows] = tm
        self._pid[rows] = self._next_person + np.arange(len(rows))
        self._next_person += len(rows)
        r, t = be.asarray(rows, "int64"), be.asarray(tm, "int64")
        self._theta[r] = self._ptheta[t]
        self._s[r] = self._s0[t]
        self._allowed[r] = True
        self._top[r] = self._top0[t]
        self._topb[r] = self._topb0[t]
        self._topa[r] = True
        self._ub[r] = self._ub0[t]
        self._kappa[r] = self._pk[t]
        self._bu[r] = self._pbu[t]
        self._temp[r] = self._ptemp[t]
        self._cuts[r] = self._pcuts[t]
        self._fat.reset_rows(r)
        self._new_session(rows)

    def _new_session(self, rows: np.ndarray) -> None:
        self._patience[rows] = int(self.config.patience.initial)
        self._sstep[rows] = 0

    def _observation(self) -> Observation:
        mask = self.be.to_numpy(self._allowed)
        if self.be.name == "numpy":
            mask = mask.view()
            mask.flags.writeable = False
        return Observation(user_ids=self._pid.copy(), population_index=self._tmpl.copy(),
                           features=self.population.features[self._tmpl], mask=mask,
                           session_step=self._sstep.copy(), patience=self._patience.copy())

    def _require_started(self) -> None:
        if not self._started:
            raise WorldConfigError("call reset() before step() or expected_rewards()")

    # ------------------------------------------------------------------ utilities
    def _fatigue_penalty(self, rows, cols):
        cfg = self.config.fatigue
        if not cfg.enabled or cfg.strength == 0:
            return 0.0
        return cfg.strength * self._temp[rows] * self._fat.values(rows, cols)

    def _utility(self, rows, cols):
        """Utility now for (rows, cols) index arrays of the same shape."""
        u = self._kappa[rows] * self.be.gather(self._s, rows, cols) + self._bu[rows] + self._ib[cols]
        return u - self._fatigue_penalty(rows, cols)

    def _base_rows(self, rows):
        return self._kappa[rows][:, None] * self._s[rows] + self._ib[None, :]

    def _utility_rows(self, rows):
        u = self._base_rows(rows) + self._bu[rows][:, None]
        cfg = self.config.fatigue
        if cfg.enabled and cfg.strength:
            u = u - cfg.strength * self._temp[rows][:, None] * self._fat.rows_dense(rows)
        return u

    def expected_rewards(self) -> np.ndarray:
        """(B, n_items) exact expected reward of each item for each current user, now."""
        self._require_started()
        rows = self.be.arange(self.n_users)
        u = self._utility_rows(rows)
        e = expected_reward(u, self._cuts[:, None, :].expand(-1, u.shape[1], -1) if self.be.name == "torch"
                            else np.broadcast_to(self._cuts[:, None, :], u.shape + (6,)),
                            self._temp[:, None] + 0 * u, self._rw)
        e = self.be.where(self._allowed, e, float(self.rewards[BLOCK]))
        return self.be.to_numpy(e).astype(np.float64)

    def _exp_reward(self, u, rows):
        return expected_reward(u, self._cuts[rows], self._temp[rows], self._rw)

    def _refresh(self, rows_np: np.ndarray) -> None:
        """Recompute candidate lists of ``rows`` from their full rows."""
        be = self.be
        r = be.asarray(rows_np, "int64")
        top, topb, ub = self._candidates(self._base_rows(r))
        self._top[r], self._topb[r], self._ub[r] = top, topb, ub
        self._topa[r] = be.gather(self._allowed, r[:, None], top)

    def _best_candidates(self, n_best: int):
        """(B, n_best) indices of the highest-utility allowed items (exact) and their utilities.

        Candidates are each row's top-K base utilities (κ·θ·x + b_i); every other item's base
        utility is at most the row's bound ``_ub`` (kept valid under drift), and fatigue only
        lowers utility, so the candidates' best is exact when it reaches the bound. Rows
        where it does not are scanned in full and their candidates refreshed.
        """
        be, b = self.be, self.n_users
        rows = be.arange(b)
        r2 = rows[:, None]
        cand = self._top
        util_c = self._topb + self._bu[:, None]
        cfg = self.config.fatigue
        if cfg.enabled and cfg.strength:
            util_c = util_c - cfg.strength * self._temp[:, None] * self._fat.values(r2, cand)
        util_c = be.where(self._topa, util_c, -np.inf)
        k = min(n_best, cand.shape[1])
        if k == 1:
            top = be.argmax(util_c, 1)[:, None]
        else:
            top = be.topk_indices(util_c, k)
        u_top = be.gather(util_c, r2, top)
        kth = be.min(u_top, 1)
        exact = be.to_numpy(kth >= self._ub + self._bu)
        items = be.gather(cand, r2, top)
        bad = np.flatnonzero(~exact)
        if len(bad):
            rb = be.asarray(bad, "int64")
            ur = be.where(self._allowed[rb], self._utility_rows(rb), -np.inf)
            tb = be.argmax(ur, 1)[:, None] if k == 1 else be.topk_indices(ur, k)
            items[rb] = tb
            u_top[rb] = be.gather(ur, be.arange(len(bad))[:, None], tb)
            self._refresh(bad)
            self.n_full_scans += len(bad)
        return items, u_top

    def best_items(self) -> tuple[np.ndarray, np.ndarray]:
        """(best item, its exact expected reward) per slot, over allowed items."""
        self._require_started()
        be = self.be
        if not self._monotone:
            e = self.expected_rewards()
            e = np.where(be.to_numpy(self._allowed), e, -np.inf)
            j = e.argmax(1)
            return j, np.max(e, 1)
        items, u = self._best_candidates(1)
        rows = be.arange(self.n_users)
        val = self._exp_reward(u[:, 0], rows)
        return be.to_numpy(items[:, 0]), be.to_numpy(val).astype(np.float64)

    def best_slates(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Greedy best slates (B, k) and their exact expected rewards.

        The k allowed items of highest single-item expected reward, ordered best-first. For
        k = 1 this is the exact best slate; for k > 1 an achievable slate (a lower bound of
        the best slate's value, exact when examination is 1 everywhere and rewards are
        monotone, since ordering by reward-given-response is then optimal for that set).
        """
        self._require_started()
        self._check_slate_size(k)
        be = self.be
        if self._monotone:
            items, u = self._best_candidates(k)
            order = np.argsort(-be.to_numpy(u), axis=1, kind="stable")
            items = be.to_numpy(items)
            slates = np.take_along_axis(items, order, 1)
        else:
            e = np.where(be.to_numpy(self._allowed), self.expected_rewards(), -np.inf)
            slates = np.argsort(-e, axis=1, kind="stable")[:, :k]
        return slates, self.slate_expected_rewards(slates)

    def slate_expected_rewards(self, slates) -> np.ndarray:
        """(B,) exact expected reward of the given (B, k) slates under the cascade model."""
        self._require_started()
        a = self._check_actions(slates, slate=True)
        be = self.be
        ab = be.asarray(a, "int64")
        r2 = be.arange(self.n_users)[:, None]
        u = self._utility(r2 + 0 * ab, ab)
        probs = kind_probabilities(u, self._cuts[:, None, :] + 0 * u[..., None], self._temp[:, None] + 0 * u)
        blocked = ~be.gather(self._allowed, r2, ab)
        onehot = be.zeros(7, "float32")
        onehot[BLOCK] = 1.0
        probs = be.where(blocked[..., None], onehot + 0 * probs, probs)
        exam = be.asarray(self.config.cascade.examination_probs(a.shape[1]), "float32")
        return be.to_numpy(slate_value(probs, exam, self._rw)).astype(np.float64)

    # ------------------------------------------------------------------ validation
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

    # ------------------------------------------------------------------ step
    def step(self, actions) -> StepResult:
        """Show one item (B,) or one slate (B, k) to each slot; see the module docstring.

        A slate may repeat an item; each copy is examined and answered independently.
        """
        self._require_started()
        a = self._check_actions(actions)
        be, b, cfg = self.be, self.n_users, self.config
        rows_np = np.arange(b)
        rows = be.arange(b)
        ab = be.asarray(a, "int64")
        r_block = float(self.rewards[BLOCK])
        if a.ndim == 1:
            _, best = self.best_items()
            util = self._utility(rows, ab)
            blocked = ~be.gather(self._allowed, rows, ab)
            e_chosen = be.where(blocked, r_block, self._exp_reward(util, rows))
            unif = be.asarray(self._uniform(b), "float32")
            kinds = sample_kinds(util, self._cuts, self._temp, unif)
            kinds = be.to_numpy(be.where(blocked, BLOCK, kinds)).astype(np.int64)
            position = np.zeros(b, dtype=np.int64)
            item = a.copy()
            exp_rows, exp_items = rows, ab
            accumulate = False
        else:
            k = a.shape[1]
            _, best = self.best_slates(k)
            e_chosen = self.slate_expected_rewards(a)
            r2 = rows[:, None] + 0 * ab
            util = self._utility(r2, ab)
            blocked = ~be.gather(self._allowed, r2, ab)
            unif = be.asarray(self._uniform((b, k)), "float32")
            exam_u = self._rng.random((b, k))
            kall = sample_kinds(util, self._cuts[:, None, :] + 0 * util[..., None], self._temp[:, None] + 0 * util, unif)
            kall = be.to_numpy(be.where(blocked, BLOCK, kall)).astype(np.int64)
            exam = exam_u < cfg.cascade.examination_probs(k)[None, :]
            resp = exam & (kall != NEUTRAL)
            has = resp.any(1)
            first = resp.argmax(1)
            position = np.where(has, first, -1)
            kinds = np.where(has, kall[rows_np, first], NEUTRAL)
            item = np.where(has, a[rows_np, first], -1)
            seen = exam & (~has[:, None] | (np.arange(k)[None, :] <= first[:, None]))
            er, ec = np.nonzero(seen)
            exp_rows, exp_items = be.asarray(er, "int64"), be.asarray(a[er, ec], "int64")
            accumulate = True
            e_chosen = be.asarray(e_chosen, "float64")
        reward = self.rewards[kinds]
        uid = self._pid.copy()
        # ---- state updates
        if cfg.fatigue.enabled:
            self._fat.tick()
            self._fat.expose(exp_rows, exp_items, accumulate)
        responded = item >= 0
        if cfg.blocking.enabled:
            bl = np.flatnonzero(responded & (kinds == BLOCK))
            if len(bl):
                rb, ib = be.asarray(bl, "int64"), be.asarray(item[bl], "int64")
                self._allowed[rb, ib] = False
                self._topa[rb] = self._topa[rb] & (self._top[rb] != ib[:, None])
        if cfg.drift.enabled and cfg.drift.rate > 0:
            dr = np.flatnonzero(responded & (kinds > NEUTRAL))
            if len(dr):
                self._drift(dr, item[dr])
        negative = responded & (kinds < NEUTRAL)
        if cfg.patience.enabled:
            self._patience -= negative
        self._sstep += 1
        terminated = (self._patience <= 0) if cfg.patience.enabled else np.zeros(b, dtype=bool)
        truncated = ~terminated & ((self._sstep >= cfg.session_length) if cfg.session_length else False)
        truncated = np.asarray(truncated, dtype=bool) & np.ones(b, dtype=bool)
        ended = terminated | truncated
        ret_u = self._rng.random(b)
        returned = ended & (ret_u < cfg.returns.p_return)
        churned = ended & ~returned
        ret_rows = np.flatnonzero(returned)
        if len(ret_rows):
            if cfg.fatigue.enabled:
                self._fat.recover_rows(be.asarray(ret_rows, "int64"), cfg.returns.gap)
            self._new_session(ret_rows)
        self._spawn(np.flatnonzero(churned))
        self._t += 1
        return StepResult(user_ids=uid, kind=kinds, reward=reward, position=position, item=item,
                          expected_reward_chosen=be.to_numpy(e_chosen).astype(np.float64),
                          best_expected_reward=np.asarray(best, dtype=np.float64),
                          terminated=terminated, truncated=truncated, returned=returned, churned=churned,
                          observation=self._observation())

    def _uniform(self, shape):
        return np.clip(self._rng.random(shape), _EPS, 1 - _EPS)

    def _drift(self, rows_np: np.ndarray, items_np: np.ndarray) -> None:
        """θ ← normalise(θ + rate·x_j); cosines updated from the item Gram row (O(n) per user)."""
        be, eta = self.be, float(self.config.drift.rate)
        r, j = be.asarray(rows_np, "int64"), be.asarray(items_np, "int64")
        s_rj = self._s[r, j]
        norm = be.sqrt(1.0 + 2.0 * eta * s_rj + eta * eta)
        rows_new = self._gram[j]
        rows_new *= eta
        rows_new += self._s[r]
        rows_new /= norm[:, None]
        self._s[r] = rows_new
        self._theta[r] = (self._theta[r] + eta * self._x[j]) / norm[:, None]
        # candidates keep their (new) values; the bound on the others grows by at most
        # b_i(1 − 1/norm) + κ·rate/norm (since θ·x ≤ bound and x_j·x_i ≤ 1)
        self._topb[r] = self._kappa[r][:, None] * be.gather(self._s, r[:, None], self._top[r]) + self._ib[self._top[r]]
        shrink = 1.0 - 1.0 / norm
        bext = be.where(shrink > 0, self._bmax + 0 * norm, self._bmin + 0 * norm)
        self._ub[r] = self._ub[r] / norm + bext * shrink + self._kappa[r] * eta / norm

    def theta(self) -> np.ndarray:
        """Current true tastes (B, d) — for evaluation and tests only, never for agents."""
        self._require_started()
        return self.be.to_numpy(self._theta).copy()
