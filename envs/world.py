"""The batched world: B users answer recommendations at once (numpy or torch).

Each of the B *slots* holds one person (a copy of a population user with their own
state). ``step`` takes one item per slot, shape (B,), or one slate per slot, shape (B, k),
and returns a :class:`StepResult` whose arrays are numpy on every backend. Sessions that
end are restarted in place (same person returning, or a fresh person), so the batch
always stays full. All randomness comes from one ``numpy.random.Generator`` seeded by
``seed``; draws per step are fixed in number and order, so the numpy and torch backends
give the same numbers.

Per step, in order: (1) the exact expected reward of the chosen action and of the best
action are computed from the current state, by the one float64 formula that ``expected_rewards``
uses too (:meth:`World._exact_values`, on the cosines of :meth:`World._cosines`), so the chosen
value equals ``expected_rewards()`` of that state to float64 rounding and regret is never
negative; (2) feedback is drawn; (3) state updates:
fatigue recovers one step then the shown (examined) items add fatigue, blocks, drift,
patience; (4) ended sessions return or churn (a person who has blocked so many items that fewer
than a slate's worth are left ends the session and leaves for good).

Cost per step (single items) is O(B·(d + K)) with nothing of size B × n_items: the chosen
item's cosine is one dot product per slot (:class:`envs.taste_rows.TasteRows`); the best
item comes from each slot's K candidates, kept exact under drift through Gram entries, and
is certified by a bound on every other item (a slot whose bound fails is rescored in full,
about 0.3 % of slots a step on MovieLens with drift); feedback works on cut points divided by
temperature (:func:`envs.feedback.scaled_cuts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from banditsim.envs.backend import Backend
from banditsim.envs.blas_threads import one_blas_thread
from banditsim.envs.dynamics import FatigueState, near_duplicates
from banditsim.envs.feedback import (
    _reward_steps,
    kind_probabilities,
    sample_kinds,
    sample_kinds_scaled,
    scaled_cuts,
)
from banditsim.envs.feedback_kinds import BLOCK, KINDS, N_CUTS, N_KINDS, NEUTRAL, is_monotone, reward_vector
from banditsim.envs.population import Population, check_item_vectors, taste_span, unit_rows
from banditsim.envs.refused_rows import HeldFatigue, all_refused, idle_rows, refuse_outputs
from banditsim.envs.slate_choice import slate_value
from banditsim.envs.taste_trend import TasteTrend
from banditsim.envs.taste_rows import TasteRows
from banditsim.envs.user_history import UserHistory
from banditsim.envs.world_config import WorldConfig
from banditsim.envs.world_errors import ActionError, ItemVectorError, WorldConfigError

_EPS = 1e-12
_N_DIRS = 4  # principal directions used by the fallback drift bound
_GRAM_CACHE_BYTES = 256 << 20  # largest cache of Gram columns (World._set_gram)
_CAND_BLOCK = 1 << 24  # scores per row block when building every population user's candidates
_D2_MARGIN = 1e-6  # float-rounding margin on the squared drift distance
_SMALL_EXACT = 1 << 16  # exact values computed with one (…, 6) sigmoid up to this many


@dataclass(frozen=True)
class Observation:
    """What the world shows about the B current users (numpy arrays).

    ``user_ids`` (B,) int64 person ids (unique per person, kept when a person returns);
    ``population_index`` (B,) row of the population user each person was drawn from;
    ``features`` (B, d_u) float32 visible features (then the user-history context when
    ``history_k`` > 0, :mod:`envs.user_history`); ``mask`` (B, n_items) bool allowed items
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
    (see :meth:`World.best_slates`), or the action taken where that is worth more (a greedy slate
    can be beaten under the cascade; single items only by a float near-tie), so regret ≥ 0; ``terminated`` (B,) session ended by patience;
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


def _cosines(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """θ·xᵀ (people × items) as float32. Big ones go in row blocks of ≤ ``_CAND_BLOCK`` entries,
    each product cast to float32 as it comes, instead of a float64 matrix twice the size of the
    result (3 GiB at 2,000 people × 100,000 items); smaller ones in one product, as always."""
    n, m = theta.shape[0], x.shape[0]
    if n * m <= _CAND_BLOCK:
        return (theta @ x.T).astype(np.float32, copy=False)
    out = np.empty((n, m), dtype=np.float32)
    step = max(1, _CAND_BLOCK // m)
    for lo in range(0, n, step):
        np.matmul(theta[lo:lo + step], x.T, out=out[lo:lo + step], casting="same_kind")
    return out


class World:
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

    # Built once from the items and the population and never written afterwards (``add_items``
    # rebinds them): copies share them. Read-only on the numpy backend, so a write would raise.
    _SHARED = ("_x_np", "_feat_np", "_x", "_xt", "_xg_np", "_xq", "_ib", "_s0", "_nbr", "_cand0",
               "_cx", "_pcb")

    def __deepcopy__(self, memo):
        """A deep copy that shares the read-only item geometry (``_SHARED``): copying a World over
        100,000 items and 2,000 people costs its per-user state, not its 2.6 GiB of geometry."""
        import copy

        for name in self._SHARED:
            value = self.__dict__.get(name)
            if value is not None:
                memo[id(value)] = value
        new = object.__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def _freeze_shared(self) -> None:
        if self.be.name != "numpy":
            return
        for name in self._SHARED:
            value = self.__dict__.get(name)
            for arr in value if isinstance(value, tuple) else (value,):
                if isinstance(arr, np.ndarray):
                    arr.flags.writeable = False

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
        self._pull_on = bool(cfg.drift.enabled and cfg.drift.rate > 0)  # answers pull θ (endogenous)
        self._trend = (TasteTrend(cfg.drift.trend_rate, cfg.drift.trend_period, seed)
                       if cfg.drift.enabled and cfg.drift.trend_rate > 0 else None)  # envs.taste_trend
        self._drift_on = self._pull_on or self._trend is not None  # some θ can move
        self._eta = float(cfg.drift.rate)
        # Drift(basis="tastes"): tastes and items in coordinates of the tastes' span (d, r)
        with one_blas_thread():
            self._basis = taste_span(population.theta) if cfg.drift.basis == "tastes" else None
        self._rows_np = np.arange(self.n_users)
        self._rows = self.be.arange(self.n_users)
        self._rng = np.random.default_rng(seed)
        self._next_person = 0
        self._t = 0
        self._feat_np = x  # the catalog's vectors (what agents see); the world scores the population's positions
        self._hist = UserHistory(x, self.config.history_k, self.config.history_dim)  # envs.user_history
        pos = population.positions_for(x)
        # the catalog's centre c: the mean of the item positions the world scores, fixed at construction
        # (add_items keeps it). Drift keeps each taste's component along c (see Drift)
        self._centre = np.asarray(pos, dtype=np.float64).mean(0)
        self._set_items(pos, population.item_bias_for(x.shape[0]))
        self._started = False
        self.n_full_scans = 0  # rows scanned in full to find the best item (diagnostics)

    # ------------------------------------------------------------------ items
    def _set_items(self, x: np.ndarray, item_bias: np.ndarray) -> None:
        # every product here feeds the world's numbers: one BLAS thread, so that they do not
        # depend on the process's thread count (OpenBLAS splits the work, and the rounding, by it)
        with one_blas_thread():
            self._set_items_1(x, item_bias)
        self._freeze_shared()

    def _set_items_1(self, x: np.ndarray, item_bias: np.ndarray) -> None:
        be, pop, basis = self.be, self.population, self._basis
        self._x_np = x
        self._nbr = near_duplicates(x, self.config.fatigue)
        # the coordinates tastes live in: the embedding space, or the span of the tastes
        xr = x if basis is None else (x.astype(np.float64) @ basis).astype(np.float32)
        pth = pop.theta if basis is None else unit_rows(pop.theta.astype(np.float64) @ basis)
        xq = (xr.astype(np.float64) ** 2).sum(1)  # ‖x_i‖² in those coordinates (1 in full)
        self._xq = None if basis is None else be.asarray(xq, "float32")
        # the catalog's direction u = c/‖c‖ in those coordinates (0 for a centred catalog), u·x_i of
        # every item and u·θ of every population user: what drift keeps (see Drift and _drift)
        cr = self._centre if basis is None else self._centre @ basis
        cn = float(np.linalg.norm(cr))
        cu = cr / cn if cn > 1e-9 else np.zeros_like(cr)
        self._cv = be.asarray(cu, "float32")
        self._cx = be.asarray(xr.astype(np.float64) @ cu, "float32")
        self._pcb = be.asarray(np.asarray(pth, dtype=np.float64) @ cu, "float32")
        self._xmax = 1.0 if basis is None else float(np.sqrt(xq.max())) + 1e-6
        self._x = be.asarray(xr, "float32")
        self._xt = be.asarray(np.ascontiguousarray(xr.T), "float32")  # Xᵀ, contiguous for row products
        self._ib = be.asarray(item_bias, "float32")
        # per population user: taste cosines and the top candidates by base utility
        self._s0 = be.asarray(_cosines(pth, xr), "float32")
        self._k = min(int(self.config.candidates), x.shape[0])
        self._pk = be.asarray(pop.taste_scale, "float32")
        self._cand0 = self._initial_candidates()
        self._set_gram(xr, be.to_numpy(self._cand0[0]))
        self._cand0 = self._cand0 + (self._gram_cols(self._cand0[0]),)
        self._bmax, self._bmin = float(item_bias.max()), float(item_bias.min())
        self._pbu = be.asarray(pop.user_bias, "float32")
        self._ptemp = be.asarray(pop.temperature, "float32")
        self._pcuts = self.config.feedback.cut_points(be.asarray(pop.tau_neg, "float32"),
                                                      be.asarray(pop.tau_pos, "float32"), self._ptemp)
        self._pct = scaled_cuts(self._pcuts, self._ptemp)  # (N_CUTS, n_pop) cut points / temperature
        self._pit = 1.0 / self._ptemp
        self._ptheta = be.asarray(pth, "float32")
        # leading principal directions V of the items: the drift bound splits θ − θ_built into
        # its part in span(V) (bounded item by item through the extremes of V·x) and the rest
        xx = xr.astype(np.float64)
        m = min(_N_DIRS, xr.shape[1])
        v = np.linalg.eigh(xx.T @ xx)[1][:, ::-1][:, :m]
        vx = xx @ v
        self._v = be.asarray(v, "float32")
        rperp = np.sqrt(np.maximum(xq - (vx * vx).sum(1), 0.0)) + 1e-6
        self._rmax = float(rperp.max())
        self._rperp = be.asarray(rperp, "float32")  # ‖x_i − VᵀV·x_i‖ per item
        # a linear function of V·x_i is largest at a vertex of the points' convex hull
        hull = _hull_vertices(vx)
        self._vxt_hull = be.asarray(np.ascontiguousarray(vx[hull].T), "float32")
        self._pp0 = be.asarray(pth.astype(np.float64) @ v, "float32")

    def _set_gram(self, xr: np.ndarray, top0: np.ndarray) -> None:
        """The drift rate times the Gram entries x_j·x_c of every item j with the candidate items c.

        Drift moves each drifting row's candidate cosines by rate·x_j·x_c (and the catalog
        direction's part, see :meth:`_drift`): K reads from row j of
        ``_gp``. Candidate lists share few items (151 of 1,682 on MovieLens), so ``_gp`` holds
        only the columns of items that have been candidates (most frequent first; a column is
        computed, ``xr @ xr[c]``, when its item first becomes a candidate): the reads of a row
        fall in a few cache lines of a 1.7 MB matrix instead of an 11 MB one. ``_inv_np[i]`` is
        item i's column (−1: none); the extra last row is zeros (the row read for slots that do
        not drift). Nothing of size n_items² is ever built: once the columns would pass
        ``_GRAM_CACHE_BYTES`` (large catalogs with diverse tastes), ``_gp`` is dropped and drift
        computes x_j·x_c for its rows directly (B·K·d work a step, see :meth:`_gram_rows`).
        """
        n = xr.shape[0]
        self._xg_np = np.ascontiguousarray(xr, dtype=np.float32)  # the items in the tastes' coordinates
        self._inv_np = np.full(n, -1, dtype=np.int64)
        self._ncols = 0
        self._gp = self.be.zeros((n + 1, 0), "float32")
        freq = np.bincount(top0.reshape(-1), minlength=n)
        self._gram_cols(np.argsort(-freq, kind="stable")[:int((freq > 0).sum())])

    def _gram_cols(self, items):
        """Columns of ``_gp`` for (backend) ``items``, adding the items that have none yet.

        Without a column cache (``_gp`` is None: see :meth:`_set_gram`) the columns are unused: 0.
        """
        be, inv = self.be, self._inv_np
        it = be.to_numpy(items)
        if self._gp is None:
            return be.zeros(it.shape, "int64")
        new = it[inv[it] < 0]
        if len(new):
            new = new[np.sort(np.unique(new, return_index=True)[1])]  # first-seen order
            n0, m = self._ncols, len(new)
            n_rows = self._xg_np.shape[0] + 1
            if 4 * n_rows * (n0 + m) > _GRAM_CACHE_BYTES:  # too big to cache: compute on demand
                self._gp = None
                return be.zeros(it.shape, "int64")
            gp = self._gp
            if n0 + m > gp.shape[1]:
                cap = min(max(2 * gp.shape[1], n0 + m, 64), max(n0 + m, _GRAM_CACHE_BYTES // (4 * n_rows)))
                gp = be.cat([gp, be.zeros((gp.shape[0], cap - gp.shape[1]), "float32")], axis=1)
            cols = np.zeros((n_rows, m), dtype=np.float32)
            cols[:-1] = self._xg_np @ self._xg_np[new].T
            cols *= np.float32(self._eta)
            gp[:, n0:n0 + m] = be.asarray(cols, "float32")
            self._gp = gp
            inv[new] = np.arange(n0, n0 + m)
            self._ncols = n0 + m
        return be.asarray(inv[it], "int64")

    def _gram_rows(self, r, j):
        """rate·x_j·x_c for rows ``r`` (m,) shown items ``j`` (m,) and their K candidates c: (m, K)."""
        be = self.be
        if self._gp is not None:
            return be.take(self._gp, (j * self._gp.shape[1])[:, None] + be.take_rows(self._topl, r))
        xc = self._x[be.take_rows(self._top, r)]  # (m, K, d): gathered only without the cache
        return be.matmul(xc, be.take_rows(self._x, j)[:, :, None])[:, :, 0] * self._eta

    def _initial_candidates(self):
        """``_candidates`` of every population user with every item allowed, in row blocks of
        ≤ ``_CAND_BLOCK`` scores, so the temporaries stay small for big catalogs."""
        n_people, n_items = self._s0.shape
        step = max(1, _CAND_BLOCK // max(1, n_items))
        parts = [self._candidates(self._s0[lo:lo + step], self._pk[lo:lo + step], None)
                 for lo in range(0, n_people, step)]
        return tuple(self.be.cat([p[j] for p in parts]) for j in range(len(parts[0])))

    def _candidates(self, s, kappa, allowed, base=None):
        """Candidate lists from full cosine rows ``s`` (rows, n_items) with taste scales ``kappa``
        (``base``: κ·s + b_i when the caller has it already).

        Returns (top, tops, tib, topb, ub): the top-K items by base utility κ·s + b_i, their
        cosines, item biases, base utilities (−inf where not allowed) and the K-th largest
        base utility, a bound on every other item's base utility.
        """
        be = self.be
        if base is None:
            base = kappa[:, None] * s + self._ib[None, :]
        top = be.topk_indices(base, self._k)
        rr = be.arange(base.shape[0])[:, None]
        tops = be.gather(s, rr, top)
        tib = self._ib[top]
        topb = be.gather(base, rr, top)
        ub = be.min(topb, 1) if self._k < base.shape[1] else be.zeros(base.shape[0], "float32") - np.inf
        if allowed is not None:  # None: every item allowed
            topb = be.where(be.gather(allowed, rr, top), topb, -np.inf)
        return top, tops, tib, topb, ub

    @property
    def n_items(self) -> int:
        return self._x_np.shape[0]

    @property
    def item_vectors(self) -> np.ndarray:
        """The catalog's (n_items, d) unit item vectors (numpy): what agents see. The world places the
        items there, or at the population's ``item_positions`` when it has them (fitted offsets)."""
        return self._feat_np

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
        self._feat_np = np.r_[self._feat_np, new]
        self._set_items(np.r_[self._x_np, self.population.positions_for(new, start=old_n)], ib)
        if self._started:
            be = self.be
            self._allowed = be.cat([self._allowed, be.ones((self.n_users, m), "bool")], axis=1)
            self._sa = be.zeros((self.n_users, self.n_items), "float32")
            self._rown = self._rows * self.n_items
            self._fat.add_items(m)
            self._fat.set_neighbors(*self._nbr)
            self._refresh(self._rows_np)
        return np.arange(old_n, old_n + m)

    # ------------------------------------------------------------------ reset
    def reset(self, seed: int | None = None) -> Observation:
        """Start over with B fresh people (re-seeding the generator when ``seed`` is given)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            if self._trend is not None:
                self._trend.reseed(seed)
        be, b = self.be, self.n_users
        self._t = 0
        self._next_person = 0
        self._tmpl = np.zeros(b, dtype=np.int64)
        self._pid = np.zeros(b, dtype=np.int64)
        self._patience = np.zeros(b, dtype=np.int64)
        self._sstep = np.zeros(b, dtype=np.int64)
        self._moved = np.zeros(b, dtype=bool)  # θ differs from the population user's θ
        self._th = TasteRows(be, b, self._x.shape[1])
        self._allowed = be.ones((b, self.n_items), "bool")
        self._alloc_candidates()
        self._ub = be.zeros(b, "float32")
        self._sa = be.zeros((b, self.n_items), "float32")  # cosines θ_built·X when the candidates were built
        self._pa = be.zeros((b, self._v.shape[1]), "float32")  # V·θ_built
        self._d2 = be.zeros(b, "float64")  # ‖θ − θ_built‖² (float64: updated incrementally for long)
        self._cb = be.zeros(b, "float32")  # c·θ_built (the catalog's centre, see Drift)
        self._kappa = be.zeros(b, "float32")
        self._bu = be.zeros(b, "float32")
        self._temp = be.ones(b, "float32")
        self._cuts = be.zeros((b, N_CUTS), "float32")
        self._ct = be.zeros((N_CUTS, b), "float32")  # cut points / temperature (see envs.feedback.scaled_cuts)
        self._it = be.ones(b, "float32")  # 1 / temperature
        self._feat = np.zeros((b, self.population.features.shape[1]), dtype=np.float32)
        self._hist.start(b)
        self._rown = self._rows * self.n_items  # row offsets into flattened (B, n_items) arrays
        self._fat = FatigueState(be, b, self.n_items, self.config.fatigue, *self._nbr)
        self._spawn(np.arange(b))
        if self._trend is not None:
            self._trend.start(self.n_items)
        self._started = True
        return self._observation()

    def _alloc_candidates(self) -> None:
        """Candidate-list arrays (B, K) for the current K (``_k`` grows when items are added)."""
        be, b, k = self.be, self.n_users, self._k
        self._top = be.zeros((b, k), "int64")
        self._topl = be.zeros((b, k), "int64")  # the candidates' columns in ``_gp``
        self._tops = be.zeros((b, k), "float32")
        self._tibm = be.zeros((b, k), "float32")  # the candidates' item biases, −inf where blocked
        self._topb = be.zeros((b, k), "float32")
        self._topa = be.ones((b, k), "bool")

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
        self._th.set_rows(r, self._ptheta[t])
        self._allowed[r] = True
        top0, tops0, tib0, topb0, ub0, topl0 = self._cand0
        self._top[r] = top0[t]
        self._topl[r] = topl0[t]
        self._tops[r] = tops0[t]
        self._tibm[r] = tib0[t]
        self._topb[r] = topb0[t]
        self._topa[r] = True
        self._ub[r] = ub0[t]
        self._sa[r] = self._s0[t]
        self._pa[r] = self._pp0[t]
        self._d2[r] = 0.0
        self._cb[r] = self._pcb[t]
        self._kappa[r] = self._pk[t]
        self._bu[r] = self._pbu[t]
        self._temp[r] = self._ptemp[t]
        self._cuts[r] = self._pcuts[t]
        self._ct[:, r] = self._pct[:, t]
        self._it[r] = self._pit[t]
        self._feat[rows] = self.population.features[tm]
        self._hist.reset_rows(rows)
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
                           features=self._hist.append_to(self._feat), mask=mask,
                           session_step=self._sstep.copy(), patience=self._patience.copy())

    def _require_started(self) -> None:
        if not self._started:
            raise WorldConfigError("call reset() before step() or expected_rewards()")

    # ------------------------------------------------------------------ utilities
    def _score_rows(self, rows_np: np.ndarray):
        """(len(rows), n_items) cosines θ·X of ``rows`` (from the population table when unmoved)."""
        be = self.be
        mv = _nz(self._moved[rows_np])
        if len(mv) == len(rows_np) and len(mv):  # all moved (a full scan's usual case): no table rows
            return self._times_xt(be.asarray(rows_np, "int64"))
        out = be.take_rows(self._s0, be.asarray(self._tmpl[rows_np], "int64"))
        if len(mv):
            out[be.asarray(mv, "int64")] = self._times_xt(be.asarray(rows_np[mv], "int64"))
        return out

    def _times_xt(self, rows):
        """θ[rows] @ X.T for backend index array ``rows``, on one BLAS thread (see
        :mod:`envs.blas_threads`): fast for the few rows of a full scan, and the same numbers
        whatever the process's thread count."""
        if self.be.name != "numpy":
            return self._th.times(rows, self._xt)
        with one_blas_thread():
            return self._th.times(rows, self._xt)

    def _cosines(self, rows, cols):
        """θ·x for (rows, cols) backend index arrays of the same shape, as every exact value reads
        it: the population table for people whose taste has not moved, else one per-pair dot
        product (the kernel of :meth:`_cosine_rows`), so ``step`` and ``expected_rewards`` agree."""
        be = self.be
        tm = be.asarray(self._tmpl, "int64")[rows]
        s = be.gather(self._s0, tm, cols)
        if not self._drift_on:
            return s
        moved = self._moved[be.to_numpy(rows).reshape(-1)]
        if moved.any():
            at = be.asarray(_nz(moved), "int64")
            flat = s.reshape(-1)
            flat[at] = self._th.dot_pairs(self._x, rows.reshape(-1)[at], cols.reshape(-1)[at])
            s = flat.reshape(s.shape)
        return s

    def _cosine_items(self, items):
        """(B,) :meth:`_cosines` of one item per slot (backend ``items``): the same numbers, with
        the moved slots' dot products in row blocks (:meth:`TasteRows.dot_items`) when they are many."""
        be = self.be
        s = be.take(self._s0, be.asarray(self._tmpl * self._s0.shape[1], "int64") + items)
        mv = _nz(self._moved) if self._drift_on else ()
        if len(mv) > self.n_users // 4:
            s = be.where(be.asarray(self._moved, "bool"), self._th.dot_items(self._x, items), s)
        elif len(mv):
            r = be.asarray(mv, "int64")
            s[r] = self._th.dot_pairs(self._x, r, items[r])
        return s

    def _cosine_items_many(self, items_list):
        """:meth:`_cosine_items` of several (B,) backend item arrays (the same numbers), and θ·u of
        every slot (:meth:`TasteRows.dot_vector`'s numbers, for :meth:`_drift`) or None: when the
        moved slots are many, one pass over the tastes serves them all (:meth:`TasteRows.dot_items_many`)."""
        be = self.be
        mv = _nz(self._moved) if self._drift_on else ()
        if len(mv) <= self.n_users // 4:
            return [self._cosine_items(it) for it in items_list], None
        *dots, a_u = self._th.dot_items_many(self._x, items_list, self._cv)
        moved, off = be.asarray(self._moved, "bool"), be.asarray(self._tmpl * self._s0.shape[1], "int64")
        return [be.where(moved, d, be.take(self._s0, off + it)) for d, it in zip(dots, items_list)], a_u

    def _slate_cosines(self, ab):
        """(B, k) :meth:`_cosines` of every slot with its slate ``ab`` (the same numbers); when the
        moved slots are many, one pass over the tastes for all k positions (:meth:`TasteRows.dot_items_many`)
        instead of a gathered copy of θ per (slot, position)."""
        be = self.be
        b, k = ab.shape
        if not self._drift_on or len(_nz(self._moved)) <= b // 4:
            return self._cosines(be.arange(b)[:, None] + 0 * ab, ab)
        dots = self._th.dot_items_many(self._x, [ab[:, c] for c in range(k)])
        s = be.gather(self._s0, be.asarray(self._tmpl, "int64")[:, None], ab)
        return be.where(be.asarray(self._moved, "bool")[:, None], be.cat([d[:, None] for d in dots], axis=1), s)

    def _cosine_rows(self):
        """(B, n_items) cosines of every slot with every item, exactly as :meth:`_cosines` gives them."""
        be = self.be
        s = be.take_rows(self._s0, be.asarray(self._tmpl, "int64"))
        mv = _nz(self._moved) if self._drift_on else ()
        if len(mv):
            r = be.asarray(mv, "int64")
            s[r] = be.pair_dots(be.take_rows(self._th.v, r), self._x) * be.take(self._th.m, r)[:, None]
        return s

    def _exact_values(self, rows, cols, s, raw_fat=None):
        """float64 expected reward of items ``cols`` for slots ``rows`` (backend index arrays that
        broadcast) from their cosines ``s`` (:meth:`_cosines`) and stored fatigue ``raw_fat``.

        The one formula behind every exact number of the world (the chosen item in ``step``, the
        best item, ``expected_rewards``, slates), in float64 from the same float32 cosines, so the
        same (slot, item) gets the same value, to float64 rounding, whichever method asks."""
        be = self.be
        u = self._exact_utility(rows, cols, s, raw_fat)
        _, ks, w = _reward_steps(self.rewards.tobytes())
        temp = be.astype(self._temp[rows], "float64")
        cuts = be.astype(self._cuts[rows], "float64")
        top = float(self.rewards[-1])
        if (u.numel() if be.name == "torch" else u.size) <= _SMALL_EXACT:  # one (…, 6) sigmoid
            z = (cuts[..., ks] - u[..., None]) / temp[..., None]
            return top - (be.sigmoid(z) * be.asarray(w, "float64")).sum(-1)
        value = top + 0.0 * u  # big arrays (expected_rewards): one cut point at a time
        for k, step in zip(ks, w):
            value = value - be.sigmoid((cuts[..., k] - u) / temp) * float(step)
        return value

    def _exact_utility(self, rows, cols, s, raw_fat=None):
        """float64 utility κ·s + b_u + b_i − fatigue for (rows, cols) that broadcast (see :meth:`_exact_values`)."""
        be = self.be
        f64 = lambda a: be.astype(a, "float64")  # noqa: E731
        u = f64(self._kappa[rows]) * f64(s) + f64(self._bu[rows]) + f64(self._ib[cols])
        if self._fat_on:
            if raw_fat is None:
                raw_fat = be.gather(self._fat.f, rows, cols)
            u = u - (self._fat_k * f64(self._temp[rows])) * (f64(raw_fat) / self._fat.scale)
        return u

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

    def _chosen_utility(self, items, flat, s):
        """Utility of one item per row (all rows) from its cosines ``s``; ``flat`` = row·n + item.

        Also returns the stored fatigue values read at ``flat`` (None with fatigue off), so the
        exposure that follows need not read them again.
        """
        u = self._kappa * s
        u += self._bu
        u += self._ib[items]
        if not self._fat_on:
            return u, None
        raw = self.be.take(self._fat.f, flat)
        u -= (self._fat_k / self._fat.scale) * self._temp * raw
        return u, raw

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
        be = self.be
        rows = self._rows[:, None]
        raw = self._fat.f if self._fat_on else None
        e = self._exact_values(rows, be.arange(self.n_items)[None, :], self._cosine_rows(), raw)
        e = be.where(self._allowed, e, float(self.rewards[BLOCK]))
        return be.to_numpy(e).astype(np.float64)

    def _refresh(self, rows_np: np.ndarray, s=None, base=None, allowed=None) -> None:
        """Recompute candidate lists of ``rows`` from their full cosine rows ``s`` (``base``, ``allowed``:
        their base utilities and mask rows, when the caller has them)."""
        be = self.be
        r = be.asarray(rows_np, "int64")
        if s is None:
            s = self._score_rows(rows_np)
        if allowed is None:
            allowed = be.take_rows(self._allowed, r)
        top, tops, tib, topb, ub = self._candidates(s, self._kappa[r], allowed, base)
        if self._top.shape[1] != top.shape[1]:  # K grew with the catalog (add_items)
            self._alloc_candidates()
        self._top[r], self._tops[r], self._topb[r], self._ub[r] = top, tops, topb, ub
        self._topl[r] = self._gram_cols(top)
        topa = topb > -np.inf
        self._topa[r] = topa
        self._tibm[r] = be.where(topa, tib, -np.inf)
        self._sa[r], self._pa[r], self._d2[r] = s, self._th.times(r, self._v), 0.0
        self._cb[r] = self._th.dot_vector(r, self._cv)

    def _bound(self):
        """(B,) bound on the base utility of every non-candidate item, now.

        With D = θ − θ_built and unit items: b_i(now) − b_i(built) = κ·D·x_i ≤ κ·‖D‖, and
        b_i(built) ≤ ub for every non-candidate. ‖D‖² is tracked per drift step in O(1).
        With 384-dim items this is tighter than the split bound of :meth:`_bound_holds` (the
        part outside a few principal directions is nearly the whole vector, and bounding the
        parts apart adds up to more than ‖D‖): on MovieLens, B = 4,096, random items, it fails
        for 11.6 rows a step where the split bound failed for 156 (18 after the hull check).
        """
        if not self._drift_on:
            return self._ub
        be = self.be
        dn = be.sqrt(be.where(self._d2 > 0, self._d2 + _D2_MARGIN, 0.0))
        if self._xmax != 1.0:  # items shorter than 1 in the tastes' span: D·x_i ≤ ‖D‖·max‖x_i‖
            dn = dn * self._xmax
        return self._ub + self._kappa * be.astype(dn, "float32")

    def _bound_holds(self, rows_np: np.ndarray, kth):
        """For ``rows`` that failed :meth:`_bound`: does ``kth`` reach a tighter bound?

        With D = θ − θ_built split along the leading principal directions V of the items:
        max_i κ·((V·D)·(V·x_i)) + κ·‖D − VᵀV·D‖·max_i ‖x_i − VᵀV·x_i‖, where the first max needs
        only the vertices of the convex hull of the V·x_i (a linear function is largest at a
        vertex): O(d·dirs + hull·dirs) per row. Tighter than ‖D‖ when the items lie close to a
        few directions. Rows that fail it are scanned in full, which also re-anchors their bound.
        """
        be = self.be
        r = be.asarray(rows_np, "int64")
        dp = self._th.times(r, self._v) - be.take_rows(self._pa, r)
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
        u, base = self._utility_from_scores(rb, s)
        allowed = be.take_rows(self._allowed, rb)
        ur = be.where(allowed, u, -np.inf)
        tb = be.argmax(ur, 1)[:, None] if k == 1 else be.topk_indices(ur, k)
        ub = be.gather(ur, be.arange(len(bad))[:, None], tb)
        self._refresh(bad, s, base, allowed)
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
        items = self._best_candidates(1)[0][:, 0]
        val = self._exact_values(self._rows, items, self._cosine_items(items))
        return be.to_numpy(items), be.to_numpy(val).astype(np.float64)

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
        ab = self.be.asarray(self._check_actions(slates, slate=True), "int64")
        return self._slate_values(ab, self._slate_cosines(ab))

    def _slate_values(self, ab, s) -> np.ndarray:
        """:meth:`slate_expected_rewards` of checked (B, k) backend slates ``ab`` with cosines ``s``."""
        be = self.be
        r2 = be.arange(self.n_users)[:, None] + 0 * ab
        u = self._exact_utility(r2, ab, s)  # float64, as in _exact_values
        cuts, temp = be.astype(self._cuts, "float64"), be.astype(self._temp, "float64")
        probs = kind_probabilities(u, cuts[:, None, :] + 0 * u[..., None], temp[:, None] + 0 * u)
        blocked = ~be.gather(self._allowed, r2, ab)
        onehot = be.zeros(N_KINDS, "float64")
        onehot[BLOCK] = 1.0
        probs = be.where(blocked[..., None], onehot + 0 * probs, probs)
        exam = be.asarray(self.config.cascade.examination_probs(ab.shape[1]), "float64")
        return be.to_numpy(slate_value(probs, exam, be.asarray(self.rewards, "float64"))).astype(np.float64)

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
    def step(self, actions, *, active=None) -> StepResult:
        """Show one item (B,) or one slate (B, k) to each slot; see the module docstring.

        A slate may repeat an item; each copy is examined and answered independently.
        ``active`` ((B,) bool, default all True): rows where it is False are refused, shown
        nothing and left as they were; what they report and what is drawn: :mod:`envs.refused_rows`.
        The whole step runs on one BLAS thread (:mod:`envs.blas_threads`): its products are small,
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
        be, b, cfg = self.be, self.n_users, self.config
        rows_np = self._rows_np
        rows = self._rows
        ab = be.asarray(a, "int64")
        r_block = float(self.rewards[BLOCK])
        s_chosen = None
        ret_u = None
        a_u = None  # θ·u of every slot, when computed with the cosines (see _cosine_items_many)
        if a.ndim == 1:
            if self._monotone:  # the best items first: their cosines and the chosen ones in one pass
                top = self._best_candidates(1)[0][:, 0]
                (s_chosen, s_top), a_u = self._cosine_items_many([ab, top])
            else:
                s_chosen = self._cosine_items(ab)
            flat = self._rown + ab
            util, raw_fat = self._chosen_utility(ab, flat, s_chosen)
            blocked = ~be.take(self._allowed, flat)
            y = util * self._it  # utility in temperature units (float32: the feedback draw)
            if self._monotone:  # the best and the chosen item's exact values in one pass
                raw2 = None if raw_fat is None else be.cat([be.take(self._fat.f, self._rown + top), raw_fat])
                e2 = self._exact_values(be.cat([rows, rows]), be.cat([top, ab]),
                                        be.cat([s_top, s_chosen]), raw2)
                best, e_chosen = be.to_numpy(e2[:b]), e2[b:]
            else:
                _, best = self.best_items()
                e_chosen = self._exact_values(rows, ab, s_chosen, raw_fat)
            e_chosen = be.where(blocked, r_block, e_chosen)
            # the feedback uniforms and the return uniforms in one draw (same stream as two)
            u2 = self._rng.random(2 * b)
            ret_u = u2[b:]
            unif = be.asarray(np.clip(u2[:b], _EPS, 1 - _EPS), "float32")
            kinds = sample_kinds_scaled(y, self._ct, unif)
            kinds = be.to_numpy(be.where(blocked, BLOCK, kinds)).astype(np.int64)
            position = np.zeros(b, dtype=np.int64)
            item = a.copy()
            accumulate = False
        else:
            k = a.shape[1]
            _, best = self.best_slates(k)
            s_slate = self._slate_cosines(ab)  # the chosen slates' cosines, for both uses below
            e_chosen = self._slate_values(ab, s_slate)
            r2 = rows[:, None] + 0 * ab
            util = self._utility(r2, ab, s_slate)
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
        if idle is not None:
            refuse_outputs(idle, kinds, position, item, e_chosen, r_block, be)
        # the best action is worth at least the one taken: where the candidates' float32 ranking
        # missed the chosen item by a rounding (near-ties), the chosen value is the better bound
        # (for slates, also where the greedy slate is beaten: see best_slates)
        best = np.maximum(np.asarray(best, dtype=np.float64), be.to_numpy(e_chosen).astype(np.float64))
        reward = self.rewards[kinds]
        uid = self._pid.copy()
        # ---- state updates
        held = HeldFatigue(self._fat, idle) if idle is not None and cfg.fatigue.enabled else None
        if cfg.fatigue.enabled:
            rewritten = self._fat.tick()
            if accumulate:
                self._fat.expose(exp_rows, exp_items, accumulate)
            else:
                self._fat.expose_single(rows, ab, flat, None if rewritten else raw_fat)
            if held is not None:
                held.restore()
        responded = item >= 0
        exhausted = None  # people who blocked all but fewer than a slate's worth of items
        if cfg.blocking.enabled:
            bl = _nz(responded & (kinds == BLOCK))
            if len(bl):
                rb, ib = be.asarray(bl, "int64"), be.asarray(item[bl], "int64")
                self._allowed[rb, ib] = False
                width = 1 if a.ndim == 1 else a.shape[1]
                left = be.to_numpy(be.take_rows(self._allowed, rb).sum(1))
                if (left < width).any():
                    exhausted = np.zeros(b, dtype=bool)
                    exhausted[bl[left < width]] = True
                keep = self._topa[rb] & (self._top[rb] != ib[:, None])
                self._topa[rb] = keep
                self._topb[rb] = be.where(keep, self._topb[rb], -np.inf)
                self._tibm[rb] = be.where(keep, self._tibm[rb], -np.inf)
        if self._pull_on:
            dr = _nz(responded & (kinds > NEUTRAL))
            if len(dr):
                if s_chosen is not None:
                    self._drift(dr, item[dr], s_chosen[be.asarray(dr, "int64")], ab, a_u=a_u)
                else:
                    self._drift(dr, item[dr])
        if self._trend is not None:
            self._trend_step(idle)
        negative = responded & (kinds < NEUTRAL)
        if cfg.patience.enabled:
            self._patience -= negative
        self._sstep += 1
        if idle is not None:
            self._sstep[idle] -= 1
        terminated = (self._patience <= 0) if cfg.patience.enabled else np.zeros(b, dtype=bool)
        if exhausted is not None:  # nothing left to show them: the session ends and they leave
            terminated = terminated | exhausted
        if cfg.session_length:
            truncated = ~terminated & (self._sstep >= cfg.session_length)
        else:
            truncated = np.zeros(b, dtype=bool)
        ended = terminated | truncated
        if ret_u is None:
            ret_u = self._rng.random(b)
        returned = ended & (ret_u < cfg.returns.p_return)
        if exhausted is not None:
            returned &= ~exhausted
        churned = ended & ~returned
        ret_rows = _nz(returned)
        if len(ret_rows):
            if cfg.fatigue.enabled:
                self._fat.recover_rows(be.asarray(ret_rows, "int64"), cfg.returns.gap)
            self._new_session(ret_rows)
        self._hist.record(responded & (kinds > NEUTRAL), item, self._feat_np)  # before new people reset it
        self._spawn(_nz(churned))
        self._t += 1
        return StepResult(user_ids=uid, kind=kinds, reward=reward, position=position, item=item,
                          expected_reward_chosen=be.to_numpy(e_chosen).astype(np.float64),
                          best_expected_reward=np.asarray(best, dtype=np.float64),
                          terminated=terminated, truncated=truncated, returned=returned, churned=churned,
                          observation=self._observation())

    def _uniform(self, shape):
        return np.clip(self._rng.random(shape), _EPS, 1 - _EPS)

    def _trend_step(self, idle) -> None:
        """Pull every active slot's θ toward this step's trend item (:mod:`envs.taste_trend`):
        :meth:`_drift` of every row toward one item, at the trend's rate and Gram entries."""
        rows = self._rows_np if idle is None else np.setdiff1d(self._rows_np, idle)
        if len(rows):
            be, j = self.be, self._trend.item_at(self._t, self.n_items)
            g = be.take(self._trend.dots(self._xg_np, be), be.take_rows(self._top, be.asarray(rows, "int64")))
            self._drift(rows, np.full(len(rows), j), eta=self._trend.rate, g=g)

    def _drift(self, rows_np: np.ndarray, items_np: np.ndarray, s_rj=None, all_items=None,
               eta=None, g=None, a_u=None) -> None:
        """The drift step of :class:`envs.dynamics.Drift` for ``rows`` (sorted) toward items ``j``:
        θ' = a·u + ρ·normalise(θ⊥ + rate·x⊥_j), with u the catalog's direction, a = θ·u (kept),
        ρ = √(1 − a²), ⊥ the part orthogonal to u. O(d + K) per user, nothing of size n_items.

        Written θ' = f·(θ + rate·x_j + γ·u) with f = ρ/‖θ⊥ + rate·x⊥_j‖ and γ = a(1 − f)/f − rate·(u·x_j):
        θ moves by one sparse axpy (:class:`envs.taste_rows.TasteRows`); the candidates' cosines
        move by the Gram entries rate·x_j·x_c (a gather, not a matmul) plus γ·(u·x_c); the bound
        on the other items is tracked through ‖θ − θ_built‖² (see :meth:`_bound`). ``s_rj``: the
        rows' current cosines θ·x_j when known. ``all_items`` (B,): every row's item (single
        items), so the candidate arrays are updated in place for all rows (rows that do not
        drift get + 0 and · 1, which leaves them unchanged) instead of gathered and scattered.
        ``eta``, ``g``: another rate than the drift's, and the rows' (m, K) rate·x_j·x_c (the trend).
        ``a_u`` (B,): every slot's θ·u when already computed (same numbers as ``dot_vector``).
        A taste lying along u (ρ < 10⁻³) has no distinctive part to move and is left as it is.
        """
        be = self.be
        eta = self._eta if eta is None else eta
        f64 = lambda v: be.astype(v, "float64")  # noqa: E731  per-row scalars in float64
        r, j = be.asarray(rows_np, "int64"), be.asarray(items_np, "int64")
        if s_rj is None:
            s_rj = self._th.dot_pairs(self._x, r, j)
        s = f64(s_rj)
        a = f64(self._th.dot_vector(r, self._cv) if a_u is None else a_u[r])  # θ·u, what the step keeps
        uj = f64(be.take(self._cx, j))  # u·x_j
        xq = 1.0 if self._xq is None else f64(be.take(self._xq, j))  # ‖x_j‖² (1 in full)
        rho2 = 1.0 - a * a
        n2 = rho2 + (2.0 * eta) * (s - a * uj) + (eta * eta) * (xq - uj * uj)  # ‖θ⊥ + η·x⊥_j‖²
        ok = be.to_numpy((rho2 > 1e-6) & (n2 > 1e-12))
        if not ok.all():  # tastes along u: nothing to move
            keep = _nz(ok)
            if not len(keep):
                return
            kb = be.asarray(keep, "int64")
            rows_np, r, j = rows_np[keep], r[kb], j[kb]
            s, a, uj, rho2, n2 = s[kb], a[kb], uj[kb], rho2[kb], n2[kb]
            xq = xq if self._xq is None else xq[kb]
            g = None if g is None else g[kb]
        f = be.sqrt(rho2 / n2)
        gam = a * (1.0 - f) / f - eta * uj
        f32, gam32 = be.astype(f, "float32"), be.astype(gam, "float32")
        self._th.pull(r, self._x, j, eta, 1.0 / f32, self._cv, gam32)
        if all_items is not None:
            b = self.n_users
            if self._gp is not None:
                ncol = self._gp.shape[1]
                jz = be.zeros(b, "int64") + self.n_items * ncol  # the zero row of _gp
                jz[r] = j * ncol
                g = be.take_valid(self._gp, jz[:, None] + self._topl)
            else:
                g = be.zeros(self._tops.shape, "float32")
                g[r] = self._gram_rows(r, j)
            fm = be.zeros(b, "float32") + 1.0
            fm[r] = f32
            gm = be.zeros(b, "float32")
            gm[r] = gam32
            tops = self._tops
            tops += g
            tops += gm[:, None] * be.take(self._cx, self._top)
            tops *= fm[:, None]
            topb = self._topb
            topb[...] = tops
            topb *= self._kappa[:, None]
            topb += self._tibm
        else:
            if g is None:
                g = self._gram_rows(r, j)
            top = be.take_rows(self._top, r)
            tops = be.take_rows(self._tops, r)
            tops += g
            tops += gam32[:, None] * be.take(self._cx, top)
            tops *= f32[:, None]
            self._tops[r] = tops
            self._topb[r] = self._kappa[r][:, None] * tops + be.take_rows(self._tibm, r)
        # ‖θ − θ_built‖², with θ' = f·θ + w, w = fη·x_j + h·u, h = f·γ, D = θ − θ_b, unit θ and θ_b:
        # ‖D'‖² = f‖D‖² + (1 − f)² + ‖w‖² + 2f·θ·w − 2·θ_b·w (θ_b·x_j a gather from the built cosines)
        xb = f64(be.take(self._sa, r * self._sa.shape[1] + j))
        ab = f64(be.take(self._cb, r))
        wx, h = f * eta, f * gam
        ww = wx * wx * xq + 2.0 * wx * h * uj + h * h
        d2 = (f * be.take(self._d2, r) + (1.0 - f) ** 2 + ww + 2.0 * f * (wx * s + h * a)
              - 2.0 * (wx * xb + h * ab))
        self._d2[r] = be.where(d2 > 0, d2, 0.0)
        self._moved[rows_np] = True

    def theta(self) -> np.ndarray:
        """Current true tastes (B, d) — for evaluation and tests only, never for agents."""
        self._require_started()
        th = self.be.to_numpy(self._th.get())
        if self._basis is not None:
            return (th.astype(np.float64) @ self._basis.T).astype(np.float32)
        return th.copy()
