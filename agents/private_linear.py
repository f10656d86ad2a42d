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
releases its running sum through the binary-tree mechanism (``agents._tree_mechanism``): each
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

Assumptions, enforced by clipping: user features are scaled to ‖x‖ ≤ 1 (a longer x is shrunk
onto the unit sphere) and the design is φ = [x, 1]/√2 (or x without intercept), so ‖φ‖ ≤ 1;
rewards are clipped to [−1, 1].  The seed (``random_state``) must be secret: the noise comes
from a stream derived from it, and whoever knows the seed can subtract it.

Model: V = G̃ + (ridge + 2Υ)·I and ũ from the released [[G̃, ũ], [ũᵀ, ·]]; the posterior of
``linucb``/``lin_ts`` with Σ = V⁻¹ and μ = Σũ.  The shift 2Υ, with
Υ = σ·√(2m)·(4√(D + 1) + 2·ln(2·horizon/α)), α = ``SHIFT_FAILURE`` = 0.05, is the paper's
regulariser: it keeps V ≥ ridge·I with probability ≥ 1 − α over the whole run; if a noise
draw still makes V lose that, V's eigenvalues are raised to ``ridge`` (post-processing).  As
ε grows, σ and Υ vanish and the agent becomes its non-private version (with ``ridge``).
Disjoint models only (one per arm, on the user's features); numpy only.  Memory: the tree keeps
2·m·arms·(D + 1)² floats per replica (96 MB for 1,682 arms, 16 user features, horizon 1024).
"""

from __future__ import annotations

import math

import numpy as np

from agents._disjoint_posterior import DisjointLinearPosterior
from agents._tree_mechanism import TreeAggregator, tree_levels
from agents._validation import check_float, check_int
from agents.types import Context

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


def clipped_design(features: np.ndarray | None, n_rows: int, fit_intercept: bool) -> np.ndarray:
    """φ with ‖φ‖ ≤ 1: features shrunk to the unit ball, then [x, 1]/√2 (or x, or [1] without features).

    >>> clipped_design(np.array([[3.0, 4.0], [0.3, 0.4]]), 2, True).round(4).tolist()
    [[0.4243, 0.5657, 0.7071], [0.2121, 0.2828, 0.7071]]
    """
    if features is None:
        return np.ones((n_rows, 1))
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    x = features / np.maximum(norm, 1.0)
    if not fit_intercept:
        return x
    return np.concatenate([x, np.ones((n_rows, 1))], axis=1) / math.sqrt(2.0)


class PrivateDisjointPosterior(DisjointLinearPosterior):
    """Per-(replica, arm) models read from the tree mechanism's released sums of [φ, y][φ, y]ᵀ."""

    def __init__(self, n_replicas: int, n_arms: int, dim: int, ridge: float, sigma: float, horizon: int) -> None:
        self.levels = tree_levels(horizon)
        self.shift = regulariser_shift(sigma, self.levels, dim + 1, horizon)
        super().__init__(n_replicas, n_arms, dim, ridge + self.shift)
        self.base_ridge = ridge
        self.tree = TreeAggregator(n_replicas, n_arms, dim + 1, horizon, sigma)
        self.repaired = 0  # models whose noisy V needed its eigenvalues raised (counted, for tests)

    def step(self, replicas: np.ndarray, increments: np.ndarray, rng: np.random.Generator) -> None:
        """One tree step of ``replicas`` with their (len, n_arms, D+1, D+1) increments; refresh Σ, μ."""
        self.tree.add(replicas, increments, rng)
        released = self.tree.released(replicas)
        d = self.dim
        v = released[..., :d, :d] + self.ridge * np.eye(d)
        u = released[..., :d, d]
        v = 0.5 * (v + np.swapaxes(v, -1, -2))
        try:  # V ≥ base ridge·I ⇔ V − ridge·I has a Cholesky factor (one batched call, no eigenvalues)
            np.linalg.cholesky(v - self.base_ridge * np.eye(d))
            low = np.zeros(v.shape[:-2], dtype=bool)
        except np.linalg.LinAlgError:
            low = np.linalg.eigvalsh(v)[..., 0] < self.base_ridge
        if low.any():  # noise beat the shift (probability ≤ α): raise the eigenvalues to the ridge
            self.repaired += int(low.sum())
            w, q = np.linalg.eigh(v[low])
            v[low] = np.einsum("nij,nj,nkj->nik", q, np.maximum(w, self.base_ridge), q)
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

    def _init_private(self, epsilon, delta, horizon, ridge, fit_intercept) -> None:
        self.epsilon = check_float("epsilon", epsilon, 0.0, low_open=True)
        self.delta = check_float("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
        self.horizon = check_int("horizon", horizon, minimum=1, maximum=MAX_HORIZON)
        self._init_linear("disjoint", ridge, fit_intercept, None)
        self.sigma = noise_sigma(self.epsilon, self.delta, tree_levels(self.horizon))
        self._noise_rng = self._rng.spawn(1)[0]

    def reseed(self, random_state) -> None:
        super().reseed(random_state)
        self._noise_rng = self._rng.spawn(1)[0]

    def _design(self, rows: Context) -> np.ndarray:
        return clipped_design(rows.features, rows.n_rows, self.fit_intercept)

    def _posterior_for(self, dim: int):
        if self.posterior is None:
            self.posterior = PrivateDisjointPosterior(self.n_replicas, self.n_arms, dim, self.ridge, self.sigma,
                                                      self.horizon)
        elif self.posterior.dim != dim:
            raise ValueError(f"feature dimension changed from {self.posterior.dim} to {dim}")
        return self.posterior

    def _mean_and_quad(self, rows: Context) -> tuple[np.ndarray, np.ndarray]:
        x = self._design(rows)
        return self._posterior_for(x.shape[1]).scores(rows.replica, x)

    def _learn(self, rows, arms, reward, kind):
        phi = self._design(rows)
        post = self._posterior_for(phi.shape[1])
        v = np.concatenate([phi, np.clip(reward, -1.0, 1.0)[:, None]], axis=1)
        replicas, group = np.unique(rows.replica, return_inverse=True)
        increments = np.zeros((replicas.size, self.n_arms, v.shape[1], v.shape[1]))
        np.add.at(increments, (group.reshape(-1), arms), v[:, :, None] * v[:, None, :])
        post.step(replicas, increments, self._noise_rng)
