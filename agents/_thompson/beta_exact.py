"""Single-item Beta Thompson decisions whose propensities cost nothing until read.

When every replica serves at most ``QUADRATURE_ROWS`` rows (one user's stream, seeds batched as
replicas), a decision draws one posterior sample per row and keeps a copy of those rows'
posteriors.  Reading ``Decision.propensities`` then computes the exact P(the chosen arm has the
largest allowed draw) by quadrature (``banditsim.agents._propensity.beta_win``), with no random numbers;
reading ``probabilities`` takes that exact value for the chosen arm and splits the rest,
1 − p, among the other allowed arms in proportion to how often each won among
``n_propensity_draws`` fresh draws of the frozen posterior (uniformly when none did), so the row
sums to 1 and its chosen entry is the propensity.  Neither read touches the acting stream, so
reading or not never changes the actions.  Replicas serving more rows share posterior draws
instead (``SamplingAgent._decide``): there one pool of draws serves every row's estimate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from banditsim.agents._propensity.beta_win import beta_win_probability
from banditsim.agents._selection.ranking import argmax_random_ties

QUADRATURE_ROWS = 3
"""Quadrature costs ≈ 40 incomplete-beta evaluations per (row, arm); a shared Monte-Carlo pool
costs ≈ 2 gamma draws per (draw, arm) for all the replica's rows, so per row the quadrature is
cheaper while a replica serves up to ~3 rows (one incomplete-beta evaluation costs as much as
7–20 gamma draws; timings: bench/README.md)."""
_CHUNK = 1 << 21  # scores drawn at a time for the probabilities


def few_rows_per_replica(replica: np.ndarray, limit: int = QUADRATURE_ROWS) -> bool:
    """True when no replica appears more than ``limit`` times in ``replica``."""
    return replica.size <= limit or int(np.bincount(replica).max()) <= limit


def dense_winners(alpha: np.ndarray, beta: np.ndarray, mask: np.ndarray | None, draw, rng) -> np.ndarray:
    """Argmax (B,) of one full draw ``draw(a, b, 1, rng)`` per row over the allowed arms."""
    a, b = (alpha, beta) if mask is None else (np.where(mask, alpha, 1.0), np.where(mask, beta, 1.0))
    scores = draw(a, b, 1, rng)[0]
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return _argmax(scores, rng)


def decide_exact(alpha: np.ndarray, beta: np.ndarray, mask: np.ndarray | None, items: np.ndarray,
                 draw: Callable[[np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray],
                 propensity_rng: Callable[[], np.random.Generator], n_draws: int):
    """Items (B, 1); propensities (B, 1) and probabilities (B, n_arms) as functions.

    ``alpha``/``beta`` (B, n_arms) are the rows' posteriors, already copies (later updates must
    not reach them), ``items`` (B,) the arms the rows' own draws chose; ``draw(a, b, n, rng)``
    returns (n, B, n_arms) Beta draws (for the probabilities only).
    """
    cache: dict = {}

    def propensities() -> np.ndarray:
        if "p" not in cache:
            cache["p"] = beta_win_probability(alpha, beta, items, mask)
        return cache["p"][:, None]

    def probabilities() -> np.ndarray:
        p = propensities()[:, 0]
        a, b = (alpha, beta) if mask is None else (np.where(mask, alpha, 1.0), np.where(mask, beta, 1.0))
        return split_rest(p, items, _win_counts(a, b, mask, draw, propensity_rng(), n_draws), mask)

    return items[:, None], propensities, probabilities


def _argmax(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax; exact ties (draws that round to the same float) broken uniformly."""
    best = scores.argmax(axis=1)
    if np.count_nonzero(scores == np.take_along_axis(scores, best[:, None], axis=1)) > scores.shape[0]:
        return argmax_random_ties(scores, rng)
    return best


def _win_counts(a, b, mask, draw, rng, n_draws) -> np.ndarray:
    """(B, n_arms) how often each allowed arm had the largest of ``n_draws`` fresh draws."""
    n_rows, n_arms = a.shape
    counts = np.zeros(n_rows * n_arms)
    offset = (np.arange(n_rows) * n_arms)[None, :]
    step = max(1, _CHUNK // max(1, n_rows * n_arms))
    for lo in range(0, n_draws, step):
        s = draw(a, b, min(step, n_draws - lo), rng)
        if mask is not None:
            s = np.where(mask, s, -np.inf)
        counts += np.bincount((s.argmax(axis=2) + offset).ravel(), minlength=n_rows * n_arms)
    return counts.reshape(n_rows, n_arms)


def split_rest(p: np.ndarray, items: np.ndarray, wins: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Probabilities (B, n_arms): ``p`` at ``items``, 1 − p over the other allowed arms in
    proportion to ``wins`` (uniformly over them where no other arm won).

    >>> split_rest(np.array([0.5]), np.array([0]), np.array([[7.0, 3.0, 1.0]]), None).tolist()
    [[0.5, 0.375, 0.125]]
    >>> split_rest(np.array([0.9]), np.array([1]), np.array([[0.0, 5.0, 0.0]]), np.array([[True, True, False]])).round(3).tolist()
    [[0.1, 0.9, 0.0]]
    """
    n_rows, n_arms = wins.shape
    row = np.arange(n_rows)
    others = np.ones((n_rows, n_arms)) if mask is None else mask.astype(np.float64)
    others[row, items] = 0.0
    w = wins * others
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total > 0, w, others)  # no other winner seen: spread evenly
    total = w.sum(axis=1, keepdims=True)
    out = w * ((1.0 - p)[:, None] / np.where(total > 0, total, 1.0))
    out[row, items] = p
    return out
