"""Catalogs: tables of items with an id and the text a language model embeds.

A :class:`Catalog` comes from the built-in MovieLens-100K movies
(:func:`movielens_catalog`) or from the user's own CSV, TSV, JSON Lines, JSON or parquet
file (:func:`load_catalog_file`). :func:`load_catalog` picks between them by name.

Ids are kept exactly as written (``007`` and ``7`` are two items) and compared exactly; two
ids that differ only in surrounding whitespace, invisible characters or Unicode normalisation
(``7``, ``7 ``, ``7\u200b``) are an error rather than two items that print alike. Text made
only of whitespace or invisible characters is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from banditsim.envs.catalog_files import read_catalog_columns
from banditsim.envs.catalog_text import is_blank, look_alike_key
from banditsim.envs.errors import CatalogError
from banditsim.envs.movielens_files import movielens_file

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
    source: str | None = field(default=None, compare=False)
    _index: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        label = self.source or self.name  # errors name the file the catalog came from
        ids = [str(i) for i in self.ids]
        texts = [str(t) for t in self.texts]
        if len(ids) != len(texts):
            raise CatalogError(f"catalog {label}: {len(ids)} ids but {len(texts)} texts")
        if not ids:
            raise CatalogError(f"catalog {label} has no items")
        seen: dict[str, int] = {}
        trimmed: dict[str, int] = {}
        for row, item_id in enumerate(ids):
            if item_id in seen:
                raise CatalogError(
                    f"catalog {label}: duplicate item id {item_id!r} (rows {seen[item_id] + 1} and {row + 1})"
                )
            if is_blank(item_id):
                raise CatalogError(f"catalog {label}: row {row + 1} has an empty id")
            other = trimmed.setdefault(look_alike_key(item_id), row)
            if other != row:
                raise CatalogError(
                    f"catalog {label}: item ids {ids[other]!r} (row {other + 1}) and {item_id!r} (row {row + 1}) "
                    "look the same: they differ only in surrounding whitespace, invisible characters or "
                    "Unicode normalisation"
                )
            seen[item_id] = row
        for item_id, text in zip(ids, texts):
            if is_blank(text):
                raise CatalogError(f"catalog {label}: item {item_id!r} has empty text")
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


def _part(value) -> str:
    """One text cell as a part of an item's text: ``""`` when missing or blank, else trimmed."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(v.strip() for v in value if not is_blank(v))
    value = value.strip()
    return "" if is_blank(value) else value


def _categories(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple):
        return tuple(v.strip() for v in value if not is_blank(v))
    sep = "|" if "|" in value else ","
    return tuple(s.strip() for s in value.split(sep) if not is_blank(s))


def load_catalog_file(
    path: str | Path,
    text_columns: Sequence[str] = ("title",),
    id_column: str = "id",
    category_column: str | None = None,
) -> Catalog:
    """Load a catalog from CSV, TSV, JSON Lines, a JSON array or parquet.

    Cells are read as text exactly as written (:mod:`banditsim.envs.catalog_files`): ids are kept
    verbatim, surrounding spaces included, so ``00123``, ``007`` and ``7``, ``1`` and ``1.0``
    are distinct ids, and ``NA`` or ``null`` is a title. Only an empty cell is missing; a cell
    of only whitespace or invisible characters (zero-width space, BOM, NBSP, ...) counts as
    empty. A missing id or an item whose text columns are all empty is an error.

    The item text joins ``text_columns`` (each cell trimmed): the first column's value leads,
    the others follow as ``"Column: value"`` (``"Heat. Genres: Crime"``).
    ``category_column`` (optional) holds categories separated by ``|`` or ``,``
    (or a list in JSON/parquet), used for per-genre plots.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "items.csv")
    >>> _ = open(p, "w").write("id,title,genres\\n007,Heat,Crime|Drama\\n7,NA,Sci-Fi\\n")
    >>> cat = load_catalog_file(p, text_columns=["title", "genres"], category_column="genres")
    >>> cat.ids, cat.texts[1], cat.categories[0]
    (['007', '7'], 'NA. Genres: Sci-Fi', ('Crime', 'Drama'))
    """
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog file not found: {path}")
    if not path.is_file():
        raise CatalogError(f"catalog path is not a file: {path}")
    if not text_columns:
        raise CatalogError("no text columns given: name at least one with --text-columns")
    needed = list(dict.fromkeys([id_column, *text_columns] + ([category_column] if category_column else [])))
    n_rows, data = read_catalog_columns(path, needed)
    ids = []
    for row, value in enumerate(data[id_column], 1):
        if isinstance(value, tuple):
            raise CatalogError(f"catalog {path.name}: row {row} holds a list in the id column {id_column!r}; "
                               "an id is one value")
        if value is None or is_blank(value):
            raise CatalogError(f"catalog {path.name}: row {row} has an empty id in column {id_column!r}")
        ids.append(value)
    parts = {c: [_part(v) for v in data[c]] for c in text_columns}
    labels = {c: c.replace("_", " ").capitalize() for c in text_columns[1:]}
    texts = []
    for row in range(n_rows):
        rest = [f"{labels[c]}: {parts[c][row]}" for c in text_columns[1:] if parts[c][row]]
        head = parts[text_columns[0]][row]
        texts.append(". ".join([head, *rest] if head else rest))
    categories = [_categories(v) for v in data[category_column]] if category_column else None
    titles = [p or i for p, i in zip(parts[text_columns[0]], ids)]
    return Catalog(path.stem, ids=ids, texts=texts, categories=categories, titles=titles, source=path.name)


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
