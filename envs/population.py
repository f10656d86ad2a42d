"""A population of simulated users: true tastes, biases, ordinal parameters, visible features.

Utility of item i for user u (before dynamics)::

    u_ui = κ_u · (θ_u · x_i) + b_u + b_i

θ_u is a unit vector in the item-embedding space (never shown to agents), κ_u the user's
taste strength, b_u and b_i user and item biases. ``tau_neg``/``tau_pos``/``temperature``
are the per-user ordinal parameters of :mod:`banditsim.envs.feedback`. ``features`` are what an
agent may see about the user.

``x_i`` is where the world places item i: the catalog's item vector, unless the population
carries ``item_positions`` (users fitted with per-item offsets, :mod:`banditsim.envs.text_mf`): then the
world scores every user against those positions while agents keep seeing the catalog's vectors.

Constructors: :func:`banditsim.envs.fit_ratings.movielens_population` (fitted on real ratings),
:func:`banditsim.envs.personas.persona_population` (persona text), :func:`banditsim.envs.clusters.cluster_population`
(around item clusters).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from banditsim.envs.world_errors import ItemVectorError, PopulationError


def check_item_vectors(item_vectors, name: str = "item vectors") -> np.ndarray:
    """Validate (n, d) finite item vectors and return them as float32 unit rows.

    >>> check_item_vectors(np.array([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    >>> check_item_vectors(np.array([[np.nan, 1.0]]))
    Traceback (most recent call last):
    ...
    banditsim.envs.world_errors.ItemVectorError: item vectors row 0 holds NaN or inf
    """
    x = np.asarray(item_vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ItemVectorError(f"{name} must be a non-empty 2-d array (n_items, dim), got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ItemVectorError(f"{name} row {int(np.flatnonzero(bad)[0])} holds NaN or inf")
    norms = np.linalg.norm(x, axis=1)
    if (norms == 0).any():
        raise ItemVectorError(f"{name} row {int(np.flatnonzero(norms == 0)[0])} is all zeros")
    return (x / norms[:, None]).astype(np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    x = np.asarray(x, dtype=np.float64)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def taste_span(theta, tol: float = 1e-4):
    """Orthonormal basis (d, r) of the span of the taste rows when r < d, else None.

    Singular values below ``tol`` times the largest count as zero (float32 tastes that lie in
    a subspace have rounding-size components outside it).

    Examples
    --------
    >>> th = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]], dtype=np.float32)
    >>> u = taste_span(th)
    >>> u.shape, np.allclose(th @ u @ u.T, th, atol=1e-6)
    ((3, 2), True)
    >>> taste_span(np.eye(3)) is None
    True
    """
    s_vals, vt = np.linalg.svd(np.asarray(theta, dtype=np.float64), full_matrices=False)[1:]
    r = int((s_vals > tol * s_vals[0]).sum())
    return None if r >= vt.shape[1] else np.ascontiguousarray(vt[:r].T)


@dataclass(frozen=True)
class Population:
    """Users of the simulated world (arrays indexed by user row).

    >>> rng = np.random.default_rng(0)
    >>> theta = unit_rows(rng.normal(size=(3, 8)))
    >>> pop = Population(theta=theta, taste_scale=np.ones(3), user_bias=np.zeros(3),
    ...                  tau_neg=-np.ones(3), tau_pos=np.ones(3), temperature=np.ones(3) * 0.3,
    ...                  features=rng.normal(size=(3, 2)))
    >>> pop.n_users, pop.dim, pop.utility(theta[:1]).shape
    (3, 8, (3, 1))
    """

    theta: np.ndarray
    taste_scale: np.ndarray
    user_bias: np.ndarray
    tau_neg: np.ndarray
    tau_pos: np.ndarray
    temperature: np.ndarray
    features: np.ndarray
    item_bias: np.ndarray | None = None
    item_positions: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    source: str = "custom"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        theta = np.asarray(self.theta, dtype=np.float32)
        if theta.ndim != 2 or theta.shape[0] == 0:
            raise PopulationError(f"theta must be (n_users, dim) with n_users ≥ 1, got shape {theta.shape}")
        if not np.isfinite(theta).all():
            raise PopulationError("theta holds NaN or inf")
        if np.abs(np.linalg.norm(theta, axis=1) - 1).max() > 1e-3:
            raise PopulationError("theta rows must be unit vectors")
        n = theta.shape[0]
        object.__setattr__(self, "theta", theta)
        for name in ("taste_scale", "user_bias", "tau_neg", "tau_pos", "temperature"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if v.shape != (n,):
                raise PopulationError(f"{name} must have one value per user ({n}), got shape {v.shape}")
            if not np.isfinite(v).all():
                raise PopulationError(f"{name} holds NaN or inf")
            object.__setattr__(self, name, v)
        if (self.temperature <= 0).any():
            raise PopulationError("temperature must be positive for every user")
        if (self.taste_scale < 0).any():
            raise PopulationError("taste_scale must be non-negative for every user")
        if not (self.tau_neg < self.tau_pos).all():
            raise PopulationError("tau_neg must be below tau_pos for every user")
        feats = np.asarray(self.features, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] != n:
            raise PopulationError(f"features must be (n_users={n}, d_u), got shape {feats.shape}")
        if not np.isfinite(feats).all():
            raise PopulationError("features hold NaN or inf")
        object.__setattr__(self, "features", feats)
        if self.item_bias is not None:
            ib = np.asarray(self.item_bias, dtype=np.float64).reshape(-1)
            if not np.isfinite(ib).all():
                raise PopulationError("item_bias holds NaN or inf")
            object.__setattr__(self, "item_bias", ib)
        if self.item_positions is not None:
            pos = check_item_vectors(self.item_positions, name="item_positions")
            if pos.shape[1] != theta.shape[1]:
                raise PopulationError(f"item_positions have dim {pos.shape[1]} but tastes have dim {theta.shape[1]}")
            object.__setattr__(self, "item_positions", pos)
        if self.feature_names and len(self.feature_names) != feats.shape[1]:
            raise PopulationError(f"{len(self.feature_names)} feature names for {feats.shape[1]} features")
        ids = tuple(str(u) for u in self.user_ids) or tuple(str(i) for i in range(n))
        if len(ids) != n:
            raise PopulationError(f"{len(ids)} user ids for {n} users")
        object.__setattr__(self, "user_ids", ids)

    @property
    def n_users(self) -> int:
        return self.theta.shape[0]

    @property
    def dim(self) -> int:
        return self.theta.shape[1]

    def item_bias_for(self, n_items: int) -> np.ndarray:
        """Item biases for ``n_items`` items (zeros where the population has none)."""
        out = np.zeros(n_items)
        if self.item_bias is not None:
            m = min(n_items, self.item_bias.shape[0])
            out[:m] = self.item_bias[:m]
        return out

    def positions_for(self, item_vectors, start: int = 0) -> np.ndarray:
        """Where the world places items ``start … start + n − 1`` given their catalog vectors (n, d):
        the vectors themselves, or the population's ``item_positions`` of those items."""
        if self.item_positions is None:
            return item_vectors
        n = np.shape(item_vectors)[0]
        if start + n > self.item_positions.shape[0]:
            raise ItemVectorError(f"the population places {self.item_positions.shape[0]} items, "
                                  f"not {start + n}")
        return self.item_positions[start:start + n]

    def utility(self, item_vectors, users=None, *, with_bias: bool = True) -> np.ndarray:
        """(n_users, n_items) utilities without dynamics (``with_bias=False``: taste part only).

        ``item_vectors`` are the catalog's; the population's ``item_positions`` replace them if it has any.
        """
        x = np.asarray(item_vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ItemVectorError(f"item vectors must be (n_items, {self.dim}), got shape {x.shape}")
        x = self.positions_for(x)
        idx = np.arange(self.n_users) if users is None else np.asarray(users)
        u = self.taste_scale[idx, None] * (self.theta[idx] @ x.T)
        if with_bias:
            u = u + self.user_bias[idx, None] + self.item_bias_for(x.shape[0])[None, :]
        return u

    def p_positive(self, item_vectors, users=None, *, with_bias: bool = True) -> np.ndarray:
        """(n_users, n_items) probability of a positive response (no dynamics)."""
        from scipy.special import expit

        idx = np.arange(self.n_users) if users is None else np.asarray(users)
        u = self.utility(item_vectors, idx, with_bias=with_bias)
        return expit((u - self.tau_pos[idx, None]) / self.temperature[idx, None])

    def subset(self, users) -> "Population":
        """The population restricted to the given user rows."""
        idx = np.asarray(users)
        return replace(self, theta=self.theta[idx], taste_scale=self.taste_scale[idx],
                       user_bias=self.user_bias[idx], tau_neg=self.tau_neg[idx], tau_pos=self.tau_pos[idx],
                       temperature=self.temperature[idx], features=self.features[idx],
                       user_ids=tuple(self.user_ids[i] for i in idx))


def projection_features(theta: np.ndarray, n_features: int, noise: float, rng: np.random.Generator):
    """Visible features: a fixed random projection of θ plus per-user Gaussian noise.

    >>> f = projection_features(np.eye(4, dtype=np.float32), 3, 0.1, np.random.default_rng(0))
    >>> f.shape
    (4, 3)
    """
    if n_features < 1:
        raise PopulationError(f"n_features must be ≥ 1, got {n_features}")
    proj = rng.normal(size=(theta.shape[1], n_features)) / np.sqrt(theta.shape[1]) * np.sqrt(theta.shape[1] / n_features)
    clean = theta @ proj
    return (clean + noise * clean.std() * rng.normal(size=clean.shape)).astype(np.float32)


def _row_moments(theta: np.ndarray, x: np.ndarray, block: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of each user's cosines θ_u·x_i over the items, in row blocks of ≤ ``block``
    cosines: the full users × items matrix is GiBs for big catalogs. (A block's product may
    round differently from the full one, so up to ``block`` cosines are done in one piece.)"""
    step = max(1, block // max(1, x.shape[0]))
    mean, sd = np.empty(theta.shape[0]), np.empty(theta.shape[0])
    for lo in range(0, theta.shape[0], step):
        sims = theta[lo:lo + step] @ x.T
        mean[lo:lo + step], sd[lo:lo + step] = sims.mean(axis=1), sims.std(axis=1)
    return mean, sd


def synthetic_population(theta, item_vectors, rng: np.random.Generator, *, spread: float = 1.0,
                         bias_sd: float = 0.3, tau_neg: float = -0.8, tau_pos: float = 0.8,
                         tau_sd: float = 0.2, temperature: float = 0.4, temperature_sd: float = 0.2,
                         n_features: int = 16, feature_noise: float = 0.5, source: str = "synthetic",
                         user_ids=(), meta=None) -> Population:
    """Calibrate synthetic tastes so utilities are on a standard scale for this catalog.

    κ_u = spread / sd_i(θ_u·x_i) and b_u = −κ_u·mean_i(θ_u·x_i) + N(0, bias_sd²), so each
    user's taste utilities over the catalog have mean ≈ b_u noise and sd ``spread``.
    Thresholds vary per user by N(0, tau_sd²), temperature by a log-normal factor.
    """
    theta = unit_rows(theta)
    x = check_item_vectors(item_vectors)
    if theta.shape[1] != x.shape[1]:
        raise PopulationError(f"tastes have dim {theta.shape[1]} but item vectors have dim {x.shape[1]}")
    for name, v in (("spread", spread), ("temperature", temperature)):
        if not v > 0:
            raise PopulationError(f"{name} must be positive, got {v}")
    if not tau_neg < tau_pos:
        raise PopulationError(f"tau_neg ({tau_neg}) must be below tau_pos ({tau_pos})")
    n = theta.shape[0]
    sims_mean, sims_sd = _row_moments(theta, x)
    kappa = spread / np.maximum(sims_sd, 1e-6)
    bu = -kappa * sims_mean + bias_sd * rng.normal(size=n)
    gap = (tau_pos - tau_neg) / 2
    jit_neg = tau_sd * rng.normal(size=n)
    jit_pos = tau_sd * rng.normal(size=n)
    tn = np.minimum(tau_neg + jit_neg, tau_pos + jit_pos - 0.1 * gap)
    temp = temperature * np.exp(temperature_sd * rng.normal(size=n))
    feats = projection_features(theta, n_features, feature_noise, rng)
    return Population(theta=theta, taste_scale=kappa, user_bias=bu, tau_neg=tn, tau_pos=tau_pos + jit_pos,
                      temperature=temp, features=feats, item_bias=np.zeros(x.shape[0]),
                      feature_names=tuple(f"proj_{j}" for j in range(n_features)),
                      user_ids=user_ids, source=source, meta=dict(meta or {}))
