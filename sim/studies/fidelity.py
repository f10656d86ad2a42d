"""How well the fitted users predict held-out real responses, beside baselines on the same split.

Two splits of the ratings a population is fitted from:

* **warm**: per user, the last ``test_fraction`` of their rows by time (random order when the log has
  no timestamps) are held out; users keep at least one training row.
* **cold items**: ``cold_fraction`` of the rated items have *all* their rows held out, so only an
  item's text can score it.

On each split every method is fitted on the training rows and scores the held-out rows: the
simulator's model (text-regularised MF, :mod:`banditsim.envs.text_mf`: ``P(positive)`` of the population,
exactly as the world uses it, item positions included), the same fit with every item at its text
position (no offsets: what the text alone carries), random, item popularity (mean training
rating), user+item biases only, and matrix factorisation of the same rank with no text. The
text-MF settings are chosen on a validation split inside the training rows
(:mod:`banditsim.envs.text_mf_choice`) and recorded under ``text_mf``. A held-out row is *liked* when its
score is above the population's ``tau_pos``, *disliked* below ``tau_neg`` (rows between are left
out of the AUCs). Reported: global AUC, mean
per-user AUC (users with a like and a dislike held out), and a calibration table of predicted
``P(positive)`` vs the observed positive rate (all held-out rows).

Run: ``python -m banditsim.sim.studies.fidelity CONFIG --out DIR`` writes ``fidelity.json``, ``fidelity_auc.png`` and
``fidelity_calibration.png``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import expit

from banditsim.envs.fit_ratings import Ratings

SIMULATOR = "simulator (text-MF)"
TEXT_ONLY = "text map only (no offsets)"


def holdout_split(ratings: Ratings, test_fraction: float = 0.2, seed: int = 0) -> tuple[Ratings, Ratings]:
    """Per user, hold out the latest ``floor(test_fraction·n_u)`` rows (by time; random without times),
    always keeping one training row."""
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(len(ratings.user))
    when = ratings.time if ratings.time is not None else tiebreak
    order = np.lexsort((tiebreak, when, ratings.user))
    counts = np.bincount(ratings.user, minlength=ratings.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order)) - starts[ratings.user[order]]
    n_test = np.minimum(np.floor(test_fraction * counts).astype(np.int64), counts - 1)
    test = pos >= (counts - n_test)[ratings.user]
    return ratings.take(~test), ratings.take(test)


def cold_item_split(ratings: Ratings, cold_fraction: float = 0.1, seed: int = 0) -> tuple[Ratings, Ratings, np.ndarray]:
    """Hold out every row of a random ``cold_fraction`` of the rated items; returns (train, test, cold item rows)."""
    rng = np.random.default_rng(seed)
    rated = np.flatnonzero(np.bincount(ratings.item, minlength=ratings.n_items) > 0)
    cold = np.sort(rng.choice(rated, size=max(1, int(round(cold_fraction * len(rated)))), replace=False))
    test = np.isin(ratings.item, cold)
    return ratings.take(~test), ratings.take(test), cold


def grouped_auc(group: np.ndarray, score: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUC of ``score`` for ``label`` within each group (ties count one half), by the rank-sum formula.

    Returns (auc per group, whether the group has both labels). One group = the global AUC.

    >>> grouped_auc(np.zeros(4, int), np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool))[0].tolist()
    [0.75]
    """
    group = np.asarray(group, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    label = np.asarray(label, dtype=bool)
    n_groups = int(group.max()) + 1 if len(group) else 0
    order = np.lexsort((score, group))
    g, s = group[order], score[order]
    new_tie = np.ones(len(g), dtype=bool)
    new_tie[1:] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    tie_id = np.cumsum(new_tie) - 1
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_in_group = np.arange(len(g)) - starts[g] + 1.0
    mean_rank = (np.bincount(tie_id, rank_in_group) / np.bincount(tie_id))[tie_id]
    lab = label[order]
    npos = np.bincount(g, lab.astype(float), minlength=n_groups)
    nneg = counts - npos
    rank_sum = np.bincount(g, np.where(lab, mean_rank, 0.0), minlength=n_groups)
    ok = (npos > 0) & (nneg > 0)
    auc = np.where(ok, (rank_sum - npos * (npos + 1) / 2) / np.maximum(npos * nneg, 1), np.nan)
    return auc, ok


def calibration_table(p: np.ndarray, positive: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Predicted vs observed positive rate in ``n_bins`` equal-count bins of ``p``."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, n_bins):
        if len(chunk):
            out.append({"predicted": float(p[chunk].mean()), "observed": float(positive[chunk].mean()),
                        "rows": int(len(chunk))})
    return out


def _scores(train: Ratings, test: Ratings, item_vectors, tau_neg: float, tau_pos: float, dim: int, l2: float,
            seed: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]], dict]:
    """Per method: (score of each test row, P(positive) of each test row or None); and the text-MF
    fit's chosen settings."""
    from banditsim.envs.fit_baselines import fit_biases, fit_mf, predict
    from banditsim.envs.fit_ratings import fit_tastes, population_from_fit

    u, i = test.user, test.item
    x = np.asarray(item_vectors, dtype=np.float32)
    fit = fit_tastes(x, train, dim=dim, l2=l2)
    pop = population_from_fit(fit, train.user_ids, np.zeros((train.n_users, 1)), ("none",), seed=seed,
                              tau_neg=tau_neg, tau_pos=tau_pos)
    # exactly as the world scores: the population's item positions, taste scale, direction and biases
    y = pop.positions_for(x)
    util = pop.taste_scale[u] * np.einsum("nd,nd->n", pop.theta[u], y[i]) + pop.user_bias[u] + pop.item_bias[i]
    p_model = expit((util - pop.tau_pos[u]) / pop.temperature[u])
    out = {SIMULATOR: (p_model, p_model)}
    # the same fit with every item at its text position (v_i = Mᵀx̃_i, no offset): what the text alone carries
    lat = fit["latent"]
    text_only = (fit["mu"] + fit["user_bias"][u] + fit["item_bias"][i]
                 + np.einsum("nk,nk->n", lat["w"][u], lat["text_v"][i]))
    p_text = expit((text_only - tau_pos) / (fit["resid_sd"][u] * np.sqrt(3) / np.pi))
    out[TEXT_ONLY] = (p_text, p_text)
    sums = np.bincount(train.item, train.rating, minlength=train.n_items)
    counts = np.bincount(train.item, minlength=train.n_items)
    popularity = np.where(counts > 0, sums / np.maximum(counts, 1), train.rating.mean())
    out["item popularity"] = (popularity[i], None)
    for name, f in (("user+item biases", fit_biases(train)), (f"matrix factorisation (rank {dim})",
                                                               fit_mf(train, rank=dim, l2=l2, seed=seed))):
        r_hat = predict(f, u, i)
        temp = f["resid_sd"][u] * np.sqrt(3) / np.pi
        p = expit((r_hat - tau_pos) / temp)
        out[name] = (p, p)
    out["random"] = (np.random.default_rng(seed + 1).random(len(u)), None)
    settings = {"rank": int(lat["w"].shape[1]), "text_scale": fit["text_scale"], "map_ridge": fit["map_ridge"],
                "sweeps": fit["sweeps"], "validation": fit["validation"]}
    return out, settings


def evaluate(train: Ratings, test: Ratings, item_vectors, tau_neg: float, tau_pos: float, *, dim: int = 64,
             l2: float = 10.0, seed: int = 0) -> dict:
    """Every method's global AUC, mean per-user AUC and calibration on one split."""
    keep = (test.rating > tau_pos) | (test.rating < tau_neg)
    liked = test.rating > tau_pos
    methods = {}
    scores, settings = _scores(train, test, item_vectors, tau_neg, tau_pos, dim, l2, seed)
    for name, (score, p) in scores.items():
        glob, _ = grouped_auc(np.zeros(int(keep.sum()), dtype=np.int64), score[keep], liked[keep])
        per_user, ok = grouped_auc(test.user[keep], score[keep], liked[keep])
        row = {"global_auc": float(glob[0]), "mean_user_auc": float(np.nanmean(per_user[ok])) if ok.any() else None}
        if p is not None:
            row["calibration"] = calibration_table(p, liked)
        methods[name] = row
    users_scored = int(grouped_auc(test.user[keep], liked[keep].astype(float), liked[keep])[1].sum())
    return {"train_rows": int(len(train.user)), "test_rows": int(len(test.user)), "liked": int((liked & keep).sum()),
            "disliked": int((~liked & keep).sum()), "users_with_both": users_scored, "methods": methods,
            "text_mf": settings}


def fidelity(ratings: Ratings, item_vectors, tau_neg: float, tau_pos: float, *, dim: int = 64, l2: float = 10.0,
             test_fraction: float = 0.2, cold_fraction: float = 0.1, seed: int = 0) -> dict:
    """The warm and cold-item evaluations of one ratings set (see the module docstring)."""
    dim = min(dim, np.asarray(item_vectors).shape[1])
    t = time.perf_counter()
    train, test = holdout_split(ratings, test_fraction, seed)
    warm = evaluate(train, test, item_vectors, tau_neg, tau_pos, dim=dim, l2=l2, seed=seed)
    warm["split"] = "per user, latest rows by time" if ratings.time is not None else "per user, random rows"
    train, test, cold = cold_item_split(ratings, cold_fraction, seed)
    cold_eval = evaluate(train, test, item_vectors, tau_neg, tau_pos, dim=dim, l2=l2, seed=seed)
    cold_eval["cold_items"] = int(len(cold))
    return {"tau_neg": tau_neg, "tau_pos": tau_pos, "dim": dim, "warm": warm, "cold_items": cold_eval,
            "seconds": round(time.perf_counter() - t, 2)}


def write_plots(result: dict, out: Path) -> list[Path]:
    """``fidelity_auc.png`` (AUCs per method, warm and cold) and ``fidelity_calibration.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["warm"]["methods"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, split in zip(axes, ("warm", "cold_items")):
        m = result[split]["methods"]
        ys = np.arange(len(names))
        ax.barh(ys - 0.2, [m[n]["global_auc"] for n in names], height=0.4, label="global AUC")
        ax.barh(ys + 0.2, [m[n]["mean_user_auc"] or np.nan for n in names], height=0.4, label="mean per-user AUC")
        ax.set_yticks(ys, names)
        ax.axvline(0.5, color="grey", lw=0.8)
        ax.set_xlim(0.4, 1.0)
        ax.set_title(f"{split.replace('_', ' ')}: liked vs disliked held-out rows")
        ax.legend(loc="upper right")
    fig.tight_layout()
    paths = [out / "fidelity_auc.png", out / "fidelity_calibration.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, split in zip(axes, ("warm", "cold_items")):
        for name, row in result[split]["methods"].items():
            if "calibration" in row:
                cal = row["calibration"]
                ax.plot([c["predicted"] for c in cal], [c["observed"] for c in cal], marker="o", label=name)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set_xlabel("predicted P(positive)")
        ax.set_title(f"calibration, {split.replace('_', ' ')}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("observed positive rate")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def ratings_of(cfg, item_ids) -> tuple[Ratings, float, float]:
    """The ratings a config's population is fitted from, with its thresholds."""
    from banditsim.envs.errors import BanditsimError

    p = cfg.population
    if p.kind == "movielens":
        from banditsim.envs.fit_ratings import read_movielens_ratings

        return read_movielens_ratings(item_ids), 2.5, 3.5
    if p.kind == "ratings":
        from banditsim.envs.ratings_log import LogSpec, read_interaction_log

        spec = LogSpec(user_column=p.user_column, item_column=p.item_column, rating_column=p.rating_column,
                       timestamp_column=p.timestamp_column, feedback_column=p.feedback_column,
                       feedback_map=dict(p.feedback_map or {}), min_user_rows=p.min_user_rows,
                       negative_threshold=p.negative_threshold, positive_threshold=p.positive_threshold)
        ratings, info = read_interaction_log(p.file, item_ids, spec)
        return ratings, info["tau_neg"], info["tau_pos"]
    raise BanditsimError(f"fidelity needs users fitted from ratings (population kind movielens or ratings), "
                         f"not kind {p.kind!r}")


def main(argv=None) -> int:
    """``python -m banditsim.sim.studies.fidelity CONFIG --out DIR [--set key=value ...]``."""
    import argparse

    from banditsim.envs.catalog import load_catalog
    from banditsim.envs.embedding import embed_texts
    from banditsim.sim.atomic import write_json
    from banditsim.sim.config.files import load_config

    ap = argparse.ArgumentParser(prog="python -m banditsim.sim.studies.fidelity", description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    c, e = cfg.catalog, cfg.embedding
    catalog = load_catalog(c.source, c.text_columns, c.id_column, c.category_column)
    vectors = embed_texts(catalog.texts, e.model, device=e.device, cache_dir=e.cache_dir, batch_size=e.batch_size,
                          backend=e.backend, progress=sys.stderr.isatty()).vectors
    ratings, tau_neg, tau_pos = ratings_of(cfg, catalog.ids)
    result = fidelity(ratings, vectors, tau_neg, tau_pos, dim=cfg.population.fit_dim, l2=cfg.population.fit_l2,
                      seed=cfg.population.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "fidelity.json", result)
    write_plots(result, out)
    for split in ("warm", "cold_items"):
        print(f"{split}: {result[split]['test_rows']:,} held-out rows")
        for name, row in result[split]["methods"].items():
            user = row["mean_user_auc"]
            print(f"  {name:<34} global AUC {row['global_auc']:.4f}   mean per-user AUC "
                  f"{'n/a' if user is None else f'{user:.4f}'}")
        t = result[split]["text_mf"]
        print(f"  (text-MF rank {t['rank']}: text scale {t['text_scale']:g}, map ridge {t['map_ridge']:g}, "
              f"{t['sweeps']} sweeps, chosen on a validation split of the training rows)")
    print(f"({result['seconds']:.1f} s) -> {out / 'fidelity.json'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from banditsim.sim.errors_cli import run_guarded

    sys.exit(run_guarded(main, debug="--debug" in sys.argv) if "--debug" not in sys.argv else main(
        [a for a in sys.argv[1:] if a != "--debug"]))
