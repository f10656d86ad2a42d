"""The world's tables built once from the catalog and the population (rebuilt by ``add_items``).

Items: their positions in the tastes' coordinates (the embedding space, or the span of the tastes
with ``Drift(basis="tastes")``), biases, the catalog's direction u and every item's u·x_i, near
duplicates (fatigue), and the geometry of the drift bound (a few principal directions V and the
convex hull of the V·x_i). Population users: taste cosines with every item, taste scale κ, user
bias, temperature and cut points, u·θ and V·θ, and their top-K candidate lists (the rows a fresh
person's slot starts from).
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.dynamics import near_duplicates
from banditsim.envs.feedback import scaled_cuts
from banditsim.envs.population import unit_rows
from banditsim.envs.world.candidates import DRIFT_GRID, candidate_lists

_N_DIRS = 4  # principal directions used by the fallback drift bound
_CAND_BLOCK = 1 << 24  # scores per row block when building every population user's candidates


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


def cosine_table(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """θ·xᵀ (people × items) as float32. Big ones go in row blocks of ≤ ``_CAND_BLOCK`` entries,
    each product cast to float32 as it comes, so no float64 matrix twice the size of the result
    is built (3 GiB at 2,000 people × 100,000 items); smaller ones in one product."""
    n, m = theta.shape[0], x.shape[0]
    if n * m <= _CAND_BLOCK:
        return (theta @ x.T).astype(np.float32, copy=False)
    out = np.empty((n, m), dtype=np.float32)
    step = max(1, _CAND_BLOCK // m)
    for lo in range(0, n, step):
        np.matmul(theta[lo:lo + step], x.T, out=out[lo:lo + step], casting="same_kind")
    return out


class ItemTables:
    """The tables built once from the item positions and the population, never written afterwards.

    Items (backend arrays unless named ``_np``): ``positions_np`` (n_items, d) the positions the world
    scores; ``items``/``items_t``/``items_np`` the same in the tastes' coordinates (and transposed, and
    numpy float32); ``item_sq_norms`` ‖x_i‖² there (None in full coordinates, where it is 1);
    ``item_bias``; ``neighbours`` near-duplicate pairs (fatigue); ``centre_dir`` the catalog's direction u
    and ``item_centre_dots`` every u·x_i; ``item_spread`` every ‖x_i⊥‖ (the part orthogonal to u),
    ``spread_max`` their largest and ``drift_grid`` (the grid of the candidates' envelope, see
    :func:`~banditsim.envs.world.candidates.others_envelope`, and its widths); ``principal_dirs`` V (d, ≤ 4),
    ``hull_proj_t`` the V·x_i of the convex hull's vertices (transposed) and ``residual_norm_max``
    max_i ‖x_i − VᵀV·x_i‖: the split drift bound. Population users: ``pop_theta``, ``pop_cosines``
    (n_pop, n_items) float32, ``pop_kappa``, ``pop_user_bias``, ``pop_temperature``,
    ``pop_inv_temperature``, ``pop_cuts``, ``pop_scaled_cuts`` (N_CUTS, n_pop), ``pop_centre_dots``
    u·θ, ``pop_principal`` V·θ, ``n_candidates`` K and ``pop_candidates`` their candidate lists.
    """

    def __init__(self, be, config, population, basis, centre: np.ndarray, x: np.ndarray,
                 item_bias: np.ndarray):
        """Tables of item positions ``x`` (n_items, d) with biases ``item_bias`` for ``population``
        under ``config``; ``basis``: the tastes' span (``Drift(basis="tastes")``) or None; ``centre``:
        the catalog's centre c, kept by drift. Call on one BLAS thread (see ``World._set_items``)."""
        self.be = be
        pop = population
        self.positions_np = x
        self.neighbours = near_duplicates(x, config.fatigue)
        # the coordinates tastes live in: the embedding space, or the span of the tastes
        xr = x if basis is None else (x.astype(np.float64) @ basis).astype(np.float32)
        pth = pop.theta if basis is None else unit_rows(pop.theta.astype(np.float64) @ basis)
        xq = (xr.astype(np.float64) ** 2).sum(1)  # ‖x_i‖² in those coordinates (1 in full)
        self.item_sq_norms = None if basis is None else be.asarray(xq, "float32")
        # the catalog's direction u = c/‖c‖ in those coordinates (0 for a centred catalog), u·x_i of
        # every item and u·θ of every population user: what drift keeps (see Drift)
        cr = centre if basis is None else centre @ basis
        cn = float(np.linalg.norm(cr))
        cu = cr / cn if cn > 1e-9 else np.zeros_like(cr)
        self.centre_dir = be.asarray(cu, "float32")
        self.item_centre_dots = be.asarray(xr.astype(np.float64) @ cu, "float32")
        self.pop_centre_dots = be.asarray(np.asarray(pth, dtype=np.float64) @ cu, "float32")
        self._set_spread(xr, xq, cu)
        self.items = be.asarray(xr, "float32")
        self.items_t = be.asarray(np.ascontiguousarray(xr.T), "float32")  # Xᵀ, contiguous for row products
        self.item_bias = be.asarray(item_bias, "float32")
        # per population user: taste cosines and the top candidates by base utility
        self.pop_cosines = be.asarray(cosine_table(pth, xr), "float32")
        self.n_candidates = min(int(config.candidates), x.shape[0])
        self.pop_kappa = be.asarray(pop.taste_scale, "float32")
        self.items_np = np.ascontiguousarray(xr, dtype=np.float32)
        # every population user's candidates; World._set_items appends their Gram-cache columns
        self.pop_candidates = self._initial_candidates()
        self.pop_user_bias = be.asarray(pop.user_bias, "float32")
        self.pop_temperature = be.asarray(pop.temperature, "float32")
        self.pop_cuts = config.feedback.cut_points(be.asarray(pop.tau_neg, "float32"),
                                                      be.asarray(pop.tau_pos, "float32"), self.pop_temperature)
        # (N_CUTS, n_pop) cut points / temperature
        self.pop_scaled_cuts = scaled_cuts(self.pop_cuts, self.pop_temperature)
        self.pop_inv_temperature = 1.0 / self.pop_temperature
        self.pop_theta = be.asarray(pth, "float32")
        # leading principal directions V of the items: the drift bound splits θ − θ_built into
        # its part in span(V) (bounded item by item through the extremes of V·x) and the rest
        xx = xr.astype(np.float64)
        m = min(_N_DIRS, xr.shape[1])
        v = np.linalg.eigh(xx.T @ xx)[1][:, ::-1][:, :m]
        vx = xx @ v
        self.principal_dirs = be.asarray(v, "float32")
        rperp = np.sqrt(np.maximum(xq - (vx * vx).sum(1), 0.0)) + 1e-6
        self.residual_norm_max = float(rperp.max())  # max_i ‖x_i − VᵀV·x_i‖
        # a linear function of V·x_i is largest at a vertex of the points' convex hull
        hull = _hull_vertices(vx)
        self.hull_proj_t = be.asarray(np.ascontiguousarray(vx[hull].T), "float32")
        self.pop_principal = be.asarray(pth.astype(np.float64) @ v, "float32")

    def _set_spread(self, xr: np.ndarray, xq: np.ndarray, cu: np.ndarray) -> None:
        """``item_spread``, ``spread_max`` and ``drift_grid`` from the items ``xr``, their squared norms
        ``xq`` and the catalog's direction ``cu``."""
        # ‖x_i⊥‖, each item's part orthogonal to u: what drift (which keeps θ·u) can add to its cosine
        # per unit of ‖θ − θ_built‖ (+ a rounding margin, as for the residual norms)
        spread = np.sqrt(np.maximum(xq - (xr.astype(np.float64) @ cu) ** 2, 0.0)) + 1e-6
        self.item_spread = self.be.asarray(spread, "float32")
        self.spread_max = float(spread.max())
        grid = np.asarray(DRIFT_GRID, dtype=np.float64)
        # the envelope's grid of ‖θ − θ_built‖ and its intervals' widths (1 past the last point: unused)
        self.drift_grid = (self.be.asarray(grid, "float64"), self.be.asarray(np.r_[np.diff(grid), 1.0], "float64"))

    def _initial_candidates(self):
        """:func:`~banditsim.envs.world.candidates.candidate_lists` of every population user with every item allowed,
        in row blocks of ≤ ``_CAND_BLOCK`` scores, so the temporaries stay small for big catalogs."""
        n_people, n_items = self.pop_cosines.shape
        step = max(1, _CAND_BLOCK // max(1, n_items))
        parts = [candidate_lists(self.be, self.pop_cosines[lo:lo + step], self.pop_kappa[lo:lo + step],
                                 self.item_bias, self.n_candidates, None, self.item_spread)
                 for lo in range(0, n_people, step)]
        return tuple(self.be.cat([p[j] for p in parts]) for j in range(len(parts[0])))

    # the tables computed here (the others may be the population's own arrays, which stay writable)
    _FROZEN = ("positions_np", "items_np", "items", "items_t", "item_sq_norms", "item_bias", "pop_cosines",
               "neighbours", "pop_candidates", "item_centre_dots", "pop_centre_dots", "item_spread")

    def freeze(self) -> None:
        """Make the computed numpy tables read-only: copies of a World share them, so a write must raise."""
        for name in self._FROZEN:
            value = getattr(self, name)
            for arr in value if isinstance(value, tuple) else (value,):
                if isinstance(arr, np.ndarray):
                    arr.flags.writeable = False
