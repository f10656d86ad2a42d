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
_N_DIRS = 4  # principal directions used by the drift bound
_D2_MARGIN = 1e-6  # float-rounding margin on the squared drift distance
_BLAS_BLOCK = 200_000  # multiply-adds per BLAS call in small products (OpenBLAS threads above 262,144)
_CHUNK = 512  # rows per block in the passes over θ (keeps a block of θ and x in cache)


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


def _nz(mask: np.ndarray) -> np.ndarray:
    """Indices where a 1-d numpy bool array is True (``np.flatnonzero`` without its overhead)."""
    return mask.nonzero()[0]


def _hull_vertices(pts: np.ndarray) -> np.ndarray:
    """Indices of the vertices of the convex hull of ``pts`` (all indices if qhull cannot say)."""
    n, m = pts.shape
    if n > 4 * (m + 1):
        try:
            from scipy.spatial import ConvexHull

            return np.sort(ConvexHull(pts).vertices)
        except Exception:  # degenerate point sets: fall back to every item
            pass
    return np.arange(n)


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
        cfg = self.config
        self._fat_on = bool(cfg.fatigue.enabled and cfg.fatigue.strength)
        self._fat_k = float(cfg.fatigue.strength)
        self._drift_on = bool(cfg.drift.enabled and cfg.drift.rate > 0)
        self._eta = float(cfg.drift.rate)
        self._rows_np = np.arange(self.n_users)
        self._rows = self.be.arange(self.n_users)
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
        self._k = min(int(self.config.candidates), x.shape[0])
        self._pk = be.asarray(pop.taste_scale, "float32")
        self._cand0 = self._candidates(self._s0, self._pk, be.ones((pop.n_users, x.shape[0]), "bool"))
        self._bmax, self._bmin = float(item_bias.max()), float(item_bias.min())
        self._pbu = be.asarray(pop.user_bias, "float32")
        self._ptemp = be.asarray(pop.temperature, "float32")
        self._pcuts = self.config.feedback.cut_points(be.asarray(pop.tau_neg, "float32"),
                                                      be.asarray(pop.tau_pos, "float32"), self._ptemp)
        self._ptheta = be.asarray(pop.theta, "float32")
        # leading principal directions V of the items: the drift bound splits θ − θ_built into
        # its part in span(V) (bounded item by item through the extremes of V·x) and the rest
        xx = x.astype(np.float64)
        m = min(_N_DIRS, x.shape[1])
        v = np.linalg.eigh(xx.T @ xx)[1][:, ::-1][:, :m]
        vx = xx @ v
        self._v = be.asarray(v, "float32")
        self._vx = be.asarray(vx, "float32")
        self._vx_hi = be.asarray(vx.max(0), "float32")
        self._vx_lo = be.asarray(vx.min(0), "float32")
        rperp = np.sqrt(np.maximum(1.0 - (vx * vx).sum(1), 0.0)) + 1e-6
        self._rmax = float(rperp.max())
        self._rperp = be.asarray(rperp, "float32")  # ‖x_i − VᵀV·x_i‖ per item
        self._vxt = be.asarray(np.ascontiguousarray(vx.T), "float32")
        # a linear function of V·x_i is largest at a vertex of the points' convex hull
        hull = _hull_vertices(vx)
        self._vxt_hull = be.asarray(np.ascontiguousarray(vx[hull].T), "float32")
        self._pp0 = be.asarray(pop.theta.astype(np.float64) @ v, "float32")

    def _candidates(self, s, kappa, allowed):
        """Candidate lists from full cosine rows ``s`` (rows, n_items) with taste scales ``kappa``.

        Returns (top, tops, tib, topb, ub): the top-K items by base utility κ·s + b_i, their
        cosines, item biases, base utilities (−inf where not allowed) and the K-th largest
        base utility, a bound on every other item's base utility.
        """
        be = self.be
        base = kappa[:, None] * s + self._ib[None, :]
        top = be.topk_indices(base, self._k)
        rr = be.arange(base.shape[0])[:, None]
        tops = be.gather(s, rr, top)
        tib = self._ib[top]
        topb = be.gather(base, rr, top)
        ub = be.min(topb, 1) if self._k < base.shape[1] else be.zeros(base.shape[0], "float32") - np.inf
        topb = be.where(be.gather(allowed, rr, top), topb, -np.inf)
        return top, tops, tib, topb, ub

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

    @property
    def _s(self) -> np.ndarray:
        """(B, n_items) current cosines θ·X (numpy; computed on demand — diagnostics and tests)."""
        return self.be.to_numpy(self._score_rows(self._rows_np))

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
            self._allowed = be.cat([self._allowed, be.ones((self.n_users, m), "bool")], axis=1)
            self._sa = be.zeros((self.n_users, self.n_items), "float32")
            self._fat.add_items(m)
            self._fat.set_neighbors(*self._nbr)
            self._refresh(self._rows_np)
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
        self._moved = np.zeros(b, dtype=bool)  # θ differs from the population user's θ
        self._theta = be.zeros((b, self.population.dim), "float32")
        self._allowed = be.ones((b, self.n_items), "bool")
        k = self._k
        self._top = be.zeros((b, k), "int64")
        self._tops = be.zeros((b, k), "float32")
        self._tib = be.zeros((b, k), "float32")
        self._topb = be.zeros((b, k), "float32")
        self._topa = be.ones((b, k), "bool")
        self._ub = be.zeros(b, "float32")
        self._sa = be.zeros((b, self.n_items), "float32")  # cosines θ_built·X when the candidates were built
        self._p = be.zeros((b, self._v.shape[1]), "float32")  # V·θ
        self._pa = be.zeros((b, self._v.shape[1]), "float32")  # V·θ_built
        self._d2 = be.zeros(b, "float32")  # ‖θ − θ_built‖²
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
        self._moved[rows] = False
        r, t = be.asarray(rows, "int64"), be.asarray(tm, "int64")
        self._theta[r] = self._ptheta[t]
        self._allowed[r] = True
        top0, tops0, tib0, topb0, ub0 = self._cand0
        self._top[r] = top0[t]
        self._tops[r] = tops0[t]
        self._tib[r] = tib0[t]
        self._topb[r] = topb0[t]
        self._topa[r] = True
        self._ub[r] = ub0[t]
        self._sa[r] = self._s0[t]
        self._p[r] = self._pp0[t]
        self._pa[r] = self._pp0[t]
        self._d2[r] = 0.0
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
    def _score_rows(self, rows_np: np.ndarray):
        """(len(rows), n_items) cosines θ·X of ``rows`` (from the population table when unmoved)."""
        be = self.be
        out = be.take_rows(self._s0, be.asarray(self._tmpl[rows_np], "int64"))
        mv = _nz(self._moved[rows_np])
        if len(mv):
            th = be.take_rows(self._theta, be.asarray(rows_np[mv], "int64"))
            out[be.asarray(mv, "int64")] = self._times_xt(th)
        return out

    def _times_xt(self, th):
        """``th @ X.T`` for a few rows. On numpy, without BLAS for one or two rows and otherwise
        in blocks of items small enough that BLAS stays on the calling thread: waking BLAS
        worker threads for one small product costs milliseconds on a busy machine, far more
        than the product itself."""
        if self.be.name != "numpy" or th.shape[0] > 64:
            return th @ self._x.T
        nb, n = th.shape[0], self._x.shape[0]
        if nb <= 2:
            return np.einsum("ik,jk->ij", th, self._x)
        step = max(8, _BLAS_BLOCK // (nb * th.shape[1]))
        if step >= n:
            return th @ self._x.T
        out = np.empty((nb, n), dtype=np.float32)
        for lo in range(0, n, step):
            out[:, lo:lo + step] = th @ self._x[lo:lo + step].T
        return out

    def _cosines(self, rows, cols):
        """θ·x for (rows, cols) backend index arrays of the same shape."""
        be = self.be
        if not self._drift_on:
            tm = be.asarray(self._tmpl, "int64")[rows]
            return be.gather(self._s0, tm, cols)
        shape = tuple(cols.shape)
        th = be.take_rows(self._theta, rows.reshape(-1))
        xc = be.take_rows(self._x, cols.reshape(-1))
        return be.rowdot(th, xc).reshape(shape)

    def _fatigue_penalty(self, rows, cols):
        if not self._fat_on:
            return 0.0
        return self._fat_k * self._temp[rows] * self._fat.values(rows, cols)

    def _utility(self, rows, cols, s=None):
        """Utility now for (rows, cols) index arrays of the same shape (``s``: their cosines)."""
        if s is None:
            s = self._cosines(rows, cols)
        u = self._kappa[rows] * s + self._bu[rows] + self._ib[cols]
        return u - self._fatigue_penalty(rows, cols)

    def _utility_from_scores(self, rows, s):
        """Full utility rows of backend ``rows`` from their cosine rows ``s``; also the base rows."""
        base = self._kappa[rows][:, None] * s + self._ib[None, :]
        u = base + self._bu[rows][:, None]
        if self._fat_on:
            u = u - self._fat_k * self._temp[rows][:, None] * self._fat.rows_dense(rows)
        return u, base

    def expected_rewards(self) -> np.ndarray:
        """(B, n_items) exact expected reward of each item for each current user, now."""
        self._require_started()
        rows = self._rows
        u, _ = self._utility_from_scores(rows, self._score_rows(self._rows_np))
        e = expected_reward(u, self._cuts[:, None, :].expand(-1, u.shape[1], -1) if self.be.name == "torch"
                            else np.broadcast_to(self._cuts[:, None, :], u.shape + (6,)),
                            self._temp[:, None] + 0 * u, self._rw)
        e = self.be.where(self._allowed, e, float(self.rewards[BLOCK]))
        return self.be.to_numpy(e).astype(np.float64)

    def _exp_reward(self, u, rows):
        return expected_reward(u, self._cuts[rows], self._temp[rows], self._rw)

    def _refresh(self, rows_np: np.ndarray, s=None) -> None:
        """Recompute candidate lists of ``rows`` from their full cosine rows ``s``."""
        be = self.be
        r = be.asarray(rows_np, "int64")
        if s is None:
            s = self._score_rows(rows_np)
        top, tops, tib, topb, ub = self._candidates(s, self._kappa[r], be.take_rows(self._allowed, r))
        self._top[r], self._tops[r], self._tib[r], self._topb[r], self._ub[r] = top, tops, tib, topb, ub
        self._topa[r] = topb > -np.inf
        p = be.take_rows(self._theta, r) @ self._v
        self._sa[r], self._p[r], self._pa[r], self._d2[r] = s, p, p, 0.0

    def _bound(self):
        """(B,) bound on the base utility of every non-candidate item, now.

        With D = θ − θ_built: b_i(now) − b_i(built) = κ·D·x_i ≤ κ·(Σ_k max_i (V·D)_k (V·x_i)_k
        + ‖D − VᵀV·D‖·max_i ‖x_i − VᵀV·x_i‖), since both parts are bounded separately.
        """
        if not self._drift_on:
            return self._ub
        be = self.be
        dp = self._p - self._pa
        lin = be.sum(be.where(dp > 0, dp * self._vx_hi, dp * self._vx_lo), 1)
        perp2 = self._d2 - be.sum(dp * dp, 1)
        perp2 = be.where(self._d2 > 0, be.where(perp2 > 0, perp2, 0.0) + _D2_MARGIN, 0.0)
        return self._ub + self._kappa * (lin + be.sqrt(perp2) * self._rmax)

    def _bound_holds(self, rows_np: np.ndarray, kth):
        """For ``rows`` that failed :meth:`_bound`: does ``kth`` reach a tighter bound?

        With D = θ − θ_built: max_i κ·((V·D)·(V·x_i)) + κ·‖D − VᵀV·D‖·max_i ‖x_i − VᵀV·x_i‖,
        where the first max needs only the vertices of the convex hull of the V·x_i (a linear
        function is largest at a vertex): O(hull·dirs) per row. Rows that fail it are scanned in
        full, which also re-anchors their bound (cheaper than re-checking them every step).
        """
        be = self.be
        r = be.asarray(rows_np, "int64")
        dp = be.take_rows(self._p, r) - be.take_rows(self._pa, r)
        d2 = be.take(self._d2, r)
        perp2 = d2 - be.sum(dp * dp, 1)
        perp = be.sqrt(be.where(d2 > 0, be.where(perp2 > 0, perp2, 0.0) + _D2_MARGIN, 0.0))
        need = kth - be.take(self._ub, r) - be.take(self._bu, r)
        kap = be.take(self._kappa, r)
        inc = dp[:, :1] * self._vxt_hull[0][None, :]
        for k in range(1, dp.shape[1]):
            inc += dp[:, k:k + 1] * self._vxt_hull[k][None, :]
        ok = be.to_numpy(need >= kap * (be.max(inc, 1) + perp * self._rmax))
        return ok

    def _full_scan(self, bad: np.ndarray, k: int):
        """Exact top-``k`` allowed items of rows ``bad`` by a full scan (and fresh candidates)."""
        be = self.be
        rb = be.asarray(bad, "int64")
        s = self._score_rows(bad)
        u, _ = self._utility_from_scores(rb, s)
        ur = be.where(be.take_rows(self._allowed, rb), u, -np.inf)
        tb = be.argmax(ur, 1)[:, None] if k == 1 else be.topk_indices(ur, k)
        ub = be.gather(ur, be.arange(len(bad))[:, None], tb)
        self._refresh(bad, s)
        self.n_full_scans += len(bad)
        return rb, tb, ub

    def _best_candidates(self, n_best: int):
        """(B, n_best) indices of the highest-utility allowed items (exact) and their utilities.

        Candidates are each row's top-K base utilities (κ·θ·x + b_i); every other item's base
        utility is at most the row's bound (the K-th candidate's base utility when the list
        was built, plus what drift since then can add, see :meth:`_bound`), and fatigue only
        lowers utility, so the candidates' best is exact when it reaches the bound. Rows
        where it does not are scanned in full and their candidates refreshed.
        """
        be = self.be
        rows = self._rows
        r2 = rows[:, None]
        cand = self._top
        k = min(n_best, cand.shape[1])
        if k == 1:
            # fast path: the best candidate by base utility is the best by utility when it
            # carries no fatigue (fatigue only lowers utility)
            kk = cand.shape[1]
            j = be.argmax(self._topb, 1)
            flat = rows * kk + j
            items = be.take(cand, flat)
            u_top = be.take(self._topb, flat) + self._bu
            if self._fat_on:
                fv = self._fat.values(rows, items)
                u_top = u_top - self._fat_k * self._temp * fv
                hot = _nz(be.to_numpy(fv > 0))
                if len(hot):
                    rh = be.asarray(hot, "int64")
                    uc = (be.take_rows(self._topb, rh) + self._bu[rh][:, None]
                          - self._fat_k * self._temp[rh][:, None] * self._fat.values(rh[:, None], cand[rh]))
                    jh = be.argmax(uc, 1)[:, None]
                    items[rh] = be.gather(cand[rh], be.arange(len(hot))[:, None], jh)[:, 0]
                    u_top[rh] = be.gather(uc, be.arange(len(hot))[:, None], jh)[:, 0]
            items, u_top = items[:, None], u_top[:, None]
            kth = u_top[:, 0]
        else:
            util_c = self._topb + self._bu[:, None]
            if self._fat_on:
                util_c = util_c - self._fat_k * self._temp[:, None] * self._fat.values(r2, cand)
            top = be.topk_indices(util_c, k)
            u_top = be.gather(util_c, r2, top)
            kth = be.min(u_top, 1)
            items = be.gather(cand, r2, top)
        bad = _nz(be.to_numpy(~(kth >= self._bound() + self._bu)))
        if len(bad) and self._drift_on:
            bad = bad[~self._bound_holds(bad, kth[be.asarray(bad, "int64")])]
        if len(bad):
            rb, tb, ub = self._full_scan(bad, k)
            items[rb] = tb
            u_top[rb] = ub
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
        val = self._exp_reward(u[:, 0], self._rows)
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
        rows_np = self._rows_np
        rows = self._rows
        ab = be.asarray(a, "int64")
        r_block = float(self.rewards[BLOCK])
        s_chosen = None
        if a.ndim == 1:
            _, best = self.best_items()
            if self._drift_on:
                s_chosen = self._chosen_cosines(ab)
            else:
                s_chosen = be.gather(self._s0, be.asarray(self._tmpl, "int64"), ab)
            util = self._utility(rows, ab, s_chosen)
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
            bl = _nz(responded & (kinds == BLOCK))
            if len(bl):
                rb, ib = be.asarray(bl, "int64"), be.asarray(item[bl], "int64")
                self._allowed[rb, ib] = False
                keep = self._topa[rb] & (self._top[rb] != ib[:, None])
                self._topa[rb] = keep
                self._topb[rb] = be.where(keep, self._topb[rb], -np.inf)
        if self._drift_on:
            dr = _nz(responded & (kinds > NEUTRAL))
            if len(dr):
                if s_chosen is not None:
                    self._drift(dr, item[dr], s_chosen[be.asarray(dr, "int64")], ab)
                else:
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
        ret_rows = _nz(returned)
        if len(ret_rows):
            if cfg.fatigue.enabled:
                self._fat.recover_rows(be.asarray(ret_rows, "int64"), cfg.returns.gap)
            self._new_session(ret_rows)
        self._spawn(_nz(churned))
        self._t += 1
        return StepResult(user_ids=uid, kind=kinds, reward=reward, position=position, item=item,
                          expected_reward_chosen=be.to_numpy(e_chosen).astype(np.float64),
                          best_expected_reward=np.asarray(best, dtype=np.float64),
                          terminated=terminated, truncated=truncated, returned=returned, churned=churned,
                          observation=self._observation())

    def _uniform(self, shape):
        return np.clip(self._rng.random(shape), _EPS, 1 - _EPS)

    def _chosen_cosines(self, items):
        """θ_r·x_{items_r} for every row (in blocks of rows, so θ is read once per block)."""
        be, b = self.be, self.n_users
        if b <= _CHUNK:
            return be.rowdot(self._theta, be.take_rows(self._x, items))
        out = be.zeros(b, "float32")
        for lo in range(0, b, _CHUNK):
            hi = min(lo + _CHUNK, b)
            out[lo:hi] = be.rowdot(self._theta[lo:hi], be.take_rows(self._x, items[lo:hi]))
        return out

    def _drift(self, rows_np: np.ndarray, items_np: np.ndarray, s_rj=None, all_items=None) -> None:
        """θ ← normalise(θ + rate·x_j) for ``rows``; O(d + K) per user, nothing of size n_items.

        The candidates' cosines move by the Gram entries x_j·x_c (a gather, not a matmul); the
        bound on the other items is tracked through V·θ and ‖θ − θ_built‖² (see :meth:`_bound`).
        ``all_items`` (B,): the item of every row (single-item steps), so θ is updated in place
        block by block (rows that do not drift get + 0·x and / 1, which leaves them unchanged).
        """
        be, eta = self.be, self._eta
        r, j = be.asarray(rows_np, "int64"), be.asarray(items_np, "int64")
        if s_rj is None:
            s_rj = be.rowdot(be.take_rows(self._theta, r), be.take_rows(self._x, j))
        norm = be.sqrt(1.0 + 2.0 * eta * s_rj + eta * eta)
        if all_items is None or self.n_users <= _CHUNK:
            th = be.take_rows(self._theta, r)
            th += eta * be.take_rows(self._x, j)
            th /= norm[:, None]
            self._theta[r] = th
        else:
            b = self.n_users
            coef = be.zeros(b, "float32")
            coef[r] = eta
            den = be.ones(b, "float32")
            den[r] = norm
            for lo in range(0, b, _CHUNK):
                hi = min(lo + _CHUNK, b)
                xa = be.take_rows(self._x, all_items[lo:hi])
                xa *= coef[lo:hi, None]
                th = self._theta[lo:hi]
                th += xa
                th /= den[lo:hi, None]
        top = be.take_rows(self._top, r)
        g = be.take(self._gram, (j * self._gram.shape[1])[:, None] + top)
        tops = be.take_rows(self._tops, r)
        tops += eta * g
        tops /= norm[:, None]
        self._tops[r] = tops
        topb = self._kappa[r][:, None] * tops + be.take_rows(self._tib, r)
        self._topb[r] = be.where(be.take_rows(self._topa, r), topb, -np.inf)
        # projections and ‖θ − θ_built‖² (needs x_j·θ_built, a gather from the built cosines):
        # ‖D'‖² = (n‖D‖² + η² + (1−n)² + 2η(s − x_j·θ_b) + 2η(1−n)·x_j·θ_b) / n², D' = θ' − θ_b
        p = be.take_rows(self._p, r)
        p += eta * be.take_rows(self._vx, j)
        p /= norm[:, None]
        self._p[r] = p
        xb = be.take(self._sa, r * self._sa.shape[1] + j)
        d1 = 1.0 - norm
        d2 = (norm * be.take(self._d2, r) + (eta * eta) + d1 * d1 + (2.0 * eta) * (s_rj - xb)
              + (2.0 * eta) * d1 * xb) / (norm * norm)
        self._d2[r] = be.where(d2 > 0, d2, 0.0)
        self._moved[rows_np] = True

    def theta(self) -> np.ndarray:
        """Current true tastes (B, d) — for evaluation and tests only, never for agents."""
        self._require_started()
        return self.be.to_numpy(self._theta).copy()
