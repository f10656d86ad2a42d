"""Users built from persona text, embedded by the same model as the items."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from banditsim.envs.population import Population, check_item_vectors, synthetic_population
from banditsim.envs.world_errors import PersonaError


def read_persona_file(path: str | Path) -> list[str]:
    """Personas from a text file, one per line (a trailing newline is fine).

    An empty or blank line is an error naming its line number.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaError(f"cannot read persona file {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PersonaError(f"persona file {p} is not UTF-8 text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if not lines:
        raise PersonaError(f"persona file {p} is empty")
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            raise PersonaError(f"persona file {p}: line {i} is empty; write one persona per line")
    return [line.strip() for line in lines]


def persona_population(personas: Sequence[str] | str | Path, item_vectors, n_users: int | None = None, *,
                       embed: Callable[[list[str]], np.ndarray] | None = None,
                       persona_vectors=None, noise: float = 0.3, seed: int | None = 0,
                       **calibration) -> Population:
    """Users around persona embeddings: θ_u = normalise(e_p + noise·g/√d).

    ``personas`` is a list of sentences or a persona file path. Persona vectors come from
    ``persona_vectors`` (n_personas, d) or ``embed(list_of_texts)``; by default the
    banditsim embedding model (:func:`banditsim.envs.embedding.embed_texts`). Users are assigned to
    personas round-robin (``n_users`` defaults to one per persona). ``calibration`` goes
    to :func:`banditsim.envs.population.synthetic_population`.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 8))
    >>> pop = persona_population(["likes noir", "likes cartoons"], x, 4,
    ...                          persona_vectors=rng.normal(size=(2, 8)), seed=0)
    >>> pop.meta["persona"].tolist()
    [0, 1, 0, 1]
    """
    if isinstance(personas, (str, Path)):
        texts = read_persona_file(personas)
    else:
        texts = [str(t) for t in personas]
        if not texts:
            raise PersonaError("no personas given")
        for i, t in enumerate(texts, start=1):
            if not t.strip():
                raise PersonaError(f"persona {i} is empty")
    x = check_item_vectors(item_vectors)
    if persona_vectors is None:
        if embed is None:
            from banditsim.envs.embedding import embed_texts

            vecs = embed_texts(texts, progress=False).vectors
        else:
            vecs = embed(list(texts))
    else:
        vecs = persona_vectors
    vecs = check_item_vectors(vecs, name="persona vectors")
    if vecs.shape != (len(texts), x.shape[1]):
        raise PersonaError(
            f"persona vectors must be ({len(texts)}, {x.shape[1]}) to match personas and items, got {vecs.shape}"
        )
    n = len(texts) if n_users is None else int(n_users)
    if n < 1:
        raise PersonaError(f"n_users must be ≥ 1, got {n}")
    if noise < 0:
        raise PersonaError(f"noise must be ≥ 0, got {noise}")
    rng = np.random.default_rng(seed)
    which = np.arange(n) % len(texts)
    theta = vecs[which] + noise * rng.normal(size=(n, x.shape[1])) / np.sqrt(x.shape[1])
    return synthetic_population(theta, x, rng, source="personas",
                                meta={"persona": which, "persona_texts": tuple(texts)}, **calibration)
