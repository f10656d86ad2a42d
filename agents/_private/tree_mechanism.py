"""The binary-tree ("p-sum") mechanism: private running sums of a stream of symmetric matrices.

Dwork, Naor, Pitassi & Rothblum (2010) and Chan, Shi & Song (2011): at step t (1-based, within
a tree) let i be the lowest set bit of t; the p-sum of level i becomes Σ_{j<i} p-sum_j + X_t
(levels below i are emptied), and it is released once, with fresh noise.  The released running
sum is the sum of the noisy p-sums of the set bits of t.  A step's X_t enters at most
``levels`` = 1 + ⌈log₂ horizon⌉ p-sums, each released once, so its privacy cost is that of
``levels`` noisy releases; the running sum at step t carries popcount(t) noises.

Each p-sum gets a symmetric Gaussian matrix N = (Z + Zᵀ)/√2, Z_ij ~ N(0, σ²) i.i.d.: the
off-diagonal entries have variance σ² and the diagonal ones 2σ² (``noise_variances``).  After
``horizon`` steps a tree is closed: its released running sum is kept (post-processing, no new
noise) and a new tree starts, so every step still enters at most ``levels`` p-sums.

Everything is batched: ``n_groups`` clocks (replicas), each with ``n_models`` matrices (e.g. one
per arm) that step together; a group's step draws one noise matrix per model.
"""

from __future__ import annotations

import math

import numpy as np


def tree_levels(horizon: int) -> int:
    """p-sums a step can enter in a tree of ``horizon`` steps: 1 + ⌈log₂ horizon⌉.

    >>> [tree_levels(h) for h in (1, 2, 3, 1024, 1025)]
    [1, 2, 3, 11, 12]
    """
    return 1 + math.ceil(math.log2(horizon)) if horizon > 1 else 1


def noise_variances(size: int, sigma: float) -> np.ndarray:
    """(size, size) variance of each entry of one node's noise: 2σ² on the diagonal, σ² elsewhere."""
    return sigma**2 * (1.0 + np.eye(size))


class TreeAggregator:
    """Private running sums of (n_groups, n_models, size, size) symmetric matrices.

    ``add(groups, increments, rng)`` steps the listed groups (distinct) with their increments
    (len(groups), n_models, size, size); ``released(groups)`` is their private running sum.

    Examples
    --------
    >>> tree = TreeAggregator(n_groups=1, n_models=1, size=2, horizon=4, sigma=0.0)
    >>> for _ in range(3):
    ...     tree.add(np.array([0]), np.ones((1, 1, 2, 2)), np.random.default_rng(0))
    >>> tree.released(np.array([0]))[0, 0].tolist()   # σ = 0: the exact sum
    [[3.0, 3.0], [3.0, 3.0]]
    >>> tree.nodes_in_release(3), tree.nodes_in_release(4)
    (2, 1)
    """

    def __init__(self, n_groups: int, n_models: int, size: int, horizon: int, sigma: float) -> None:
        self.horizon, self.sigma, self.levels = horizon, sigma, tree_levels(horizon)
        shape = (self.levels, n_groups, n_models, size, size)
        self.exact = np.zeros(shape)
        self.noisy = np.zeros(shape)
        self.closed = np.zeros(shape[1:])  # released totals of the finished trees
        self.clock = np.zeros(n_groups, dtype=np.int64)  # steps in the current tree

    def nodes_in_release(self, t: int) -> int:
        """Noise matrices in the released sum after ``t`` steps of the current tree: popcount(t)."""
        return bin(t).count("1")

    def add(self, groups: np.ndarray, increments: np.ndarray, rng: np.random.Generator) -> None:
        """One step of ``groups``: fold ``increments`` into a new p-sum and release it with noise."""
        z = rng.standard_normal(increments.shape) * self.sigma
        noise = (z + np.swapaxes(z, -1, -2)) / math.sqrt(2.0)
        for n, r in enumerate(groups):  # one group (replica) at a time: O(levels merged) matrices each
            t = int(self.clock[r]) + 1
            low = (t & -t).bit_length() - 1  # lowest set bit of t
            new = increments[n] + self.exact[:low, r].sum(axis=0)
            self.exact[:low, r] = 0.0
            self.noisy[:low, r] = 0.0
            self.exact[low, r] = new
            self.noisy[low, r] = new + noise[n]
            if t == self.horizon:  # close the tree: keep its release, start a new one
                self.closed[r] += self.noisy[:, r].sum(axis=0)
                self.exact[:, r] = 0.0
                self.noisy[:, r] = 0.0
                t = 0
            self.clock[r] = t

    def released(self, groups: np.ndarray) -> np.ndarray:
        """The private running sums (len(groups), n_models, size, size) of ``groups``: the closed trees'
        releases plus the noisy p-sums of the set bits of each group's clock."""
        out = self.closed[groups]
        for n, r in enumerate(groups):
            bits = [j for j in range(self.levels) if (int(self.clock[r]) >> j) & 1]
            if bits:
                out[n] += self.noisy[bits, r].sum(axis=0)
        return out
