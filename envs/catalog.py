"""Catalogs: tables of items with an id and the text a language model embeds.

A :class:`Catalog` comes from the built-in MovieLens-100K movies
(:func:`movielens_catalog`) or from the user's own CSV, JSONL or parquet file
(:func:`load_catalog_file`). :func:`load_catalog` picks between them by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from envs.errors import CatalogError
from envs.movielens_files import movielens_file

BUILTIN_CATALOGS = {"movielens-100k": "1,682 movies of MovieLens-100K (title, year, genres)"}

MOVIELENS_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    """Items with ids, the text that describes each, and optional categories.

    Examples
    --------
    >>> cat = Catalog("toy", ids=["a", "b"], texts=["Alien (1979)", "Heat (1995)"])
    >>> len(cat), cat.index_of("b")
    (2, 1)
    """

    name: str
    ids: Sequence[str]
    texts: Sequence[str]
    categories: Sequence[tuple[str, ...]] | None = None
    titles: Sequence[str] | None = None
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = [str(i) for i in self.ids]
        texts = [str(t) for t in self.texts]
        if len(ids) != len(texts):
            raise CatalogError(f"catalog {self.name}: {len(ids)} ids but {len(texts)} texts")
        if not ids:
            raise CatalogError(f"catalog {self.name} has no items")
        seen: dict[str, int] = {}
        for row, item_id in enumerate(ids):
            if item_id in seen:
                raise CatalogError(
                    f"catalog {self.name}: duplicate item id {item_id!r} (rows {seen[item_id] + 1} and {row + 1})"
                )
            seen[item_id] = row
        for item_id, text in zip(ids, texts):
            if not text.strip():
                raise CatalogError(f"catalog {self.name}: item {item_id!r} has empty text")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "_index", seen)
        if self.titles is None:
            object.__setattr__(self, "titles", [t.split(". ")[0] for t in texts])

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, item_id: str) -> int:
        """Row of ``item_id`` in the catalog."""
        try:
            return self._index[str(item_id)]
        except KeyError:
            raise CatalogError(f"catalog {self.name}: unknown item id {item_id!r}") from None

    def category_names(self) -> list[str]:
        """Sorted distinct categories (genres) over all items; empty if none."""
        if self.categories is None:
            return []
        return sorted({c for cats in self.categories for c in cats})

    def category_matrix(self) -> np.ndarray:
        """Boolean (n_items, n_categories) membership, columns in :meth:`category_names` order."""
        names = self.category_names()
        col = {n: j for j, n in enumerate(names)}
        out = np.zeros((len(self), len(names)), dtype=bool)
        if self.categories is not None:
            rows = [i for i, cats in enumerate(self.categories) for _ in cats]
            cols = [col[c] for cats in self.categories for c in cats]
            out[rows, cols] = True
        return out


def movie_text(title: str, year: str, genres: Sequence[str]) -> str:
    """The sentence a movie is embedded from.

    Examples
    --------
    >>> movie_text("Toy Story", "1995", ["Animation", "Children's", "Comedy"])
    "Toy Story (1995). Genres: Animation, Children's, Comedy"
    """
    head = f"{title} ({year})" if year else title
    return f"{head}. Genres: {', '.join(genres)}" if genres else head


def movielens_catalog() -> Catalog:
    """The 1,682 MovieLens-100K movies, read from the installed ``recbole`` wheel.

    Examples
    --------
    >>> cat = movielens_catalog()
    >>> len(cat), cat.texts[0]
    (1682, "Toy Story (1995). Genres: Animation, Children's, Comedy")
    """
    path = movielens_file("item")
    ids, texts, cats, titles = [], [], [], []
    with open(path, encoding="utf-8") as fh:
        next(fh)  # header: item_id:token movie_title:token_seq release_year:token class:token_seq
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (4 - len(parts))
            item_id, title, year, genre_field = parts[:4]
            genres = tuple(genre_field.split()) if genre_field.strip() else ("unknown",)
            ids.append(item_id)
            titles.append(f"{title} ({year})" if year else title)
            texts.append(movie_text(title, year, genres))
            cats.append(genres)
    return Catalog("movielens-100k", ids=ids, texts=texts, categories=cats, titles=titles)


def _read_table(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pajson.read_json(path)
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CatalogError(f"cannot read catalog {path}: {first}") from None
    raise CatalogError(
        f"catalog {path}: unsupported file type {suffix or '(none)'}; use .csv, .jsonl or .parquet"
    )


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell_text(v) for v in value if _cell_text(v))
    return str(value).strip()


def _column_values(table, column: str, file_name: str) -> list:
    import pyarrow as pa

    col = table.column(column)
    try:
        values = col.to_pylist()
    except UnicodeDecodeError:  # a string column holding bytes that are not UTF-8 (JSONL)
        raise CatalogError(f"catalog {file_name}: column {column!r} is not valid UTF-8 text") from None
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        decoded = []
        for row, v in enumerate(values):
            try:
                decoded.append(None if v is None else v.decode("utf-8"))
            except UnicodeDecodeError:
                raise CatalogError(
                    f"catalog {file_name}: column {column!r} row {row + 1} is not valid UTF-8 text"
                ) from None
        return decoded
    return values


def load_catalog_file(
    path: str | Path,
    text_columns: Sequence[str] = ("title",),
    id_column: str = "id",
    category_column: str | None = None,
) -> Catalog:
    """Load a catalog from CSV, JSONL or parquet.

    The item text joins ``text_columns``: the first column's value leads, the
    others follow as ``"Column: value"`` (``"Heat. Genres: Crime"``).
    ``category_column`` (optional) holds categories separated by ``|`` or ``,``
    (or a list in JSONL/parquet), used for per-genre plots.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "items.csv")
    >>> _ = open(p, "w").write("id,title,genres\\n1,Heat,Crime|Drama\\n2,Alien,Sci-Fi\\n")
    >>> cat = load_catalog_file(p, text_columns=["title", "genres"], category_column="genres")
    >>> cat.texts[0], cat.categories[0]
    ('Heat. Genres: Crime|Drama', ('Crime', 'Drama'))
    """
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog file not found: {path}")
    if not path.is_file():
        raise CatalogError(f"catalog path is not a file: {path}")
    if not text_columns:
        raise CatalogError("no text columns given: name at least one with --text-columns")
    table = _read_table(path)
    try:
        columns = list(table.column_names)
    except UnicodeDecodeError:
        raise CatalogError(f"catalog {path.name}: the column names (header) are not valid UTF-8 text") from None
    needed = [id_column, *text_columns] + ([category_column] if category_column else [])
    for col in needed:
        if col not in columns:
            raise CatalogError(
                f"catalog {path.name}: unknown column {col!r}; columns are {', '.join(columns)}"
            )
    data = {c: _column_values(table, c, path.name) for c in dict.fromkeys(needed)}
    ids = []
    for row, value in enumerate(data[id_column]):
        text = _cell_text(value)
        if not text:
            raise CatalogError(f"catalog {path.name}: row {row + 1} has an empty id in column {id_column!r}")
        ids.append(text)
    texts = []
    for row in range(table.num_rows):
        head = _cell_text(data[text_columns[0]][row])
        rest = [
            f"{c.replace('_', ' ').capitalize()}: {_cell_text(data[c][row])}"
            for c in text_columns[1:]
            if _cell_text(data[c][row])
        ]
        texts.append(". ".join([p for p in [head, *rest] if p]))
    categories = None
    if category_column:
        categories = []
        for value in data[category_column]:
            if isinstance(value, (list, tuple)):
                cats = tuple(_cell_text(v) for v in value if _cell_text(v))
            else:
                raw = _cell_text(value)
                sep = "|" if "|" in raw else ","
                cats = tuple(s.strip() for s in raw.split(sep) if s.strip())
            categories.append(cats)
    titles = [_cell_text(v) or i for v, i in zip(data[text_columns[0]], ids)]
    return Catalog(path.stem, ids=ids, texts=texts, categories=categories, titles=titles)


def load_catalog(
    name_or_path: str | Path = "movielens-100k",
    text_columns: Sequence[str] = ("title",),
    id_column: str = "id",
    category_column: str | None = None,
) -> Catalog:
    """A built-in catalog by name (see ``BUILTIN_CATALOGS``) or a catalog file by path."""
    if str(name_or_path) == "movielens-100k":
        return movielens_catalog()
    return load_catalog_file(name_or_path, text_columns, id_column, category_column)
