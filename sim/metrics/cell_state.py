"""What metric functions see: the per-cell state (:class:`CellState`) and one step (:class:`StepView`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from banditsim.sim.metrics.diversity import mean_pair_distance, unit

TRUTH_EVERY = 20
"""The truth-ranking metrics (NDCG/precision/recall@k, true-rank percentile) need the exact
expected reward of every item for every user, (B × n_items) values: they are computed on steps
TRUTH_EVERY − 1, 2·TRUTH_EVERY − 1, … (19, 39, …: a fixed subsample, the same for every agent and
seed, never the uninformed first step), which keeps the metrics a small share of a run's cost
(``python bench/metrics_cost.py`` measures it; the figure is in bench/README.md). A run shorter
than TRUTH_EVERY steps has none of them. hit@1 is exact on every step."""


def is_truth_step(t: int) -> bool:
    """True on the steps the truth-ranking metrics are computed (see :data:`TRUTH_EVERY`).

    >>> [t for t in range(60) if is_truth_step(t)]
    [19, 39, 59]
    """
    return (t + 1) % TRUTH_EVERY == 0


@dataclass
class Truth:
    """Exact expected reward of every item for every user row, in their state before the step.

    ``values`` (B, n_live) with items a row may not be shown set to −inf; ``raw`` without that
    mask (blocked items at the block reward); ``r_min`` the reward map's minimum."""

    values: np.ndarray
    raw: np.ndarray
    r_min: float


@dataclass
class CellState:
    """Per-cell inputs and running state shared by the metric functions.

    ``unit_items`` (n_total, d) float64 unit embeddings; ``slate_size``; ``rewards`` per kind;
    ``popularity`` (n_total,) from fitted ratings or None; ``shown`` (n_total,) exposures so far,
    this step included; ``n_live`` items in the world now (cold start releases more);
    ``session_sum``/``session_sq``/``session_n`` per user row: the running sums of the session's
    shown item vectors (for per-session diversity); ``segments`` from :mod:`banditsim.sim.metrics.segments`.
    """

    unit_items: np.ndarray
    slate_size: int
    rewards: np.ndarray
    n_users: int
    popularity: np.ndarray | None = None
    segments: dict = field(default_factory=dict)
    categories: np.ndarray | None = None
    category_names: tuple = ()
    shown: np.ndarray = None
    n_live: int = 0
    session_sum: np.ndarray = None
    session_sq: np.ndarray = None
    session_n: np.ndarray = None
    ended_diversity: np.ndarray = None

    def __post_init__(self):
        n, d = self.unit_items.shape
        if self.shown is None:
            self.shown = np.zeros(n, dtype=np.int64)
        self.n_live = self.n_live or n
        self.session_sum = np.zeros((self.n_users, d))
        self.session_sq = np.zeros(self.n_users)
        self.session_n = np.zeros(self.n_users, dtype=np.int64)
        self.item_sq = (self.unit_items * self.unit_items).sum(1)  # 1, or 0 for a zero vector

    def _rows_buffer(self, n: int) -> np.ndarray:
        buf = self.__dict__.get("_rows_now")
        if buf is None or buf.shape[0] != n:
            buf = self._rows_now = np.empty((n, self.unit_items.shape[1]), dtype=self.unit_items.dtype)
        return buf

    @property
    def slates(self) -> bool:
        """True when each recommendation is a slate of 2 or more items."""
        return self.slate_size > 1

    def observe(self, slates: np.ndarray, ended: np.ndarray) -> None:
        """Record one step's shown items (B, k): exposures, session sums; close ended sessions.

        ``ended_diversity`` (B,) is then each ended session's mean pairwise 1 − cosine (NaN for
        rows whose session did not end or showed fewer than two items)."""
        self.shown += np.bincount(slates.reshape(-1), minlength=self.shown.size)
        if slates.size and (slates.min() < 0 or slates.max() >= len(self.unit_items)):
            raise IndexError(f"shown items must be in [0, {len(self.unit_items)})")
        rows_now = self._rows_buffer(len(slates))
        for p in range(slates.shape[1]):  # into one reused (B, d) buffer: no fresh 3 MB array a step
            self.session_sum += np.take(self.unit_items, slates[:, p], axis=0, out=rows_now, mode="clip")
        self.session_sq += self.item_sq[slates].sum(1)
        self.session_n += slates.shape[1]
        self.ended_diversity = np.full(len(slates), np.nan)
        rows = np.flatnonzero(ended)
        self.ended_diversity[rows] = mean_pair_distance(self.session_sum[rows], self.session_sq[rows],
                                                        self.session_n[rows])
        self.session_sum[ended] = 0.0
        self.session_sq[ended] = 0.0
        self.session_n[ended] = 0


@dataclass
class StepView:
    """One step as metric functions see it.

    ``t`` step; ``slates`` (B, k) items shown (k = 1 for single items); ``result`` the world's
    :class:`banditsim.envs.world.StepResult`; ``session_step`` (B,) steps of the session before this one;
    ``truth`` a :class:`Truth` on truth steps (:func:`is_truth_step`), else None;
    ``cell`` the :class:`CellState` (exposures already include this step)."""

    t: int
    slates: np.ndarray
    result: object
    session_step: np.ndarray
    cell: CellState
    truth: Truth | None = None

    @property
    def n(self) -> int:
        """Users this step (B)."""
        return len(self.slates)


def make_cell_state(item_vectors: np.ndarray, slate_size: int, rewards: np.ndarray, n_users: int,
                    population=None, categories=None, category_names=(), popularity=None) -> CellState:
    """A fresh :class:`CellState` (unit item vectors, segments of ``population``)."""
    from banditsim.sim.metrics.segments import segment_groups

    return CellState(unit_items=unit(item_vectors), slate_size=slate_size, rewards=np.asarray(rewards, float),
                     n_users=n_users, popularity=popularity,
                     segments=segment_groups(population) if population is not None else {},
                     categories=categories, category_names=tuple(category_names))
