"""The built-in metrics: one function and one :func:`register_metric` line each.

Feedback rates come from the kind table (:mod:`banditsim.envs.feedback_kinds`): a new kind gets its rate
with no edit here. Ranking metrics use the world's exact truth (:mod:`banditsim.sim.metrics.ranking`),
diversity the item embeddings (:mod:`banditsim.sim.metrics.diversity`), coverage/Gini/novelty the
exposures (:mod:`banditsim.sim.metrics.exposure`).
"""

from __future__ import annotations

import numpy as np

from banditsim.envs.feedback_kinds import CLICK, FEEDBACK_KINDS, KINDS, NEGATIVE_CODES, POSITIVE_CODES
from banditsim.sim.metrics.diversity import intra_list_distance
from banditsim.sim.metrics.exposure import coverage, gini, novelty
from banditsim.sim.metrics.ranking import RECALL_POOL, hit_at_1, ndcg_at_k, precision_at_k, rank_percentile, recall_at_k
from banditsim.sim.metrics.cell_state import TRUTH_EVERY
from banditsim.sim.metrics.registry import register_metric

_POS, _NEG = np.array(POSITIVE_CODES), np.array(NEGATIVE_CODES)


def single(cell) -> bool:
    """Applies to runs that recommend one item at a time."""
    return cell.slate_size == 1


def slates(cell) -> bool:
    """Applies to runs that recommend slates of two or more items."""
    return cell.slate_size > 1


def _nan_rows(v) -> np.ndarray:
    return np.full(v.n, np.nan)


def mean_reward(v):
    return v.result.reward


def ctr(v):
    return (v.result.kind >= CLICK).astype(np.float64)


def positive(v):
    return np.isin(v.result.kind, _POS).astype(np.float64)


def negative(v):
    return np.isin(v.result.kind, _NEG).astype(np.float64)


def kind_rate(code: int):
    """Per-row indicator of feedback kind ``code``."""
    def rate(v):
        return (v.result.kind == code).astype(np.float64)
    return rate


def session_ended(v):
    return (v.result.terminated | v.result.truncated).astype(np.float64)


def regret(v):
    return v.result.regret


def hit1(v):
    return hit_at_1(v.result.regret, v.result.best_expected_reward)


def percentile(v):
    return _nan_rows(v) if v.truth is None else rank_percentile(v.slates[:, 0], v.truth.values)


def precision(v):
    return _nan_rows(v) if v.truth is None else precision_at_k(v.slates, v.truth.values)


def recall(v):
    return _nan_rows(v) if v.truth is None else recall_at_k(v.slates, v.truth.values)


def ndcg(v):
    return _nan_rows(v) if v.truth is None else ndcg_at_k(v.slates, v.truth.raw, v.truth.r_min)


def ild(v):
    return intra_list_distance(v.slates, v.cell.unit_items)


def session_diversity(v):
    return v.cell.ended_diversity


def catalog_coverage(v):
    return coverage(v.cell.shown[: v.cell.n_live])


def exposure_gini(v):
    return gini(v.cell.shown[: v.cell.n_live])


def popularity_novelty(v):
    pop = v.cell.popularity
    if pop is None:  # no ratings: popularity is each item's share of the exposures so far
        pop = v.cell.shown / max(v.cell.shown.sum(), 1)
    return novelty(v.slates, pop)


_AB = dict(segment=True)
register_metric("mean_reward", "mean reward", mean_reward, column="reward", ab="reward", **_AB,
                description="mean reward per recommendation")
register_metric("ctr", "CTR (click or stronger)", ctr, **_AB,
                description="share of answers that are click or stronger")
register_metric("positive_rate", "positive rate", positive, ab="positive_rate",
                description="share of positive feedback (" + "/".join(KINDS[c] for c in POSITIVE_CODES) + ")")
register_metric("negative_rate", "negative rate", negative, ab="negative_rate", higher_is_better=False, **_AB,
                description="share of negative feedback (" + "/".join(KINDS[c] for c in NEGATIVE_CODES) + ")")
for _code, _kind in enumerate(FEEDBACK_KINDS):
    register_metric(f"{_kind.name}_rate", f"{_kind.name} rate", kind_rate(_code), group="feedback", plot=False,
                    higher_is_better={"positive": True, "negative": False}.get(_kind.group),
                    description=f"share of answers that are {_kind.name}")
register_metric("sessions_ended", "sessions ended /1k", session_ended, column="session_end_rate", scale=1000.0,
                digits=1, higher_is_better=False, ab="session_end_rate",
                description="sessions ended (patience ran out or step limit), per 1,000 recommendations")
register_metric("cumulative_regret", "cum. regret / user", regret, column="regret", reduce="sum", digits=2,
                higher_is_better=False, group="regret",
                description="cumulative expected regret per user at the horizon")
_TRUTH = dict(group="ranking", needs_truth=True, **_AB)
_EVERY = f"(every {TRUTH_EVERY}th step)"
register_metric("hit_at_1", "hit@1", hit1, applies=single, group="ranking", **_AB,
                description="share of recommendations that are the user's exact best item")
register_metric("rank_percentile", "true-rank percentile", percentile, applies=single, **_TRUTH,
                description="chosen item's percentile among the user's allowed items by exact expected "
                            f"reward (1 = best) {_EVERY}")
register_metric("precision_at_k", "precision@k", precision, applies=slates, **_TRUTH,
                description=f"share of the user's true top-k items the slate shows {_EVERY}")
register_metric("recall_at_k", f"recall@k (top {RECALL_POOL})", recall, applies=slates, **_TRUTH,
                description=f"share of the user's true top-{RECALL_POOL} items the slate shows {_EVERY}")
register_metric("ndcg_at_k", "NDCG@k", ndcg, applies=slates, **_TRUTH,
                description=f"NDCG of the slate against the true top-k, gain = expected reward − min reward {_EVERY}")
register_metric("intra_list_distance", "intra-list distance", ild, applies=slates, group="diversity", **_AB,
                description="mean 1 − cosine between the embeddings of a slate's items")
register_metric("session_diversity", "session diversity", session_diversity, group="diversity",
                description="mean 1 − cosine between the items shown in a session, per ended session")
register_metric("coverage", "catalog coverage", catalog_coverage, per_row=False, reduce="last", group="catalog",
                description="share of the catalog's items shown at least once")
register_metric("exposure_gini", "Gini of exposure", exposure_gini, per_row=False, reduce="last",
                higher_is_better=False, group="catalog",
                description="Gini coefficient of the exposure counts over the catalog's items")
register_metric("novelty", "novelty (bits)", popularity_novelty, group="catalog", digits=2, **_AB,
                description="mean −log2 popularity of shown items (popularity from the fitted ratings, "
                            "else from exposure so far)")
