"""Candidate thresholds of the lazy samplers, scored by how many arms they leave above them.

The samplers are exact for any threshold; a threshold only sets their speed, so a normal
approximation of each posterior is enough to choose one: candidates lie around the largest
posterior mean, in units of its sd, and each is scored by Σ_arms Φ((mean − x)/sd), the expected
number of arms above it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

GRID = np.linspace(-6.0, 6.0, 49)  # candidate offsets, in posterior sd units from the best mean


def beta_moments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of Beta(a, b).

    >>> [v.round(4).tolist() for v in beta_moments(np.array([2.0]), np.array([2.0]))]
    [[0.5], [0.2236]]
    """
    n = a + b
    return a / n, np.sqrt(a * b / (n * n * (n + 1.0)))


def around_best(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(G, len(GRID)) candidates: each row's largest mean plus ``GRID`` times its sd."""
    top = np.argmax(mean, axis=1)
    rows = np.arange(mean.shape[0])
    return mean[rows, top][:, None] + GRID[None, :] * sd[rows, top][:, None]


def beta_candidates(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``around_best`` clipped into (0, 1), plus the 0.5 and 0.9 quantiles of the means (flat posteriors)."""
    cand = np.clip(around_best(mean, sd), 1e-6, 1.0 - 1e-6)
    return np.concatenate([cand, np.quantile(mean, [0.5, 0.9], axis=1).T.clip(1e-6, 1 - 1e-6)], axis=1)


def expected_above(mean: np.ndarray, sd: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(G, C) Σ_arms Φ((mean − cand_c)/sd): one candidate at a time, so the memory is
    O(G × n_arms), not O(C × G × n_arms) (a loop over the few candidates, never over arms).

    >>> expected_above(np.array([[0.0, 0.0]]), np.ones((1, 2)), np.array([[0.0, -10.0]])).tolist()
    [[1.0, 2.0]]
    """
    out = np.empty(cand.shape)
    for c in range(cand.shape[1]):
        out[:, c] = ndtr((mean - cand[:, c:c + 1]) / sd).sum(axis=1)
    return out
