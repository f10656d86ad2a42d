"""Jointly differentially private linear bandits (Shariff & Sheffet, NeurIPS 2018): the shared part.

What is private, and against what
---------------------------------
A *row* is one user's interaction: the context x the agent sees and the reward y it learns from.
Two streams of rows are *neighbours* when they differ in the (x, y) of exactly one row
(event-level privacy; a person with k interactions is covered k-fold, by group privacy).  The
agent is **(ε, δ)-jointly differentially private** (Kearns et al. 2014): for every row, the
actions (and propensities) it gives to *all other rows*, at any step, taken together, are
(ε, δ)-indistinguishable between neighbouring streams that differ in that row.  The row's own
action may depend on its own context (that is what "joint" allows).  The agent is the trusted
curator: it holds the exact sums (the mechanism needs them) and never decides from them; the
guarantee is about what leaves it (actions, propensities, explanations, logs), not its memory.

How: the agent only ever learns from released, noisy statistics.  Per replica and arm it keeps
M = Σ vvᵀ over the rows it answered, v = [φ, y] ((D + 1) × (D + 1), D the design size), and
releases its running sum through the binary-tree mechanism (``banditsim.agents._private.tree_mechanism``): each
update call is one step whose answered rows are summed into one leaf, each leaf enters at most
m = 1 + ⌈log₂ horizon⌉ released p-sums, each p-sum carries fresh symmetric Gaussian noise
N = (Z + Zᵀ)/√2 with Z_ij ~ N(0, σ²), and

    σ = 4·√m·L̃²·ln(4/δ) / ε,   L̃² = max‖φ‖² + max y² = 2          (Shariff & Sheffet, §4.2)

Acting uses only what was released before the act plus the acting row's own context
(billboard lemma), and draws random numbers in amounts that depend on shapes only.  Why σ
suffices: change one row and each of its m p-sums moves by Δ = vvᵀ − v'v'ᵀ (possibly in two
arms' sums), whose free entries (diagonal/√2, upper triangle) have L2 norm ≤ L̃²; the m releases
together are one Gaussian mechanism of sensitivity √m·L̃², and this σ meets the exact condition
of Balle & Wang (2018, Thm 8) for every ε > 0, δ ∈ (0, 1) (``tests/agents/test_private_agents.py``
checks it on a grid; the paper's constant is conservative).  After ``horizon`` steps a new tree
starts, and a row still enters at most m p-sums: the guarantee holds for any number of steps,
the noise of the released sums grows by one closed tree every ``horizon`` steps.

Assumptions, enforced by clipping: user features ‖x‖ ≤ B = ``feature_bound`` (default 1; a longer x
is shrunk onto that sphere) and rewards |y| ≤ R = ``reward_bound`` (default 1; clipped).  The tree
holds the scaled rows φ = z/D, y/R with z = [x, 1] the non-private agents' design and
D = diag(√2·B, …, √2·B, √2) (D = B·I without intercept), so ‖φ‖ ≤ 1, |y/R| ≤ 1 and L̃² = 2 whatever
B and R are.  The bounds must be chosen without looking at the data (a data-dependent bound leaks).
A clipped row changes the model (it is fitted to the shrunk x, the clipped y): ``clipped`` counts
them; with bounds that hold for every row there is no such bias.  The seed (``random_state``) must be
secret: the noise comes from a stream derived from it, and whoever knows the seed can subtract it.

Model (post-processing of the releases, in the design z): V = D(G̃ + 2Υ·I)D + ridge·I and
ũ_z = R·D·ũ from the released [[G̃, ũ], [ũᵀ, ·]]; the posterior of ``linucb``/``lin_ts`` with
Σ = V⁻¹ and μ = Σũ_z.  The shift 2Υ, with Υ = σ·√(2m)·(4√(D + 1) + 2·ln(2·horizon/α)),
α = ``SHIFT_FAILURE`` = 0.05, is the paper's regulariser: G̃ + 2Υ·I ≥ 0 (so V ≥ ridge·I) with
probability ≥ 1 − α over the whole run; if a noise draw still breaks that, the eigenvalues of
G̃ + 2Υ·I are raised to 0 (post-processing).  Υ ∝ σ ∝ 1/ε: at ε = 1,000 (δ = 1e-5, horizon 1024,
D + 1 = 18) 2Υ ≈ 123, i.e. a ridge of ≈ 245·B² on the features (≈ 245 on the intercept),
which keeps the model near its prior for hundreds of rows per arm: that gap to the non-private
agent is the price of the guarantee, by design, not a defect.  As ε → ∞, σ and Υ vanish and, for rows within the bounds,
the agent becomes exactly its non-private version with the same ``ridge``
(``tests/agents/test_private_limit.py``: Σ, μ within 1e-4 at ε = 1e9).  That is why the model is
read in the design z and not in the scaled φ: there the same ``ridge`` would count twice, and the
agent would not reach ``linucb`` even at ε → ∞ (figures: bench/README.md).
Disjoint models only (one per arm, on the user's features); numpy only.  Memory: the tree keeps
2·m·arms·(D + 1)² floats per replica (96 MB for 1,682 arms, 16 user features, horizon 1024).
"""

from __future__ import annotations

import math

import numpy as np

from banditsim._xp import cholesky
from banditsim.agents._linear.posterior_disjoint import DisjointLinearPosterior
from banditsim.agents._private.tree_mechanism import TreeAggregator, tree_levels
from banditsim.agents._validation import check_float, check_int
from banditsim.agents.types import Context

SHIFT_FAILURE = 0.05
"""α: the probability that the regulariser shift fails to dominate the noise over a run."""

MAX_HORIZON = 1 << 40
"""Largest tree horizon (41 levels): a bigger one would only add empty levels and memory."""

L_TILDE_SQ = 2.0
"""L̃² = max‖φ‖² + max y² after clipping (both bounds 1)."""


def noise_sigma(epsilon: float, delta: float, levels: int) -> float:
    """σ of every p-sum's noise entries: 4·√m·L̃²·ln(4/δ)/ε (Shariff & Sheffet 2018).

    >>> round(noise_sigma(1.0, 0.1, 11), 3)
    97.877
    """
    return 4.0 * math.sqrt(levels) * L_TILDE_SQ * math.log(4.0 / delta) / epsilon


def regulariser_shift(sigma: float, levels: int, size: int, horizon: int, alpha: float = SHIFT_FAILURE) -> float:
    """2Υ, Υ = σ·√(2m)·(4√size + 2·ln(2·horizon/α)): the paper's shift of the released Gram matrix."""
    upsilon = sigma * math.sqrt(2.0 * levels) * (4.0 * math.sqrt(size) + 2.0 * math.log(2.0 * horizon / alpha))
    return 2.0 * upsilon


def clipped_rows(features: np.ndarray | None, n_rows: int, fit_intercept: bool, bound: float) -> np.ndarray:
    """z = [x, 1] (or x, or [1] without features) with x shrunk onto the ball ‖x‖ ≤ ``bound`` where longer.

    The model's design: the non-private agents' ``user_design`` for every row inside the bound.

    >>> clipped_rows(np.array([[3.0, 4.0], [0.3, 0.4]]), 2, True, 1.0).round(4).tolist()
    [[0.6, 0.8, 1.0], [0.3, 0.4, 1.0]]
    """
    if features is None:
        return np.ones((n_rows, 1))
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    x = features * (bound / np.maximum(norm, bound))
    return np.concatenate([x, np.ones((n_rows, 1))], axis=1) if fit_intercept else x


def design_scale(dim: int, has_features: bool, fit_intercept: bool, bound: float) -> np.ndarray:
    """D with φ = z / D, ‖φ‖ ≤ 1: √2·bound per feature and √2 for the intercept (bound, 1 alone).

    >>> design_scale(3, True, True, 2.0).round(4).tolist()
    [2.8284, 2.8284, 1.4142]
    """
    if not has_features:
        return np.ones(dim)
    if not fit_intercept:
        return np.full(dim, bound)
    return np.r_[np.full(dim - 1, bound), 1.0] * math.sqrt(2.0)


def clipped_design(features: np.ndarray | None, n_rows: int, fit_intercept: bool) -> np.ndarray:
    """φ with ‖φ‖ ≤ 1 for ``bound`` 1: features shrunk to the unit ball, then [x, 1]/√2 (or x, or [1]).

    >>> clipped_design(np.array([[3.0, 4.0], [0.3, 0.4]]), 2, True).round(4).tolist()
    [[0.4243, 0.5657, 0.7071], [0.2121, 0.2828, 0.7071]]
    """
    z = clipped_rows(features, n_rows, fit_intercept, 1.0)
    return z / design_scale(z.shape[1], features is not None, fit_intercept, 1.0)


class PrivateDisjointPosterior(DisjointLinearPosterior):
    """Per-(replica, arm) models read from the tree mechanism's released sums of [φ, y][φ, y]ᵀ.

    The tree holds the scaled rows φ = z/D, y/R (``scale`` = D, ``reward_scale`` = R); the model is
    read back in the unscaled design z (post-processing): V = D(G̃ + 2Υ·I)D + ridge·I, ũ_z = R·D·ũ,
    so that with no noise (σ = 0, Υ = 0) it is exactly the non-private ridge regression on (z, y).
    """

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, sigma: float, horizon: int,
                 scale: np.ndarray | None = None, reward_scale: float = 1.0) -> None:
        self.levels = tree_levels(horizon)
        self.shift = regulariser_shift(sigma, self.levels, dim + 1, horizon)
        super().__init__(n_replicas, n_arms, dim, ridge)
        self.scale = np.ones(dim) if scale is None else np.asarray(scale, dtype=np.float64)
        self.reward_scale = float(reward_scale)
        self.tree = TreeAggregator(n_replicas, n_arms, dim + 1, horizon, sigma)
        self.repaired = 0  # models whose noisy G̃ + 2Υ·I needed its eigenvalues raised to 0 (for tests)
        prior = np.diag(1.0 / (ridge + self.shift * self.scale**2))  # V before any release
        self.cov[...] = prior
        self._refresh_copies(np.arange(n_replicas * n_arms), np.broadcast_to(prior, (n_replicas * n_arms, dim, dim)))

    def step(self, replicas: np.ndarray, increments: np.ndarray, rng: np.random.Generator) -> None:
        """One tree step of ``replicas`` with their (len, n_arms, D+1, D+1) increments; refresh Σ, μ."""
        self.tree.add(replicas, increments, rng)
        released = self.tree.released(replicas)
        d = self.dim
        g = released[..., :d, :d] + self.shift * np.eye(d)
        g = 0.5 * (g + np.swapaxes(g, -1, -2))
        # G̃ + 2Υ·I ≥ 0 ⇔ V ≥ ridge·I: one batched Cholesky (the jitter lets an exactly singular G pass)
        _, ok = cholesky(g, relative_jitter=1e-12, scale=1.0 + np.abs(g).max())
        low = np.zeros(g.shape[:-2], dtype=bool) if ok else np.linalg.eigvalsh(g)[..., 0] < 0.0
        if low.any():  # noise beat the shift (probability ≤ α): raise the eigenvalues to 0
            self.repaired += int(low.sum())
            w, q = np.linalg.eigh(g[low])
            g[low] = np.einsum("nij,nj,nkj->nik", q, np.maximum(w, 0.0), q)
        v = self.scale[:, None] * g * self.scale + self.ridge * np.eye(d)
        u = released[..., :d, d] * self.scale * self.reward_scale
        cov = np.linalg.inv(v)
        cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        self.cov[replicas] = cov
        self.b[replicas] = u
        self.mean[replicas] = np.matmul(cov, u[..., None])[..., 0]
        pidx = (replicas[:, None] * self.n_arms + np.arange(self.n_arms)).reshape(-1)
        self._refresh_copies(pidx, cov.reshape(-1, d, d))


class PrivateLinearMixin:
    """The private statistics of ``private_lin_ts``/``private_linucb`` (module docstring)."""

    n_arms: int
    n_replicas: int

    def _init_private(self, epsilon, delta, horizon, ridge, fit_intercept, feature_bound=1.0, reward_bound=1.0) -> None:
        self.epsilon = check_float("epsilon", epsilon, 0.0, low_open=True)
        self.delta = check_float("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
        self.horizon = check_int("horizon", horizon, minimum=1, maximum=MAX_HORIZON)
        self.feature_bound = check_float("feature_bound", feature_bound, 0.0, low_open=True)
        self.reward_bound = check_float("reward_bound", reward_bound, 0.0, low_open=True)
        self._init_linear("disjoint", ridge, fit_intercept, None)
        self.sigma = noise_sigma(self.epsilon, self.delta, tree_levels(self.horizon))
        self._noise_rng = self._rng.spawn(1)[0]
        self.clipped = 0  # learned rows whose ‖x‖ > feature_bound or |y| > reward_bound (the model's bias)

    def reseed(self, random_state) -> None:
        super().reseed(random_state)
        self._noise_rng = self._rng.spawn(1)[0]

    def _design(self, rows: Context) -> np.ndarray:
        """z: the user design [x, 1] with x shrunk onto ‖x‖ ≤ ``feature_bound`` where longer."""
        return clipped_rows(rows.features, rows.n_rows, self.fit_intercept, self.feature_bound)

    def _posterior_for(self, dim: int, has_features: bool = True):
        if self.posterior is None:
            scale = design_scale(dim, has_features, self.fit_intercept, self.feature_bound)
            self.posterior = PrivateDisjointPosterior(self.n_replicas, self.n_arms, dim, self.ridge, self.sigma,
                                                      self.horizon, scale, self.reward_bound)
        elif self.posterior.dim != dim:
            raise ValueError(f"feature dimension changed from {self.posterior.dim} to {dim}")
        return self.posterior

    def _mean_and_quad(self, rows: Context) -> tuple[np.ndarray, np.ndarray]:
        z = self._design(rows)
        return self._posterior_for(z.shape[1], rows.features is not None).scores(rows.replica, z)

    def _learn(self, rows, arms, reward, kind):
        z = self._design(rows)
        post = self._posterior_for(z.shape[1], rows.features is not None)
        y = np.clip(reward, -self.reward_bound, self.reward_bound)
        outside = np.abs(reward) > self.reward_bound
        if rows.features is not None:
            outside |= np.linalg.norm(rows.features, axis=1) > self.feature_bound
        self.clipped += int(outside.sum())
        v = np.concatenate([z / post.scale, (y / self.reward_bound)[:, None]], axis=1)  # ‖φ‖ ≤ 1, |y| ≤ 1
        replicas, group = np.unique(rows.replica, return_inverse=True)
        increments = np.zeros((replicas.size, self.n_arms, v.shape[1], v.shape[1]))
        np.add.at(increments, (group.reshape(-1), arms), v[:, :, None] * v[:, None, :])
        post.step(replicas, increments, self._noise_rng)
