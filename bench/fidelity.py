"""Fidelity of the fitted MovieLens users on held-out real ratings.

Fit on a random 80% of each user's ratings; on the other 20%, how well does the
simulator's P(positive) separate real likes (rating ≥ 4) from real dislikes (≤ 2)?
AUC beside item popularity (mean training rating), random scores, and the taste-only
part of the utility (no biases). Run: ``python bench/fidelity.py [--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half) by the rank-sum formula."""
    ranks = rankdata(scores)
    npos, nneg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def fidelity(item_vectors, seed: int = 0, dim: int = 64) -> dict[str, float]:
    """AUCs of the fitted simulator and baselines on held-out likes vs dislikes."""
    from banditsim.envs.fit_ratings import fit_tastes, population_from_fit, read_movielens_ratings
    from banditsim.envs.ratings import split_ratings

    ratings = read_movielens_ratings()
    train, test = split_ratings(ratings, 0.8, seed=seed)
    fit = fit_tastes(item_vectors, train, dim=dim)
    n = train.n_users
    pop = population_from_fit(fit, train.user_ids, np.zeros((n, 1)), ("none",))
    keep = (test.rating >= 4) | (test.rating <= 2)
    u, i, labels = test.user[keep], test.item[keep], test.rating[keep] >= 4
    # the world scores the population's item positions (the fitted item vectors), not the raw text
    x = pop.positions_for(np.asarray(item_vectors, dtype=np.float32))
    from scipy.special import expit

    util = pop.taste_scale[u] * np.einsum("nd,nd->n", pop.theta[u], x[i])
    full = util + pop.user_bias[u] + pop.item_bias[i]
    p_pos = expit((full - pop.tau_pos[u]) / pop.temperature[u])
    # taste only: κθ·(y − ȳ), the part the biases do not explain, around the mean rating
    centred = util - pop.taste_scale[u] * (pop.theta[u] @ x.mean(axis=0))
    p_taste = expit((centred + fit["mu"] - pop.tau_pos[u]) / pop.temperature[u])
    sums = np.bincount(train.item, train.rating, minlength=train.n_items)
    counts = np.bincount(train.item, minlength=train.n_items)
    popularity = np.where(counts > 0, sums / np.maximum(counts, 1), train.rating.mean())
    rng = np.random.default_rng(seed + 1)
    return {
        "simulator P(positive)": auc(p_pos, labels),
        "taste only (no biases)": auc(p_taste, labels),
        "item popularity (mean train rating)": auc(popularity[i], labels),
        "random": auc(rng.random(len(labels)), labels),
        "n_pairs_pos": float(labels.sum()),
        "n_pairs_neg": float((~labels).sum()),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args(argv)
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.embedding import embed_texts

    x = embed_texts(movielens_catalog().texts, progress=False).vectors
    t = time.perf_counter()
    res = fidelity(x, seed=args.seed, dim=args.dim)
    print(f"held-out MovieLens likes (≥4) vs dislikes (≤2), seed {args.seed}, dim {args.dim}, "
          f"{int(res.pop('n_pairs_pos'))} likes / {int(res.pop('n_pairs_neg'))} dislikes")
    for k, v in res.items():
        print(f"  {k:<38} AUC {v:.4f}")
    print(f"  (fit + score {time.perf_counter() - t:.2f} s)")


if __name__ == "__main__":
    main()
