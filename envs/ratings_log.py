"""Users fitted from your own interaction log (population kind ``ratings``).

The log is a CSV/TSV or parquet file with one row per interaction: a user column, an item
column, and either a ``rating_column`` (explicit ratings on any numeric scale) or a
``feedback_column`` (implicit kinds: block, dislike, skip, neutral, click, like, save, share,
or any values mapped to them by ``feedback_map``). The rules, all applied in this order:

* Ids are read as the file's strings (``00123`` stays ``00123``) and matched to the catalog's
  ids as strings. Rows whose item is not in the catalog are dropped and counted
  (``unmatched_rows``, ``unmatched_items``); no match at all is an error.
* Scores. A rating is used in its own units. Implicit kinds are scored on the world's ordinal
  ladder: block −3, dislike −2, skip −1, neutral 0, click +1, like +2, save +3, share +3.
* Users with fewer than ``min_user_rows`` (default 2) matched rows are dropped and counted
  (``dropped_users``); if that drops every user the file is an error. Items are never dropped:
  an item with few rows has its bias shrunk toward 0 (``bias_l2`` pseudo-rows), and a catalog
  item nobody rated gets bias 0 and a utility from its text alone.
* A file whose scores are all equal (after the rules above) carries no preference: an error.
* Positive/negative. As for MovieLens (1–5 stars: ≥ 4 positive, ≤ 2 negative, thresholds 3.5
  and 2.5), ratings on a scale lo…hi get ``tau_neg = lo + 0.375·(hi − lo)`` and
  ``tau_pos = lo + 0.625·(hi − lo)``, lo and hi being the lowest and highest rating in the file
  (or ``negative_threshold``/``positive_threshold`` when given). Implicit kinds get −0.5/+0.5:
  skip and worse are negative, click and better positive.

Tastes are then fitted exactly as the built-in MovieLens users (:func:`banditsim.envs.fit_ratings.fit_tastes`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from banditsim.envs.fit_ratings import fit_tastes, population_from_fit
from banditsim.envs.population import Population
from banditsim.envs.ratings import Ratings
from banditsim.envs.world_errors import PopulationError
from banditsim.feedback_kinds import FEEDBACK_KINDS

#: score of each implicit kind on the world's ordinal ladder (the kind table's log scores; share counts as save)
KIND_SCORES = {k.name: k.log_score for k in FEEDBACK_KINDS}
IMPLICIT_THRESHOLDS = (-0.5, 0.5)
SCALE_THRESHOLDS = (0.375, 0.625)  # fractions of the rating range: 2.5 and 3.5 on 1..5 stars
MAX_ONE_HOT = 100  # distinct values of a text feature column turned into one-hot columns


@dataclass(frozen=True)
class LogSpec:
    """Which columns of an interaction file hold what (see the module docstring)."""

    user_column: str = "user_id"
    item_column: str = "item_id"
    rating_column: str | None = None
    timestamp_column: str | None = None
    feedback_column: str | None = None
    feedback_map: dict = field(default_factory=dict)
    min_user_rows: int = 2
    negative_threshold: float | None = None
    positive_threshold: float | None = None


def read_table(path: str | Path, what: str = "interaction file"):
    """A CSV/TSV (every cell a string, exactly as written) or parquet file as a DataFrame."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise PopulationError(f"{what} not found: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    base = suffixes[-2] if len(suffixes) > 1 and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz", ".zst") else (
        suffixes[-1] if suffixes else "")
    try:
        if base == ".parquet":
            frame = pd.read_parquet(path, dtype_backend="numpy_nullable")  # an int column with nulls stays int
        elif base in (".csv", ".tsv", ".txt"):
            sep = "\t" if base == ".tsv" else ","
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8-sig")
            header = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8-sig",
                                 header=None, nrows=1).iloc[0].tolist()
            if len(set(header)) < len(header):  # pandas renames a repeated column 'x' to 'x.1'
                frame.columns = header
        else:
            raise PopulationError(f"{what} {path.name}: unsupported type {base or '(none)'}; "
                                  "use .csv, .tsv or .parquet")
    except PopulationError:
        raise
    except UnicodeDecodeError as exc:
        raise PopulationError(f"{what} {path.name} is not UTF-8 text (byte {exc.start})") from None
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow parser errors of many types
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise PopulationError(f"{what} {path.name} cannot be read: {msg[:300]}") from None
    if frame.shape[0] == 0:
        raise PopulationError(f"{what} {path.name} has no data rows")
    frame.columns = [str(c) for c in frame.columns]
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise PopulationError(f"{what} {path.name} names column {dupes[0]!r} twice")
    return frame


def _check_column(frame, column: str, key: str, path: Path, what: str) -> None:
    if column in frame.columns:
        return
    close = difflib.get_close_matches(column, list(frame.columns), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PopulationError(f"{what} {path.name} has no column {column!r} ({key}){hint}; its columns are: "
                          f"{', '.join(map(repr, frame.columns))}")


def _strings(frame, column: str, path: Path, what: str, allow_empty: bool = False) -> np.ndarray:
    """A column as the file's strings (nothing stripped); nulls are empty; an empty cell is an error
    unless ``allow_empty``."""
    col = frame[column]
    if col.dtype == object and col.map(lambda v: isinstance(v, (bytes, bytearray))).any():
        col = col.map(lambda v: v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else v)
    if col.dtype != object or not col.map(lambda v: isinstance(v, str)).all():
        col = col.astype("string").fillna("")  # numbers as their digits (Int64 '3'), nulls empty
    values = col.to_numpy(dtype=object).astype(str)
    if not allow_empty:
        empty = np.char.str_len(np.char.strip(values)) == 0
        if empty.any():
            raise PopulationError(f"{what} {path.name}: data row {int(np.flatnonzero(empty)[0]) + 1} has an "
                                  f"empty {column!r}")
    return values


def _numbers(values: np.ndarray, column: str, path: Path, what: str) -> np.ndarray:
    import pandas as pd

    nums = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(nums)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise PopulationError(f"{what} {path.name}: data row {r + 1} has {column!r} = {str(values[r])!r}, "
                              "not a finite number")
    return nums


def _times(values: np.ndarray, column: str, path: Path, what: str) -> np.ndarray:
    """Timestamps as float seconds: numbers as written, or dates/times (ISO 8601)."""
    import pandas as pd

    nums = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(nums).all():
        return nums
    try:
        stamps = pd.to_datetime(pd.Series(values), errors="coerce", utc=True, format="ISO8601")
    except (ValueError, TypeError):
        stamps = pd.Series(pd.NaT, index=range(len(values)))
    bad = stamps.isna().to_numpy()
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise PopulationError(f"{what} {path.name}: data row {r + 1} has {column!r} = {str(values[r])!r}, "
                              "neither a number nor an ISO 8601 date/time")
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def _kind_scores(raw: np.ndarray, spec: LogSpec, path: Path, what: str) -> np.ndarray:
    mapping = {str(k): str(v) for k, v in spec.feedback_map.items()}
    for value, kind in mapping.items():
        if kind not in KIND_SCORES:
            raise PopulationError(f"feedback_map maps {value!r} to unknown kind {kind!r}; kinds: "
                                  f"{', '.join(KIND_SCORES)}")
    uniq, inverse = np.unique(raw, return_inverse=True)
    scores = np.empty(len(uniq))
    for k, value in enumerate(uniq):
        kind = mapping[value] if value in mapping else value.strip().lower()
        if kind not in KIND_SCORES:
            first = int(np.flatnonzero(inverse == k)[0])
            raise PopulationError(
                f"{what} {path.name}: data row {first + 1} has {spec.feedback_column!r} = {str(value)!r}, not a "
                f"feedback kind ({', '.join(KIND_SCORES)}); map it with population.feedback_map")
        scores[k] = KIND_SCORES[kind]
    return scores[inverse]


def read_interaction_log(path: str | Path, item_ids, spec: LogSpec) -> tuple[Ratings, dict]:
    """Read ``path`` into :class:`~banditsim.envs.ratings.Ratings` over the catalog ``item_ids``.

    Returns the ratings (users in order of first appearance, items in catalog order, times
    when a timestamp column is given) and an info dict of counts and thresholds.
    """
    what = "ratings file"
    path = Path(path)
    if (spec.rating_column is None) == (spec.feedback_column is None):
        raise PopulationError("population kind 'ratings' needs exactly one of rating_column (explicit "
                              "ratings) and feedback_column (implicit kinds)")
    users, items, scores, times = _log_columns(read_table(path, what), spec, path, what)
    info = {"file": path.name, "rows": int(len(users))}
    import pandas as pd

    catalog_ids = pd.Index([str(i) for i in item_ids])
    if not catalog_ids.is_unique:
        raise PopulationError("the catalog's item ids are not unique")
    rows = catalog_ids.get_indexer(items).astype(np.int64)  # -1: not in the catalog
    matched = rows >= 0
    info["unmatched_rows"] = int((~matched).sum())
    info["unmatched_items"] = int(len(np.unique(items[~matched])))
    if not matched.any():
        sample_file = ", ".join(repr(x) for x in list(dict.fromkeys(items.tolist()))[:3])
        sample_cat = ", ".join(repr(str(x)) for x in list(item_ids)[:3])
        raise PopulationError(f"{what} {path.name}: no item id in column {spec.item_column!r} is in the catalog "
                              f"(file ids like {sample_file}; catalog ids like {sample_cat}); ids are matched "
                              "as exact strings")
    users, rows, scores = users[matched], rows[matched], scores[matched]
    times = times[matched] if times is not None else None
    user_rows, keep_row, kept_ids = _users_kept(users, spec.min_user_rows, info, path, what)
    rows, scores = rows[keep_row], scores[keep_row]
    times = times[keep_row] if times is not None else None
    tau_neg, tau_pos = _thresholds(scores, spec, path, what)
    info.update(rows_used=int(len(scores)), users=len(kept_ids), items_rated=int(len(np.unique(rows))),
                catalog_items=len(catalog_ids), scale=[float(scores.min()), float(scores.max())],
                tau_neg=float(tau_neg), tau_pos=float(tau_pos),
                positive_share=float((scores > tau_pos).mean()), negative_share=float((scores < tau_neg).mean()))
    ratings = Ratings(user_rows, rows, scores.astype(np.float64), kept_ids, len(catalog_ids), time=times)
    return ratings, info


def _log_columns(frame, spec: LogSpec, path: Path, what: str):
    """(user ids, item ids, scores, times or None) of every row, each column checked."""
    cols = [("user_column", spec.user_column), ("item_column", spec.item_column),
            ("rating_column", spec.rating_column), ("feedback_column", spec.feedback_column),
            ("timestamp_column", spec.timestamp_column)]
    for key, column in cols:
        if column is not None:
            _check_column(frame, column, key, path, what)
    users = _strings(frame, spec.user_column, path, what)
    items = _strings(frame, spec.item_column, path, what)
    if spec.rating_column is not None:
        scores = _numbers(_strings(frame, spec.rating_column, path, what), spec.rating_column, path, what)
    else:
        scores = _kind_scores(_strings(frame, spec.feedback_column, path, what), spec, path, what)
    times = (_times(_strings(frame, spec.timestamp_column, path, what), spec.timestamp_column, path, what)
             if spec.timestamp_column else None)
    return users, items, scores, times


def _users_kept(users: np.ndarray, min_user_rows: int, info: dict, path: Path, what: str):
    """(user row of each kept row, which rows are kept, kept user ids): users numbered in order of
    first appearance, those with fewer than ``min_user_rows`` rows dropped (counted in ``info``)."""
    uids, first, inv = np.unique(users, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # users in order of first appearance
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    user_rows = rank[inv]
    counts = np.bincount(user_rows, minlength=len(order))
    keep_user = counts >= min_user_rows
    info["dropped_users"] = int((~keep_user).sum())
    info["dropped_user_rows"] = int(counts[~keep_user].sum())
    if not keep_user.any():
        raise PopulationError(f"{what} {path.name}: every user has fewer than {min_user_rows} rows with an "
                              f"item in the catalog (most: {int(counts.max())}); a user with one row only "
                              "cannot be fitted (population.min_user_rows sets the minimum)")
    new_index = np.cumsum(keep_user) - 1
    keep_row = keep_user[user_rows]
    return new_index[user_rows[keep_row]], keep_row, tuple(str(u) for u in uids[order][keep_user])


def _thresholds(scores: np.ndarray, spec: LogSpec, path: Path, what: str) -> tuple[float, float]:
    """(tau_neg, tau_pos) of the used scores (see the module docstring); constant scores are an error."""
    lo, hi = float(scores.min()), float(scores.max())
    if lo == hi:
        what_score = (f"rating {lo:g}" if spec.rating_column else
                      f"score {lo:g} ({', '.join(k for k, v in KIND_SCORES.items() if v == lo)})")
        raise PopulationError(f"{what} {path.name}: every used row has {what_score}; a constant "
                              "rating carries no preference to fit (implicit logs need negative kinds too, "
                              "e.g. skip)")
    if spec.rating_column is not None:
        tau_neg = spec.negative_threshold if spec.negative_threshold is not None else lo + SCALE_THRESHOLDS[0] * (hi - lo)
        tau_pos = spec.positive_threshold if spec.positive_threshold is not None else lo + SCALE_THRESHOLDS[1] * (hi - lo)
    else:
        tau_neg, tau_pos = IMPLICIT_THRESHOLDS
    if not tau_neg < tau_pos:
        raise PopulationError(f"negative threshold {tau_neg:g} must be below positive threshold {tau_pos:g}")
    return tau_neg, tau_pos


def activity_features(ratings: Ratings) -> tuple[np.ndarray, tuple[str, ...]]:
    """Visible features when no user-feature file is given: log(1 + rows) and mean score, standardised."""
    n = np.bincount(ratings.user, minlength=ratings.n_users).astype(np.float64)
    mean = np.bincount(ratings.user, ratings.rating, minlength=ratings.n_users) / np.maximum(n, 1)
    feats = np.stack([np.log1p(n), mean], axis=1)
    sd = feats.std(axis=0)
    feats = (feats - feats.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return feats.astype(np.float32), ("log_rows", "mean_score")


def read_user_features(path: str | Path, user_ids, id_column: str, columns=None) -> tuple[np.ndarray, tuple, dict]:
    """Visible features per user from a CSV/parquet file keyed by ``id_column``.

    Numeric columns (every non-empty cell a number) are standardised, an empty cell becomes the
    mean (0); other columns become one-hot columns ``<column>=<value>`` (at most
    :data:`MAX_ONE_HOT` values). Users with no row get all zeros (counted as ``users_without_features``).
    """
    import pandas as pd

    what = "user-feature file"
    path = Path(path)
    frame = read_table(path, what)
    _check_column(frame, id_column, "user_column", path, what)
    names = [c for c in frame.columns if c != id_column] if columns is None else list(columns)
    for c in names:
        _check_column(frame, c, "user_feature_columns", path, what)
    if not names:
        raise PopulationError(f"{what} {path.name} has no feature column besides {id_column!r}")
    ids = _strings(frame, id_column, path, what)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise PopulationError(f"{what} {path.name}: user {str(uniq[counts > 1][0])!r} has more than one row")
    where = {u: k for k, u in enumerate(ids)}
    pick = np.array([where.get(u, -1) for u in user_ids], dtype=np.int64)
    has = pick >= 0
    if not has.any():
        raise PopulationError(f"{what} {path.name}: no user id in column {id_column!r} is in the ratings file")
    blocks, out_names = [], []
    for c in names:
        raw = _strings(frame, c, path, what, allow_empty=True)
        filled = np.char.str_len(np.char.strip(raw)) > 0
        nums = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
        if filled.any() and np.isfinite(nums[filled]).all():
            mu, sd = nums[filled].mean(), nums[filled].std()
            z = np.where(filled, (nums - mu) / (sd if sd > 0 else 1.0), 0.0)
            blocks.append(z[:, None])
            out_names.append(c)
            continue
        values = sorted(set(raw[filled].tolist()))
        if len(values) > MAX_ONE_HOT:
            raise PopulationError(f"{what} {path.name}: column {c!r} has {len(values)} distinct text values "
                                  f"(more than {MAX_ONE_HOT} for one-hot features); list the columns to use "
                                  "in population.user_feature_columns")
        blocks.append(np.stack([(raw == v) for v in values], axis=1).astype(np.float64))
        out_names.extend(f"{c}={v}" for v in values)
    table = np.concatenate(blocks, axis=1)
    feats = np.zeros((len(pick), table.shape[1]), dtype=np.float32)
    feats[has] = table[pick[has]]
    if not np.isfinite(feats).all():
        raise PopulationError(f"{what} {path.name}: a feature value is too large to use")
    return feats, tuple(out_names), {"users_without_features": int((~has).sum())}


def ratings_population(item_vectors, ratings: Ratings, info: dict, *, dim: int = 64, l2: float = 10.0,
                       bias_l2: float = 5.0, features=None, feature_names=(), seed: int | None = 0,
                       progress: bool = False) -> Population:
    """Fit tastes on ``ratings`` (as the MovieLens users are fitted) and build the population.

    ``population.source`` is ``ratings:<file name>``; ``population.meta['log']`` holds ``info``.
    """
    fit = fit_tastes(item_vectors, ratings, dim=dim, l2=l2, bias_l2=bias_l2, progress=progress)
    if features is None:
        features, feature_names = activity_features(ratings)
    pop = population_from_fit(fit, ratings.user_ids, features, feature_names, seed=seed,
                              tau_neg=info["tau_neg"], tau_pos=info["tau_pos"], source=f"ratings:{info['file']}")
    pop.meta["log"] = dict(info)
    return pop


def describe_log(info: dict) -> str:
    """One line for the run's log: what was used and what was dropped."""
    parts = [f"population ratings:{info['file']}: {info['users']:,} users, {info['rows_used']:,} of "
             f"{info['rows']:,} rows, {info['items_rated']:,} of {info['catalog_items']:,} catalog items rated"]
    parts.append(f"unmatched item ids: {info['unmatched_items']:,} ({info['unmatched_rows']:,} rows)")
    if info.get("dropped_users"):
        parts.append(f"dropped {info['dropped_users']:,} users with too few rows ({info['dropped_user_rows']:,} rows)")
    if info.get("users_without_features"):
        parts.append(f"{info['users_without_features']:,} users without a feature row (zeros)")
    parts.append(f"negative below {info['tau_neg']:g}, positive above {info['tau_pos']:g}")
    return "; ".join(parts)
