"""The per-cell metric driver :mod:`banditsim.sim.run.play` calls: every registered metric, every step.

For each step it returns the metrics.parquet columns: the base columns (step, users, expected
and best expected reward, cumulative regret, sessions ended and their lengths, a count per
feedback kind), one column per registered metric (plus ``<column>:n``, the rows it was defined
for, for per-row metrics), the segment columns ``seg:<feature>=<group>:<metric>`` (and ``:n``)
of the headline metrics, and the exposure shares ``exposure:<grouping>=<group>`` beside the
catalog's own ``catalog:<grouping>=<group>``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from banditsim.envs.feedback_kinds import KINDS, reward_vector
from banditsim.sim.metrics.cell_state import StepView, Truth, is_truth_step, make_cell_state
from banditsim.sim.metrics.exposure import group_shares, popularity_deciles, ratings_popularity
from banditsim.sim.metrics.registry import METRICS


@lru_cache(maxsize=4)
def _movielens_counts(item_ids: tuple) -> np.ndarray:
    from banditsim.envs.fit_ratings import read_movielens_ratings

    r = read_movielens_ratings(list(item_ids))
    return np.bincount(r.item, minlength=len(item_ids))


def ratings_counts(prep) -> np.ndarray | None:
    """Rating count per arm when the users were fitted from MovieLens ratings, else None."""
    if getattr(prep.population, "source", "") != "movielens-fit":
        return None
    return _movielens_counts(tuple(prep.item_ids))


class MetricTracker:
    """Computes every applicable registered metric for one (agent, seed) cell."""

    def __init__(self, prep, n_users: int):
        cfg = prep.config
        counts = ratings_counts(prep)
        self.cell = make_cell_state(prep.item_vectors, cfg.world.slate_size, reward_vector(cfg.world.reward_map),
                                    n_users, prep.population, popularity=None if counts is None
                                    else ratings_popularity(counts))
        self.metrics = [m for m in METRICS.values() if m.applies(self.cell)]
        self.needs_truth = any(m.needs_truth for m in self.metrics)
        self.segmented = [m for m in self.metrics if m.segment and m.per_row]
        self.groupings = {}
        if prep.category_names:
            self.groupings["genre"] = (list(prep.category_names), np.asarray(prep.categories, dtype=bool))
        if counts is not None:
            self.groupings["popularity"] = ([f"decile {d + 1}" for d in range(10)], popularity_deciles(counts))
        self.cum_regret = 0.0
        # column names and float memberships built once, not every step
        self._seg_keys = {(m.name, f): ([f"seg:{f}={label}:{m.name}" for label in labels],
                                        [f"seg:{f}={label}:{m.name}:n" for label in labels])
                          for m in self.segmented for f, (labels, _) in self.cell.segments.items()}
        self._groups = {g: (labels, membership.astype(np.float64),
                            [f"exposure:{g}={label}" for label in labels], [f"catalog:{g}={label}" for label in labels])
                        for g, (labels, membership) in self.groupings.items()}

    @property
    def shown(self) -> np.ndarray:
        """(n_items,) times each item was shown so far in this cell (every slate position counts)."""
        return self.cell.shown

    def truth(self, t: int, world, mask: np.ndarray) -> Truth | None:
        """The exact truth before step ``t`` on truth steps (:func:`is_truth_step`), else None."""
        if not self.needs_truth or not is_truth_step(t):
            return None
        raw = world.expected_rewards()
        values = np.where(mask[:, : raw.shape[1]], raw, -np.inf)
        return Truth(values=values, raw=raw, r_min=float(self.cell.rewards.min()))

    def step(self, t: int, actions: np.ndarray, res, session_before: np.ndarray, context_ids: np.ndarray,
             n_live: int, truth: Truth | None = None) -> dict:
        """All metric columns of step ``t`` (see the module docstring)."""
        b = len(res.kind)
        slates = actions.reshape(b, -1)
        ended = res.terminated | res.truncated
        cell = self.cell
        cell.n_live = n_live
        cell.observe(slates, ended)
        regret = float(res.regret.mean())
        self.cum_regret += regret
        counts = np.bincount(res.kind, minlength=len(KINDS))
        out = {"step": t, "users": b, "expected_reward": float(res.expected_reward_chosen.mean()),
               "best_expected_reward": float(res.best_expected_reward.mean()),
               "cumulative_regret": self.cum_regret, "sessions_ended": int(ended.sum()),
               "session_length_sum": int((session_before[ended] + 1).sum()),
               **{f"n_{name}": int(counts[i]) for i, name in enumerate(KINDS)}}
        view = StepView(t=t, slates=slates, result=res, session_step=session_before, cell=cell, truth=truth)
        groups = {f: g[context_ids] for f, (_, g) in cell.segments.items()} if self.segmented else {}
        for m in self.metrics:
            value = m.step(view)
            if not m.per_row:
                out[m.col] = float(value)
                continue
            value = np.asarray(value, dtype=np.float64)
            ok = np.isfinite(value)
            n_ok = int(ok.sum())
            out[m.col] = float(value[ok].mean()) if n_ok else float("nan")
            out[m.col + ":n"] = n_ok
            if m.segment:
                self._segments(out, m, value, ok, groups)
        self._exposure(out)
        return out

    def _segments(self, out: dict, m, value: np.ndarray, ok: np.ndarray, groups: dict) -> None:
        """``seg:`` columns of metric ``m``; ``groups`` feature -> each row's group this step."""
        v = np.where(ok, value, 0.0)
        for feature, (labels, _) in self.cell.segments.items():
            g = groups[feature]
            sums = np.bincount(g, weights=v, minlength=len(labels))
            n = np.bincount(g, weights=ok, minlength=len(labels))
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(n > 0, sums / np.where(n > 0, n, 1), np.nan)
            keys, n_keys = self._seg_keys[(m.name, feature)]
            out.update(zip(keys, means.tolist()))
            out.update(zip(n_keys, n.astype(np.int64).tolist()))

    def _exposure(self, out: dict) -> None:
        n_live = self.cell.n_live
        for labels, membership, e_keys, c_keys in self._groups.values():
            expo, cat = group_shares(self.cell.shown[:n_live], membership[:n_live])
            out.update(zip(e_keys, expo.tolist()))
            out.update(zip(c_keys, cat.tolist()))
