"""Exact feedback distributions of the world, computed in the test from the population's parameters.

The references use ``scipy.stats.logistic`` and the model's definition (utility
κ·θ·x + b_u + b_i, latent utility + T·logistic noise, cut points τ⁻ − 2T, τ⁻ − T, τ⁻, τ⁺, τ⁺ + T,
τ⁺ + 2T, τ⁺ + 3T (share), cascade examination), never ``envs.feedback``.  Each reference is tied to what the world
reports: its expected reward Σ_k P(k)·r_k must equal the world's ``expected_reward_chosen``, so
the probabilities are the world's own.  The ``check_*`` functions are called by the normal tests
and, with planted bugs, by ``test_world_mutations_caught.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from banditsim.envs.clusters import cluster_population
from banditsim.envs.dynamics import Blocking, Drift, Fatigue, Patience
from banditsim.envs.feedback_kinds import NEUTRAL, reward_vector
from banditsim.envs.slate_choice import CascadeChoice
from banditsim.envs.world import World
from banditsim.envs.world_config import WorldConfig

OFF = dict(fatigue=Fatigue(enabled=False), drift=Drift(enabled=False), blocking=Blocking(enabled=False),
           patience=Patience(enabled=False))
P_MIN = 1e-3  # a fixed seed: a correct world passes with this p-value; every planted bug gets < 1e-10


def _items_and_population():
    """60 items, 40 users around 5 clusters, with item biases (clusters have none) so that every
    term of the utility is exercised."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 16)).astype(np.float32)
    pop = cluster_population(x, 40, n_clusters=5, seed=0)
    return x, replace(pop, item_bias=0.4 * rng.normal(size=60))


def kind_probabilities_reference(pop, template: np.ndarray, items: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(n, 8) P(kind) for population users ``template`` shown ``items``, no dynamics."""
    xu = x / np.linalg.norm(x, axis=1, keepdims=True)
    u = (pop.taste_scale[template] * np.einsum("nd,nd->n", pop.theta[template], xu[items])
         + pop.user_bias[template] + pop.item_bias_for(len(x))[items])
    t, tn, tp = pop.temperature[template], pop.tau_neg[template], pop.tau_pos[template]
    cuts = np.stack([tn - 2 * t, tn - t, tn, tp, tp + t, tp + 2 * t, tp + 3 * t], axis=1)
    cdf = stats.logistic.cdf((cuts - u[:, None]) / t[:, None])
    return np.diff(np.c_[np.zeros(len(u)), cdf, np.ones(len(u))], axis=1)


def chi_square_pvalue(counts: np.ndarray, expected: np.ndarray) -> float:
    """scipy's chi-square goodness of fit; cells expected < 5 times are pooled into one."""
    big = expected >= 5
    obs = np.r_[counts[big], counts[~big].sum()] if (~big).any() else counts
    exp = np.r_[expected[big], expected[~big].sum()] if (~big).any() else expected
    keep = exp > 0
    if (obs[~keep] > 0).any():
        return 0.0
    return float(stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue)


def single_item_step(n_users: int = 100_000, seed: int = 5):
    """One World.step of ``n_users`` random single items: (kinds, exact (n, 8) probabilities)."""
    x, pop = _items_and_population()
    world = World(x, pop, n_users=n_users, seed=seed, config=WorldConfig(**OFF))
    obs = world.reset()
    items = np.random.default_rng(seed).integers(0, len(x), n_users)
    probs = kind_probabilities_reference(pop, obs.population_index, items, x)
    res = world.step(items)
    np.testing.assert_allclose(probs @ reward_vector(), res.expected_reward_chosen, atol=2e-5)
    return res.kind, probs


def check_kind_frequencies(n_users: int = 100_000) -> float:
    """Chi-square of the eight kinds' counts in one big step against their exact probabilities."""
    kinds, probs = single_item_step(n_users)
    p = chi_square_pvalue(np.bincount(kinds, minlength=8), probs.sum(axis=0))
    assert p > P_MIN, p
    return p


def cascade_cell_probabilities(probs: np.ndarray, exam: np.ndarray) -> np.ndarray:
    """(n, 1 + 7k) P(no response) and P(response of kind c at position p) per slate (cascade).

    ``probs`` (n, k, 8) per-item kind probabilities; a position is examined with ``exam[p]``
    once the scan reaches it, and the scan stops at the first examined non-neutral answer.
    """
    n, k, _ = probs.shape
    reach = np.ones(n)
    cells = []
    for p in range(k):
        answer = exam[p] * np.delete(probs[:, p], NEUTRAL, axis=1)  # (n, 7) non-neutral kinds
        cells.append(reach[:, None] * answer)
        reach = reach * (1 - answer.sum(axis=1))
    return np.c_[reach, np.concatenate(cells, axis=1)]


def check_cascade_positions(n_users: int = 60_000, k: int = 3, seed: int = 6) -> float:
    """Chi-square of (answered position, kind) of slates under the cascade against the exact cells."""
    x, pop = _items_and_population()
    cascade = CascadeChoice(decay=0.6)
    # a neutral answer worth 0.05 (not the default 0): the no-response term of the slate value counts
    config = WorldConfig(**OFF, cascade=cascade, reward_map={"neutral": 0.05})
    world = World(x, pop, n_users=n_users, seed=seed, config=config)
    obs = world.reset()
    slates = np.argsort(np.random.default_rng(seed).random((n_users, len(x))), axis=1)[:, :k]
    rows = np.repeat(obs.population_index, k)
    probs = kind_probabilities_reference(pop, rows, slates.reshape(-1), x).reshape(n_users, k, 8)
    exam = 0.6 ** np.arange(k)  # the cascade's definition, not its examination_probs
    cells = cascade_cell_probabilities(probs, exam)
    res = world.step(slates)
    r = reward_vector({"neutral": 0.05})
    assert r[NEUTRAL] == 0.05
    np.testing.assert_allclose(cells @ np.r_[r[NEUTRAL], np.tile(np.delete(r, NEUTRAL), k)],
                               res.expected_reward_chosen, atol=2e-5)
    non_neutral = np.delete(np.arange(8), NEUTRAL)
    code = np.where(res.position < 0, 0, 1 + 7 * res.position + np.searchsorted(non_neutral, res.kind))
    assert ((res.position < 0) == (res.kind == NEUTRAL)).all()
    p = chi_square_pvalue(np.bincount(code, minlength=cells.shape[1]), cells.sum(axis=0))
    assert p > P_MIN, p
    return p
