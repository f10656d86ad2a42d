"""User segments from what the simulator knows about each population member (never θ).

- MovieLens (visible features age, gender one-hot, occupation one-hot): age band, gender, occupation;
- clusters / personas: the cluster or persona each user was drawn from (not their visible features,
  which are projections of it);
- a population from your own log: each visible feature family — one-hot columns ``<name>_<value>``
  grouped as ``<name>``, any other column split at its quartiles.
"""

from __future__ import annotations

import numpy as np

AGE_BANDS = ((0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 50, "45-49"),
             (50, 56, "50-55"), (56, 200, "56+"))  # MovieLens' published age groups


def _age_band(age_years: np.ndarray) -> tuple[list[str], np.ndarray]:
    labels = [b[2] for b in AGE_BANDS]
    idx = np.zeros(age_years.shape, dtype=np.int64)
    for i, (lo, hi, _) in enumerate(AGE_BANDS):
        idx[(age_years >= lo) & (age_years < hi)] = i
    return labels, idx


def _quartiles(x: np.ndarray) -> tuple[list[str], np.ndarray]:
    cuts = np.unique(np.quantile(x, [0.25, 0.5, 0.75]))
    idx = np.searchsorted(cuts, x, side="right")
    edges = np.r_[x.min(), cuts, x.max()]
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(cuts) + 1)]
    return labels, idx


def segment_groups(population) -> dict[str, tuple[list[str], np.ndarray]]:
    """feature → (group labels, group index per population row).

    >>> from types import SimpleNamespace as NS
    >>> pop = NS(meta={}, features=np.array([[0.2, 1, 0], [0.6, 0, 1]]), feature_names=("age", "gender_F", "gender_M"))
    >>> {k: [labels[i] for i in idx] for k, (labels, idx) in segment_groups(pop).items()}
    {'age': ['18-24', '56+'], 'gender': ['F', 'M']}
    """
    meta = getattr(population, "meta", None) or {}
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for key in ("cluster", "persona"):
        if key in meta:
            idx = np.asarray(meta[key], dtype=np.int64)
            out[key] = ([f"{key} {i}" for i in range(int(idx.max()) + 1)], idx)
    if out:  # synthetic users: their visible features are projections, the cluster/persona is the group
        return out
    feats = np.asarray(population.features, dtype=np.float64)
    names = tuple(population.feature_names or ())
    if feats.ndim != 2 or not names or feats.shape[1] != len(names):
        return out
    families: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        col = feats[:, j]
        binary = np.isin(col, (0.0, 1.0)).all()
        if binary and "_" in name:
            families.setdefault(name.rsplit("_", 1)[0], []).append(j)
        elif name == "age":
            out["age"] = _age_band(col * 100.0 if col.max() <= 1.5 else col)
        elif np.unique(col).size > 1:
            out[name] = _quartiles(col)
    for fam, cols in families.items():
        block = feats[:, cols]
        labels = [names[j].rsplit("_", 1)[1] for j in cols]
        idx = block.argmax(1)
        none = block.sum(1) == 0
        if none.any():
            labels.append("(none)")
            idx = np.where(none, len(cols), idx)
        out[fam] = (labels, idx.astype(np.int64))
    return out
